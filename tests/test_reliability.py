"""Adversarial cases that once lost, mislabelled or silently changed results, kept as tests.

Each test names the case; docs/reliability.md tabulates case -> behaviour -> test.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from tolerances import assert_close

from benign.cli import ConfigError, app, read_config
from benign.redundancy import chunks as rchunks
from benign.redundancy import imbalance

sweep_mod = importlib.import_module("benign.run.sweep")
store_mod = importlib.import_module("benign.run.store")
sweep, StoreError, StoreWarning = sweep_mod.sweep, store_mod.StoreError, store_mod.StoreWarning

FIX = dict(n=6, m=2, steps=8, n_mc=64, n_test=64, n_checkpoints=3, p=0.1)
GRID = {"d": [12, 16], "snr": [0.1, 1.0]}
SEEDS = 2
ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reliability") / "ref"
    ds = sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, **FIX)
    return ds, out


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _spec(grid=GRID, seeds=SEEDS, **fixed):
    plan = sweep_mod.make_plan(grid, seeds, **{**FIX, **fixed})
    return sweep_mod.spec_of(plan, False, sweep_mod.pick_theory(plan))


class _Holder:
    """A subprocess that opens (and so locks) a results directory for ``spec`` and waits."""

    def __init__(self, out: Path, grid=GRID, extra: str = ""):
        script = textwrap.dedent(f"""
            import time
            from benign.run import store, sweep as S
            plan = S.make_plan({grid!r}, {SEEDS}, **{FIX!r})
            st = store.open_store({str(out)!r}, S.spec_of(plan, False, S.pick_theory(plan)))
            {extra}
            print("LOCKED", flush=True)
            time.sleep(300)
        """)
        self.proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("LOCKED"):
            self.kill()
            raise AssertionError(line + self.proc.stderr.read())

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


# ----------------------------------------------------------------------------- key order
def test_key_order_resume_is_refused_and_labels_stay_correct(reference, tmp_path):
    """The same grid in another key order: resuming is refused (dims differ); computed afresh, every
    cell carries its own numbers."""
    ref, ref_dir = reference
    out = tmp_path / "copy"
    shutil.copytree(ref_dir, out)
    (out / "results.nc").unlink()  # an unfinished sweep: its chunks must not be reused under other labels
    before = _snapshot(out)
    swapped = {"snr": GRID["snr"], "d": GRID["d"]}
    with pytest.raises(StoreError, match=r"dims: stored \['d', 'snr'\] vs requested \['snr', 'd'\]"):
        sweep(swapped, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, **FIX)
    assert _snapshot(out) == before
    other = sweep(swapped, seeds=SEEDS, chunk_size=4, progress=False, **FIX).transpose("d", "snr", "seed")
    for v in ("test_error", "train_loss", "w_norm", "min_margin"):
        assert_close(other[v].values, ref[v].values, "float32", steps=FIX["steps"], err_msg=v)


def test_key_order_from_toml_is_kept_and_refused_on_resume(reference, tmp_path):
    _, ref_dir = reference
    out = tmp_path / "copy"
    shutil.copytree(ref_dir, out)
    toml = tmp_path / "swapped.toml"
    fixed = "\n".join(f"{k} = {v}" for k, v in FIX.items())
    toml.write_text(f"seeds = {SEEDS}\nchunk_size = 4\n[grid]\nsnr = [0.1, 1.0]\nd = [12, 16]\n[fixed]\n{fixed}\n")
    assert list(read_config(toml)["grid"]) == ["snr", "d"]
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["sweep", str(toml), "--out", str(out), "--no-progress", "--no-compile-cache"])
    assert res.exit_code == 2 and "dims" in res.output, res.output


# ----------------------------------------------------------------------------- two writers
@pytest.mark.parametrize("chunk_size", [4, 3])
def test_second_writer_gets_the_lock_holder_in_the_error(tmp_path, chunk_size):
    """A sweep on a directory another process is writing fails at once, naming that process, and
    touches nothing (whatever its chunk size)."""
    out = tmp_path / "busy"
    holder = _Holder(out, extra="open(st.chunk_dir / (store._tmp_name('.npz')), 'w').write('in progress')")
    try:
        before = _snapshot(out)
        assert any(p.startswith("chunks/.tmp-") for p in before)
        with pytest.raises(StoreError, match=rf"in use: pid {holder.proc.pid} on host .* holds its lock"):
            sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=chunk_size, progress=False, **FIX)
        assert _snapshot(out) == before  # the holder's temporary file is intact
    finally:
        holder.kill()


def test_two_different_sweeps_on_one_new_directory(tmp_path):
    """The second sweep fails clearly while the first runs, and after it (a different sweep);
    the first sweep's manifest is never replaced."""
    out = tmp_path / "shared"
    holder = _Holder(out)
    try:
        manifest = (out / "manifest.json").read_bytes()
        with pytest.raises(StoreError, match="in use"):
            sweep({"d": [12], "snr": [0.5]}, seeds=SEEDS, out=str(out), progress=False, **FIX)
    finally:
        holder.kill()
    with pytest.raises(StoreError, match="different sweep"):
        sweep({"d": [12], "snr": [0.5]}, seeds=SEEDS, out=str(out), progress=False, **FIX)
    assert (out / "manifest.json").read_bytes() == manifest


