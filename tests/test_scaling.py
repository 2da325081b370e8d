"""Scale-out contracts: several local devices and Ray executors give the local results (same keys,
data and initialisation; numbers equal to rounding, see tests/tolerances.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from tolerances import assert_close

import benign

TINY = dict(n=6, d=20, m=2, steps=30, n_checkpoints=3, init_scale=0.05)
GRID = {"snr": [0.05, 0.2, 0.5], "init_scale": [0.01, 0.5]}


@pytest.mark.slow
def test_four_cpu_devices_equal_one_device(tmp_path):
    """A batch sharded over 4 (forced) CPU devices equals the one-device batch to rounding."""
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np, jax, benign
        cfgs = [benign.make_config(snr=s, seed=k, **{TINY!r}) for s in (0.05, 0.2, 0.5) for k in range(3)]
        rs = benign.simulate_batch(cfgs)
        json.dump({{"devices": jax.local_device_count(),
                   "loss": [r.trajectory["train_loss"].tolist() for r in rs],
                   "test": [r.test_error for r in rs]}}, open(sys.argv[1], "w"))
        """
    )
    out = {}
    for count in (1, 4):
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={count}", JAX_PLATFORMS="cpu")
        path = tmp_path / f"d{count}.json"
        subprocess.run([sys.executable, "-c", script, str(path)], env=env, check=True, timeout=600)
        out[count] = json.loads(path.read_text())
    assert out[1]["devices"] == 1 and out[4]["devices"] == 4
    steps = TINY["steps"]
    assert_close(np.asarray(out[4]["loss"]), np.asarray(out[1]["loss"]), "float32", steps=steps, err_msg="train_loss")
    assert_close(np.asarray(out[4]["test"]), np.asarray(out[1]["test"]), "float32", steps=steps, err_msg="test_error")


def test_unknown_executor_is_rejected_before_compute(tmp_path):
    with pytest.raises(ValueError, match="executor"):
        benign.sweep(GRID, seeds=1, out=str(tmp_path / "x"), executor="dask", progress=False, **TINY)
    assert not (tmp_path / "x" / "chunks").exists()


def test_no_test_hooks_in_the_package():
    """The package carries no test-only environment hooks (the Ray kill test wraps the task instead)."""
    root = os.path.dirname(benign.__file__)
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith(".py"):
                text = open(os.path.join(dirpath, f), encoding="utf-8").read()
                assert "BENIGN_TEST" not in text, f


ray = pytest.importorskip("ray", reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def ray_local():
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_executor_equals_local(tmp_path, ray_local):
    local = benign.sweep(GRID, seeds=2, out=str(tmp_path / "local"), chunk_size=3, progress=False, **TINY)
    remote = benign.sweep(GRID, seeds=2, out=str(tmp_path / "ray"), chunk_size=3, progress=False, executor="ray", **TINY)
    for name in ("test_error", "train_loss", "w_norm", "ratio"):
        assert_close(remote[name].values, local[name].values, "float32", steps=TINY["steps"], err_msg=name)


@pytest.mark.slow
def test_ray_survives_a_killed_worker(tmp_path, ray_local):
    """Kill the worker running the first chunk: Ray re-runs it, the sweep completes, nothing is lost.

    The workers run a wrapper of the task (the executor's ``fn`` option) that logs its pid and the
    chunk, then waits, so that the test can kill it mid-task.
    """
    hook = tmp_path / "tasks.log"
    log = str(hook)

    def logged_task(task):  # a local function: Ray ships it to the workers by value
        import os as _os
        import time as _time

        from benign.run.executors import run_task

        with open(log, "a") as fh:
            fh.write(f"{_os.getpid()} {int(task.index[0])}\n")
        _time.sleep(2)
        return run_task(task)

    killed: list[int] = []

    def killer():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            if hook.exists():
                lines = hook.read_text().split()
                if lines:
                    pid = int(lines[0])
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.05)

    th = threading.Thread(target=killer)
    th.start()
    ds = benign.sweep(GRID, seeds=2, out=str(tmp_path / "ray"), chunk_size=3, progress=False, executor="ray",
                      executor_options={"fn": logged_task}, **TINY)
    th.join()
    assert killed, "no worker was killed: the test did not exercise a failure"
    starts = [line.split() for line in hook.read_text().splitlines()]
    first_chunks = [int(s[1]) for s in starts]
    assert len(first_chunks) > len(set(first_chunks)), "the killed task was not re-run"
    ref = benign.sweep(GRID, seeds=2, chunk_size=3, progress=False, **TINY)
    assert_close(ds["test_error"].values, ref["test_error"].values, "float32", steps=TINY["steps"], err_msg="test_error")
    assert int(ds["diverged"].sum()) == 0
