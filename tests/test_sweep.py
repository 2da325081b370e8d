"""Sweeps: labelled results, resume after interruption (also kill -9), chunk-size independence
(numbers equal to rounding), agreement with benign.simulate, detection of foreign or corrupted
results, the directory lock, and input checks before any compute."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from tolerances import assert_close

import benign
from benign.core.dynamics import checkpoint_steps

sweep_mod = importlib.import_module("benign.run.sweep")
store_mod = importlib.import_module("benign.run.store")
exec_mod = importlib.import_module("benign.run.executors")
sweep, StoreError = sweep_mod.sweep, store_mod.StoreError

FIX = dict(n=6, m=2, steps=8, n_mc=64, n_test=64, n_checkpoints=3, p=0.1)
GRID = {"d": [12, 16], "snr": [0.1, 1.0]}  # two shapes (two compiled groups of 4 runs)
SEEDS = 2
ROOT = Path(__file__).resolve().parents[1]


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "ref"
    ds = sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, **FIX)
    return ds, out


def _finals(ds):
    return [v for v in ds.data_vars if "seed" in ds[v].dims and "step" not in ds[v].dims]


#: Final metrics computed by cancellation or already relative: judged against 1, not their own size.
_NORMALISED = ("conserved_drift",)


def _same_numbers(a, b, exact=False):
    """Every final metric of ``a`` equals ``b``'s: bitwise if ``exact`` (same chunks, same shapes),
    else to rounding (float32 runs of ``FIX['steps']`` steps; see tests/tolerances.py)."""
    for v in _finals(a):
        x, y = a[v].values, b[v].values
        assert x.shape == y.shape, v
        if exact:
            np.testing.assert_array_equal(x, y, err_msg=v)
        else:
            assert_close(x, y, "float32", steps=FIX["steps"], scale=1.0 if v in _NORMALISED else None, err_msg=v)


def test_dataset_is_labelled(reference):
    ds, out = reference
    assert ds["test_error"].dims == ("d", "snr", "seed")
    assert list(ds.d.values) == [12, 16] and list(ds.snr.values) == [0.1, 1.0] and list(ds.seed.values) == [0, 1]
    for v in ("test_error", "test_error_clean", "train_error", "train_loss", "w_norm", "a_norm", "ratio",
              "ratio_predicted", "conserved_drift", "min_margin", "diverged", "diverged_step"):
        assert v in ds, v
    assert ds["diverged"].dtype == bool and ds["diverged_step"].dtype.kind == "i"
    assert ds["phi"].dims == ("d", "snr") and set(np.unique(ds["regime_theory"].values)) <= {"benign", "harmful", "undetermined"}
    np.testing.assert_allclose(ds["mu_norm"].values, ds.snr.values[None, :] * np.sqrt(ds.d.values)[:, None])
    assert ds.attrs["benign_version"] == benign.__version__ and ds.attrs["n"] == 6 and ds.attrs["steps"] == 8
    assert json.loads(ds.attrs["fixed"])["n_mc"] == 64
    assert np.isfinite(ds["test_error"].values).all()
    assert (out / "results.nc").exists() and (out / "manifest.json").exists()
    assert len(list((out / "chunks").glob("chunk-*.npz"))) == 2


def test_numbers_equal_simulate_whatever_chunk_size(reference):
    ds, _ = reference
    other = sweep(GRID, seeds=SEEDS, chunk_size=3, progress=False, **FIX)  # 3 + padded 1 per group, in memory
    _same_numbers(ds, other)  # another batch shape: equal to rounding, not bitwise
    r = benign.simulate(d=16, snr=1.0, seed=1, return_params=False, **FIX)
    cell = ds.sel(d=16, snr=1.0, seed=1)
    for k, v in r.final.items():
        assert_close(cell[k].values, np.asarray(v), "float32", steps=FIX["steps"],
                     scale=1.0 if k in _NORMALISED else None, err_msg=k)


def test_resume_recomputes_nothing(reference, tmp_path, monkeypatch):
    ref, ref_dir = reference
    calls = []
    real = exec_mod.run_group
    monkeypatch.setattr(exec_mod, "run_group", lambda cfgs, *a, **k: calls.append(len(cfgs)) or real(cfgs, *a, **k))

    def stop_after_first(info):
        raise Interrupted

    out = tmp_path / "res"
    with pytest.raises(Interrupted):
        sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, on_chunk=stop_after_first, **FIX)
    assert calls == [4] and not (out / "results.nc").exists()
    ds = sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, **FIX)
    assert calls == [4, 4]  # only the missing chunk
    assert ds.identical(ref)
    assert (out / "results.nc").read_bytes() == (ref_dir / "results.nc").read_bytes()
    again = sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=2, progress=False, **FIX)  # finished: nothing to do
    assert calls == [4, 4] and again.identical(ref)


@pytest.mark.slow
def test_resume_after_kill9(reference, tmp_path):
    ref, ref_dir = reference
    out = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import sys, time
        from benign.run.sweep import sweep
        def hook(info):
            print("CHUNK", info["done"], flush=True)
            time.sleep(120)
        sweep({GRID!r}, seeds={SEEDS}, out={str(out)!r}, chunk_size=4, progress=False, on_chunk=hook, **{FIX!r})
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("CHUNK 4"), line + proc.stderr.read()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(list((out / "chunks").glob("chunk-*.npz"))) == 1 and not (out / "results.nc").exists()
    ds = sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, **FIX)
    assert ds.identical(ref)
    assert (out / "results.nc").read_bytes() == (ref_dir / "results.nc").read_bytes()


def test_executor_order_does_not_matter(reference, tmp_path):
    ref, ref_dir = reference

    def backwards(tasks):  # chunks may finish in any order (e.g. on a cluster)
        for t in reversed(tasks):
            yield t, exec_mod.run_chunk(list(t.configs), t.size, t.trajectories)

    out = tmp_path / "rev"
    ds = sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, executor=backwards, **FIX)
    assert ds.identical(ref)
    assert (out / "results.nc").read_bytes() == (ref_dir / "results.nc").read_bytes()


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_foreign_results_are_refused(reference, tmp_path, monkeypatch):
    _, ref_dir = reference
    out = tmp_path / "copy"
    shutil.copytree(ref_dir, out)
    before = _snapshot(out)
    with pytest.raises(StoreError, match="different sweep.*grid"):
        sweep({"d": [12], "snr": [0.1, 1.0]}, seeds=SEEDS, out=str(out), progress=False, **FIX)
    with pytest.raises(StoreError, match="fixed"):
        sweep(GRID, seeds=SEEDS, out=str(out), progress=False, **{**FIX, "steps": 9})
    with pytest.raises(StoreError, match="seeds"):
        sweep(GRID, seeds=3, out=str(out), progress=False, **FIX)
    monkeypatch.setattr(benign, "__version__", "9.9.9")
    with pytest.raises(StoreError, match="version"):
        sweep(GRID, seeds=SEEDS, out=str(out), progress=False, **FIX)
    assert _snapshot(out) == before


def test_corrupt_chunk_is_quarantined_and_recomputed(reference, tmp_path):
    """A truncated chunk is moved to chunks/quarantine/, named in a warning and in on_chunk, and only
    its runs are recomputed: the result is byte-identical to the uninterrupted sweep."""
    ref, ref_dir = reference
    out = tmp_path / "badchunk"
    shutil.copytree(ref_dir, out)
    (out / "results.nc").unlink()
    chunk = sorted((out / "chunks").glob("chunk-*.npz"))[0]
    damaged = chunk.read_bytes()[:100]
    chunk.write_bytes(damaged)
    infos = []
    with pytest.warns(store_mod.StoreWarning, match=chunk.name):
        ds = sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, on_chunk=infos.append, **FIX)
    assert len(infos) == 1 and infos[0]["done"] == 8  # one chunk recomputed
    (q,) = infos[0]["quarantined"]
    assert q["path"] == str(chunk) and "corrupted" in q["reason"]
    assert (out / "chunks" / "quarantine" / chunk.name).read_bytes() == damaged
    assert ds.identical(ref)
    assert (out / "results.nc").read_bytes() == (ref_dir / "results.nc").read_bytes()


def test_damaged_results_file_is_rebuilt_and_load_refuses_it(reference, tmp_path):
    ref, ref_dir = reference
    out = tmp_path / "badnc"
    shutil.copytree(ref_dir, out)
    (out / "results.nc").write_bytes(b"not a netcdf file")
    with pytest.raises(StoreError, match="corrupted.*quarantine"):
        store_mod.load(out)  # load never modifies; it says what fixes it
    assert (out / "results.nc").read_bytes() == b"not a netcdf file"
    with pytest.warns(store_mod.StoreWarning, match="results.nc"):
        ds = sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, **FIX)
    assert ds.identical(ref)
    assert (out / "chunks" / "quarantine" / "results.nc").read_bytes() == b"not a netcdf file"
    assert (out / "results.nc").read_bytes() == (ref_dir / "results.nc").read_bytes()


def test_damaged_manifest_and_foreign_directory_are_refused(reference, tmp_path):
    _, ref_dir = reference
    out = tmp_path / "badmanifest"
    shutil.copytree(ref_dir, out)
    (out / "manifest.json").write_text("{")
    before = _snapshot(out)
    with pytest.raises(StoreError, match="corrupted"):
        sweep(GRID, seeds=SEEDS, out=str(out), progress=False, **FIX)
    assert _snapshot(out) == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a benign results directory"):
        sweep(GRID, seeds=SEEDS, out=str(other), progress=False, **FIX)
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


def test_grid_overrides_fixed(reference):
    ref, _ = reference
    plan = sweep_mod.make_plan(GRID, SEEDS, **{**FIX, "d": 99, "snr": 5.0})
    assert plan.fixed == FIX and [c.d for c in plan.configs[::4]] == [12, 16]
    assert sweep_mod.spec_of(plan, False, "auto") == sweep_mod.spec_of(sweep_mod.make_plan(GRID, SEEDS, **FIX), False, "auto")


def test_trajectories_and_progress(reference, tmp_path, capsys):
    ref, _ = reference
    ds = sweep(GRID, seeds=SEEDS, out=str(tmp_path / "traj"), chunk_size=4, trajectories=True, progress=True, **FIX)
    assert "8/8" in capsys.readouterr().err  # tqdm: runs done / total
    assert ds["traj_test_error"].dims == ("d", "snr", "seed", "step")
    assert list(ds.step.values) == list(checkpoint_steps(8, 3))
    # the same chunks with the same shapes: bitwise equal
    np.testing.assert_array_equal(ds["traj_test_error"].isel(step=-1).values, ref["test_error"].values)
    # the neuron mean of |w| reduced in float64 (trajectory) vs in float32 (final metric): to rounding
    assert_close(ds["traj_w_norm"].isel(step=-1).values, ref["w_norm"].values, "float32", err_msg="w_norm")
    for v in ("traj_a_norm", "traj_ratio", "traj_train_loss"):
        assert v in ds
    _same_numbers(ref, ds, exact=True)


@pytest.mark.parametrize("kwargs, match", [
    (dict(grid={"bogus": [1, 2]}), "bogus"),
    (dict(grid={"d": []}), "d"),
    (dict(grid={"d": [12, 12]}), "repeated"),
    (dict(grid={"seed": [0, 1]}), "seeds"),
    (dict(grid={"p": [0.1, 0.7]}), "p"),
    (dict(grid={"d": [12]}, seeds=0), "seeds"),
    (dict(grid={"d": [12]}, chunk_size=0), "chunk_size"),
    (dict(grid={"d": [12]}, theory="bogus"), "theory"),
    (dict(grid={"d": [12]}, executor="bogus"), "executor"),
])
def test_bad_sweeps_are_rejected_before_compute(kwargs, match, tmp_path):
    kwargs = {**kwargs}
    grid = kwargs.pop("grid")
    with pytest.raises(ValueError, match=match):
        sweep(grid, out=str(tmp_path / "x"), progress=False, **{"n": 6, "m": 2, "steps": 2, **kwargs})
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_final_metric_sweep_buckets_d():
    """Without trajectories, fixed-output coef runs that differ only in d are one group, one chunk, one
    d-independent program; every run equals simulate_batch's (a program per d) to rounding."""
    from benign.run.final import bucketable

    fixed = dict(n=6, m=3, steps=20, eta=0.1, p=0.1, noise="isotropic", bias=True, hidden_init="uniform", reduce="mean",
                 train_output=False, output_value=1.0, n_mc=256, n_checkpoints=2, engine="coef")
    grid = {"d": [30, 45], "mu_norm": [0.5, 3.0]}
    plan = sweep_mod.make_plan(grid, 2, **fixed)
    assert len(plan.groups) == 2 and all(bucketable(s) for s in plan.groups)
    tasks = sweep_mod.make_tasks(plan, np.zeros(len(plan.configs), bool), 128, trajectories=False)
    assert len(tasks) == 1 and {c.d for c in tasks[0].configs} == {30, 45}
    assert len(sweep_mod.make_tasks(plan, np.zeros(len(plan.configs), bool), 128, trajectories=True)) == 2
    ds = benign.sweep(grid, seeds=2, progress=False, theory=None, **fixed)
    ref = benign.simulate_batch(plan.configs, progress=False)
    flat = ds.stack(run=("d", "mu_norm", "seed"))
    for name in ("train_loss", "min_margin", "test_error", "w_norm"):
        assert_close(flat[name].values, np.array([getattr(r, name) for r in ref]), "float32", steps=20, err_msg=name)
    assert np.array_equal(flat["steps_to_interpolation"].values, [r.steps_to_interpolation for r in ref])