def test_lock_is_released_when_the_holder_dies(tmp_path):
    out = tmp_path / "dead"
    holder = _Holder(out)
    holder.kill()  # kill -9: the kernel releases the lock
    with store_mod.open_store(out, _spec()) as st:
        assert st.fingerprint == store_mod.fingerprint(_spec())
    assert not (out / ".lock.owner").exists()  # the owner record goes with a clean release


def test_temporaries_are_removed_only_when_their_writer_is_gone(tmp_path):
    out = tmp_path / "tmps"
    with store_mod.open_store(out, _spec()):
        pass
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    tag = store_mod._host_tag()
    names = {
        "live": f".tmp-{tag}-{live.pid}-aaaaaaaaaaaa.npz",  # a live process on this host: kept
        "dead": f".tmp-{tag}-{gone.pid}-bbbbbbbbbbbb.npz",  # its writer is gone: removed
        "old_elsewhere": ".tmp-00000000-1-cccccccccccc.npz",  # another host, older than the lock: removed
        "new_elsewhere": ".tmp-00000000-2-dddddddddddd.npz",  # another host, written just now: kept
    }
    try:
        for name in names.values():
            (out / "chunks" / name).write_text("x")
        past = time.time() - 3600
        os.utime(out / "chunks" / names["old_elsewhere"], (past, past))
        for name in ("live", "dead"):
            os.utime(out / "chunks" / names[name], (past, past))
        future = time.time() + 60  # modified after this process takes the lock
        os.utime(out / "chunks" / names["new_elsewhere"], (future, future))
        with store_mod.open_store(out, _spec()):
            left = {p.name for p in (out / "chunks").iterdir()}
        assert names["live"] in left and names["new_elsewhere"] in left
        assert names["dead"] not in left and names["old_elsewhere"] not in left
    finally:
        live.kill()
        live.wait()


def test_store_import_leaves_the_umask_alone_and_files_follow_it(tmp_path):
    script = textwrap.dedent(f"""
        import os
        calls = []
        real = os.umask
        os.umask = lambda m: calls.append(m) or real(m)
        import benign.run.store as store, benign.run.sweep  # noqa: F401
        assert calls == [], calls
        os.umask = real
        real(0o027)
        from pathlib import Path
        store.atomic_write(Path({str(tmp_path / "f.txt")!r}), lambda tmp: Path(tmp).write_text("x"))
        print(oct(os.stat({str(tmp_path / "f.txt")!r}).st_mode & 0o777))
    """)
    res = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "0o640"


