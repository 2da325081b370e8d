"""Scale-out contracts: several local devices and Ray executors give exactly the local results."""

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

import benign

TINY = dict(n=6, d=20, m=2, steps=30, n_checkpoints=3, init_scale=0.05)
GRID = {"snr": [0.05, 0.2, 0.5], "init_scale": [0.01, 0.5]}


def test_four_cpu_devices_equal_one_device(tmp_path):
    """A batch sharded over 4 (forced) CPU devices equals the one-device batch."""
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
    np.testing.assert_allclose(out[4]["loss"], out[1]["loss"], rtol=1e-6, atol=1e-7)
    assert out[4]["test"] == out[1]["test"]


def test_unknown_executor_is_rejected_before_compute(tmp_path):
    with pytest.raises(ValueError, match="executor"):
        benign.sweep(GRID, seeds=1, out=str(tmp_path / "x"), executor="dask", progress=False, **TINY)
    assert not (tmp_path / "x" / "chunks").exists()


ray = pytest.importorskip("ray", reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def ray_local():
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def test_ray_executor_equals_local(tmp_path, ray_local):
    local = benign.sweep(GRID, seeds=2, out=str(tmp_path / "local"), chunk_size=3, progress=False, **TINY)
    remote = benign.sweep(GRID, seeds=2, out=str(tmp_path / "ray"), chunk_size=3, progress=False, executor="ray", **TINY)
    for name in ("test_error", "train_loss", "w_norm", "ratio"):
        np.testing.assert_array_equal(remote[name].values, local[name].values, err_msg=name)


def test_ray_survives_a_killed_worker(tmp_path, ray_local, monkeypatch):
    """Kill the worker running the first chunk: Ray re-runs it, the sweep completes, nothing is lost."""
    hook = tmp_path / "tasks.log"
    monkeypatch.setenv("BENIGN_TEST_TASK_HOOK", str(hook))
    monkeypatch.setenv("BENIGN_TEST_TASK_DELAY", "2")
    # workers inherit the driver's environment only at start: restart Ray so they see the hook
    ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {
        "BENIGN_TEST_TASK_HOOK": str(hook), "BENIGN_TEST_TASK_DELAY": "2"}})
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
    ds = benign.sweep(GRID, seeds=2, out=str(tmp_path / "ray"), chunk_size=3, progress=False, executor="ray", **TINY)
    th.join()
    assert killed, "no worker was killed: the test did not exercise a failure"
    starts = [line.split() for line in hook.read_text().splitlines()]
    first_chunks = [int(s[1]) for s in starts]
    assert len(first_chunks) > len(set(first_chunks)), "the killed task was not re-run"
    ref = benign.sweep(GRID, seeds=2, chunk_size=3, progress=False, **TINY)
    np.testing.assert_array_equal(ds["test_error"].values, ref["test_error"].values)
    assert int(ds["diverged"].sum()) == 0
