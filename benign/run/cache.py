"""JAX's persistent compilation cache: one policy for every entry point."""

from __future__ import annotations

import os


def enable_compile_cache(path: str | None = None) -> str:
    """Turn on JAX's persistent compilation cache so re-runs (a resumed sweep, the same experiment)
    skip compiling. ``path``: ``$BENIGN_COMPILE_CACHE`` or ``~/.cache/benign/jax``. Returns it."""
    import jax

    path = path or os.environ.get("BENIGN_COMPILE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "benign", "jax")
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    return path


_ENSURED = False


def ensure() -> str | None:
    """Turn the persistent compilation cache on once per process (idempotent); off when
    ``BENIGN_COMPILE_CACHE=0``. Returns the cache directory, or ``None`` when off."""
    global _ENSURED
    if os.environ.get("BENIGN_COMPILE_CACHE") == "0":
        return None
    if not _ENSURED:
        enable_compile_cache()
        _ENSURED = True
    import jax

    return jax.config.jax_compilation_cache_dir