# ----------------------------------------------------------------------------- damaged chunks
def test_foreign_and_overlapping_chunks_are_quarantined(reference, tmp_path):
    ref, ref_dir = reference
    out = tmp_path / "mixed"
    shutil.copytree(ref_dir, out)
    (out / "results.nc").unlink()
    first = sorted((out / "chunks").glob("chunk-*.npz"))[0]
    shutil.copy(first, out / "chunks" / "chunk-000000000-000004-copy.npz")  # the same runs twice
    with np.load(first) as z:
        data = dict(z)
    data["__fingerprint__"] = np.array("0" * 64)
    with open(out / "chunks" / "chunk-000000900-000004.npz", "wb") as fh:  # another sweep's chunk
        np.savez(fh, **data)
    with pytest.warns(StoreWarning) as record:
        ds = sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, **FIX)
    messages = " ".join(str(w.message) for w in record)
    assert "repeats runs" in messages and "another sweep" in messages
    moved = sorted(p.name for p in (out / "chunks" / "quarantine").iterdir())
    assert len(moved) == 2 and "chunk-000000900-000004.npz" in moved  # the foreign chunk and one of the twins
    assert {"chunk-000000000-000004-copy.npz", first.name} & set(moved)
    assert ds.identical(ref)


def test_an_executor_that_loses_chunks_is_an_error_and_resume_completes(reference, tmp_path):
    ref, ref_dir = reference

    def first_only(tasks):
        from benign.run.executors import run_task

        yield tasks[0], run_task(tasks[0])

    out = tmp_path / "lost"
    with pytest.raises(RuntimeError, match="returned 4 of 8 runs.*run the sweep again"):
        sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, executor=first_only, **FIX)
    assert len(list((out / "chunks").glob("chunk-*.npz"))) == 1 and not (out / "results.nc").exists()
    ds = sweep(GRID, seeds=SEEDS, out=str(out), chunk_size=4, progress=False, **FIX)
    assert ds.identical(ref)
    assert (out / "results.nc").read_bytes() == (ref_dir / "results.nc").read_bytes()


# ----------------------------------------------------------------------------- silent wrong values
@pytest.mark.parametrize("grid, kwargs, match", [
    ({"d": [12]}, dict(seeds="10"), "seeds"),
    ({"d": [12]}, dict(seeds=[1.7, 2.2]), "seeds.*integer"),
    ({"d": [12]}, dict(seeds=True), "seeds"),
    ({"d": [12]}, dict(seeds=[0, 0]), "seeds"),
    ({"snr": [0.1, None]}, {}, r"grid\['snr'\] contains None"),
    ({"snr": ["0.1", "0.2"]}, {}, r"grid\['snr'\].*'0.1'.*real number"),
    ({"snr": [True, 0.2]}, {}, r"grid\['snr'\].*real number"),
    ({"activation": ["relu", 1]}, {}, r"grid\['activation'\].*string"),
    ({"d": [12, 12.0]}, {}, "repeated"),
    ({"snr": [1, 1.0]}, {}, "repeated"),
    ({}, {}, "grid is empty"),
    ({"d": [12]}, dict(out=""), "out=''"),
    ({"d": [12]}, dict(snr="0.1"), "argument snr.*real number"),
])
def test_sweep_input_that_was_silently_misread_is_refused(tmp_path, grid, kwargs, match):
    cwd = os.getcwd()
    os.chdir(tmp_path)  # out="" once wrote into the current directory
    try:
        kwargs = {"out": str(tmp_path / "x"), **kwargs}
        with pytest.raises(ValueError, match=match):
            sweep(grid, progress=False, **{**FIX, **kwargs})
    finally:
        os.chdir(cwd)
    assert list(tmp_path.iterdir()) == []


