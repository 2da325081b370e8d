"""The compile-cache policy of benign.run.cache (environment, idempotence, opt-out), in fresh processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, env_extra: dict[str, str], tmp_path: Path) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if k != "BENIGN_COMPILE_CACHE"} | {"HOME": str(tmp_path / "home")} | env_extra
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_default_env_and_off(tmp_path):
    code = ("import jax; from benign.run import cache\n"
            "a = cache.ensure(); b = cache.ensure('/elsewhere')\n"
            "print(a == b, a, jax.config.jax_compilation_cache_dir == a)")
    same, path, applied = _run(code, {}, tmp_path).split()
    assert same == "True" and applied == "True"
    assert Path(path) == tmp_path / "home" / ".cache" / "benign" / "jax" and Path(path).is_dir()
    same, path, applied = _run(code, {"BENIGN_COMPILE_CACHE": str(tmp_path / "c")}, tmp_path).split()
    assert same == "True" and Path(path) == tmp_path / "c" and applied == "True"
    off = _run("import sys; from benign.run import cache; print(cache.ensure(), cache.active(), 'jax' in sys.modules)",
               {"BENIGN_COMPILE_CACHE": "0"}, tmp_path)
    assert off == "None None False"


def test_disable_wins(tmp_path):
    code = "from benign.run import cache; cache.disable(); print(cache.ensure(), cache.active())"
    assert _run(code, {}, tmp_path) == "None None"
    assert not (tmp_path / "home" / ".cache").exists()


def test_import_benign_does_not_touch_the_cache(tmp_path):
    code = "import sys, benign, benign.cli; from benign.run import cache; print(cache.active(), 'jax' in sys.modules)"
    assert _run(code, {}, tmp_path) == "None False"
