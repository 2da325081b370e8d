"""JAX's persistent compilation cache: one policy for every entry point.

Every entry point (``simulate``/``sweep`` through ``run_group``, the ``benign`` command line, the
experiment scripts) calls :func:`ensure` before it compiles. The policy:

* on by default, in ``$BENIGN_COMPILE_CACHE`` if that is set, else ``~/.cache/benign/jax``;
* off with ``BENIGN_COMPILE_CACHE=0`` (also ``off``, ``false``, ``no`` or empty), or for the rest of
  the process after :func:`disable` (what ``--no-compile-cache`` does);
* programs that compile in under a second are not written (they are cheaper to recompile).

:func:`ensure` is idempotent and cheap after its first call, and never imports JAX before it is
needed: it runs on the first compile, not at ``import benign``.

Example:
    >>> from benign.run import cache
    >>> path = cache.ensure()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading

#: environment variable with the cache directory, or ``0`` to switch the cache off
ENV = "BENIGN_COMPILE_CACHE"
#: values of :data:`ENV` that switch the cache off
OFF = frozenset({"0", "off", "false", "no", ""})
#: programs that compile faster than this are not cached (seconds)
MIN_COMPILE_TIME_S = 1.0

_lock = threading.Lock()
_state: dict[str, str | None | bool] = {"path": None, "disabled": False}


def default_path() -> str | None:
    """The cache directory the policy selects now, or ``None`` when the cache is off.

    Returns:
        ``$BENIGN_COMPILE_CACHE`` (``None`` if it is one of :data:`OFF`), else ``~/.cache/benign/jax``.
    """
    if ENV in os.environ:
        value = os.environ[ENV].strip()
        return None if value.lower() in OFF else os.path.expanduser(value)
    return os.path.join(os.path.expanduser("~"), ".cache", "benign", "jax")


def ensure(path: str | os.PathLike[str] | None = None) -> str | None:
    """Switch JAX's persistent compilation cache on, following the policy above; idempotent.

    Args:
        path: cache directory; ``None`` (default) uses :func:`default_path`.

    Returns:
        The directory in use, or ``None`` when the cache is off (environment, or :func:`disable`).
        A second call returns the directory of the first one and changes nothing, even with another
        ``path``: JAX keeps one cache directory per process.
    """
    with _lock:
        if _state["disabled"]:
            return None
        if _state["path"] is not None:
            return str(_state["path"])
        target = os.fspath(path) if path is not None else default_path()
        if target is None:
            return None
        import jax

        os.makedirs(target, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", target)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_TIME_S)
        _state["path"] = target
        return target


def disable() -> None:
    """Keep the persistent cache off for the rest of the process (``--no-compile-cache``).

    A cache that :func:`ensure` already switched on stays on: JAX cannot release it.
    """
    with _lock:
        _state["disabled"] = True


def active() -> str | None:
    """The directory :func:`ensure` switched on in this process, or ``None``."""
    return None if _state["path"] is None else str(_state["path"])


def enable_compile_cache(path: str | None = None) -> str | None:
    """Deprecated alias of :func:`ensure`, kept for existing scripts."""
    return ensure(path)