def test_string_axes_still_work():
    plan = sweep_mod.make_plan({"activation": ["relu", "leaky_relu"], "snr": [0.1, 0.2]}, 1, reduce="mean", **FIX)
    assert [c.activation for c in plan.configs] == ["relu", "relu", "leaky_relu", "leaky_relu"]
    assert all(c.reduce == "mean" for c in plan.configs)
    plan = sweep_mod.make_plan({"bias": [False, True]}, [3, 5], output_value=None, **FIX)
    assert [(c.bias, c.seed) for c in plan.configs] == [(False, 3), (False, 5), (True, 3), (True, 5)]


def test_information_imbalance_max_points_and_size_limit(monkeypatch):
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(60, 2)), rng.normal(size=(60, 3))
    with pytest.raises(ValueError, match="max_points must be an integer"):
        imbalance.information_imbalance(A, B, max_points=10.5, rng=0)
    monkeypatch.setattr(imbalance, "MAX_POINTS", 50)
    with pytest.raises(ValueError, match=r"N=60 inputs, more than MAX_POINTS=50.*GiB.*max_points=60"):
        imbalance.information_imbalance(A, B)
    assert imbalance.information_imbalance(A, B, max_points=60) == imbalance.information_imbalance(A, B, max_points=100)
    d_ab, d_ba = imbalance.information_imbalance(A, B, max_points=50, rng=1)
    assert 0 < d_ab < 2 and 0 < d_ba < 2


def test_information_imbalance_refuses_50000_points_before_allocating():
    A = np.zeros((50_000, 1))
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"N=50000 inputs.*GiB"):
        imbalance.information_imbalance(A, A)
    assert time.perf_counter() - t0 < 5.0


def test_chunk_errors_refuse_a_nan_readout():
    rng = np.random.default_rng(0)
    H = rng.normal(size=(20, 6))
    a = rng.normal(size=6)
    y = np.where(H @ a > 0, 1, -1)
    ok = rchunks.chunk_errors(H, (a, 0.0), y, [1, 3, 6], 4, 0)
    assert np.all(np.isfinite(ok.mean))
    a[2] = np.nan
    with pytest.raises(ValueError, match="readout contains non-finite"):
        rchunks.chunk_errors(H, (a, 0.0), y, [1, 3, 6], 4, 0)
    with pytest.raises(ValueError, match="readout contains non-finite"):
        rchunks.chunk_errors(H, (rng.normal(size=6), np.nan), y, [1, 3, 6], 4, 0)


# ----------------------------------------------------------------------------- size guards (CLI)
@pytest.mark.parametrize("grid, match", [
    ("snr = {start = 0.01, stop = 1.0, num = 2000}\nd = {start = 10, stop = 20000, num = 2000}",
     r"2000 \(snr\) x 2000 \(d\) = 4000000 cells x 1 seeds = 4000000 runs, more than 1000000"),
    ("snr = {start = 0.0, stop = 1.0, step = 1e-10}", r"grid.snr: .*1e\+10 values, more than 100000"),
    ("snr = {start = 0.0, stop = 1.0, num = 200000}", r"grid.snr: num = 200000"),
    ("snr = {start = 0.0, stop = 1e308, step = 1e-308}", r"grid.snr: .*values, more than"),
    ("snr = {start = 0.0, stop = nan, num = 3}", "finite"),
])
def test_huge_toml_grids_are_refused_before_expanding(tmp_path, grid, match):
    path = tmp_path / "big.toml"
    path.write_text(f"[grid]\n{grid}\n")
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=match):
        read_config(path)
    assert time.perf_counter() - t0 < 1.0
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    assert res.exit_code == 2 and "error:" in res.output and not (tmp_path / "out").exists()


def test_seed_count_counts_in_the_size_guard(tmp_path):
    path = tmp_path / "seeds.toml"
    path.write_text("seeds = 2000\n[grid]\nsnr = {start = 0.0, stop = 1.0, num = 1000}\n")
    with pytest.raises(ConfigError, match="2000 seeds = 2000000 runs"):
        read_config(path)
