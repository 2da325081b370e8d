"""The `benign` command line on tiny configs (typer.testing.CliRunner)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import benign
from benign.cli import app, read_config
from benign.run.store import load

runner = CliRunner()

TINY = """
seeds = 2
chunk_size = 8
[grid]
snr = [0.05, 0.5]
init_scale = {start = 0.01, stop = 1.0, num = 2, log = true}
[fixed]
n = 6
d = 12
m = 2
steps = 8
n_mc = 64
n_checkpoints = 3
"""


def _write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    out = tmp / "out"
    res = runner.invoke(app, ["sweep", str(_write(tmp, TINY)), "--out", str(out), "--no-progress", "--no-compile-cache"])
    assert res.exit_code == 0, res.output
    return out, res


def test_sweep_writes_results(swept):
    out, res = swept
    ds = load(out)
    assert ds["test_error"].dims == ("snr", "init_scale", "seed")
    assert list(ds.init_scale.values) == [0.01, 1.0]
    assert "results.nc" in res.output


def test_sweep_resumes_same_directory(swept, tmp_path):
    out, _ = swept
    before = (out / "results.nc").read_bytes()
    res = runner.invoke(app, ["sweep", str(_write(tmp_path, TINY)), "--out", str(out), "--no-progress", "--no-compile-cache"])
    assert res.exit_code == 0, res.output
    assert (out / "results.nc").read_bytes() == before


def test_plot_and_compare(swept):
    out, _ = swept
    res = runner.invoke(app, ["plot", str(out)])
    assert res.exit_code == 0, res.output
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert "phase_init_scale_snr.png" in pngs and "boundary_vs_init.png" in pngs
    res = runner.invoke(app, ["plot", str(out), "--x", "nope"])
    assert res.exit_code == 2 and "error:" in res.output and "nope" in res.output
    res = runner.invoke(app, ["compare", str(out)])
    assert res.exit_code == 0, res.output
    assert "Regime agreement" in res.output


@pytest.mark.slow
def test_reproduce_kou_tiny(tmp_path):
    out = tmp_path / "kou"
    res = runner.invoke(app, ["reproduce", "kou2023", "--out", str(out), "--scale", "tiny", "--no-progress", "--no-compile-cache"])
    assert res.exit_code == 0, res.output
    ds = load(out)
    assert set(ds["test_error"].dims) == {"d", "mu_norm", "seed"}
    assert ds.attrs["n"] == 20 and ds.attrs["m"] == 10 and ds.attrs["steps"] == 100 and ds.attrs["bias"] == 1
    assert ds.attrs["noise"] == "isotropic" and ds.attrs["hidden_init"] == "uniform" and ds.attrs["reduce"] == "mean"
    assert ds.attrs["train_output"] == 0 and ds.attrs["output_value"] == 1.0 and ds.attrs["p"] == 0.1
    assert (out / "figures" / "kou2023.png").exists()
    res = runner.invoke(app, ["reproduce", "nope", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "error:" in res.output and "kou2023" in res.output


def test_info():
    res = runner.invoke(app, ["info"])
    assert res.exit_code == 0, res.output
    assert benign.__version__ in res.output and "cpu" in res.output.lower() and "float64" in res.output


BAD = [
    ("seeds = 2\n[grid\nsnr = [0.1]", "not valid TOML"),
    ("seeds = 2\nbogus = 1\n[grid]\nsnr = [0.1]", "bogus"),
    ("seeds = 2\n[fixed]\nn = 5", "[grid]"),
    ("[grid]\nsnr = []", "grid.snr"),
    ("[grid]\nsnr = {start = 0.1}", "grid.snr"),
    ("[grid]\nsnr = [0.1]\n[fixed]\nwidth = 3", "width"),
    ("[grid]\np = [0.1, 0.7]", "p=0.7"),
    ("seeds = 'many'\n[grid]\nsnr = [0.1]", "seeds"),
    ("chunk_size = 0\n[grid]\nsnr = [0.1]", "chunk_size"),
    ("[grid]\nsnr = [0.1]\n[fixed]\nd = [1, 2]", "fixed.d"),
]


@pytest.mark.parametrize("text, key", BAD)
def test_bad_config_gives_clear_message(tmp_path, text, key):
    res = runner.invoke(app, ["sweep", str(_write(tmp_path, text)), "--out", str(tmp_path / "o"), "--no-progress", "--no-compile-cache"])
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error:") and key in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "o").exists()


def test_bad_executor(tmp_path):
    res = runner.invoke(app, ["sweep", str(_write(tmp_path, TINY)), "--out", str(tmp_path / "o"), "--executor", "dask"])
    assert res.exit_code == 2 and "executor" in res.output and not (tmp_path / "o").exists()


def test_missing_file_and_foreign_dir(swept, tmp_path):
    res = runner.invoke(app, ["sweep", str(tmp_path / "none.toml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "not found" in res.output
    out, _ = swept
    other = _write(tmp_path, TINY.replace("steps = 8", "steps = 9"))
    res = runner.invoke(app, ["sweep", str(other), "--out", str(out), "--no-progress", "--no-compile-cache"])
    assert res.exit_code == 2 and "different sweep" in res.output and "steps" in res.output
    res = runner.invoke(app, ["plot", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "error:" in res.output


def test_read_config_ranges(tmp_path):
    cfg = read_config(_write(tmp_path, """
        seeds = [3, 5]
        trajectories = true
        [grid]
        d = {start = 100, stop = 130, step = 10}
        mu_norm = {start = 0.0, stop = 0.3, step = 0.1}
        init_scale = {start = 0.001, stop = 0.1, num = 3, log = true}
        [fixed]
        n = 20
    """))
    assert cfg["grid"]["d"] == [100, 110, 120, 130]
    assert cfg["grid"]["mu_norm"] == [0.0, 0.1, 0.2, 0.3]
    assert cfg["grid"]["init_scale"] == pytest.approx([0.001, 0.01, 0.1])
    assert cfg["seeds"] == [3, 5] and cfg["trajectories"] is True and cfg["fixed"] == {"n": 20}


@pytest.mark.slow
def test_reproduce_kou_tiny_matches_the_heatmap(tmp_path):
    """`benign reproduce kou2023` (a resumable sweep, d bucketed into one program) gives heatmap()'s numbers."""
    import numpy as np

    from benign.protocols import kou2023

    res = runner.invoke(app, ["reproduce", "kou2023", "--out", str(tmp_path / "sweep"), "--scale", "tiny", "--no-plot", "--no-progress"])
    assert res.exit_code == 0, res.output
    swept = load(str(tmp_path / "sweep")).transpose("d", "mu_norm", "seed")
    grid, seeds = kou2023.GRIDS["tiny"]
    ref = kou2023.heatmap(grid["mu_norm"], grid["d"], list(range(seeds)))
    np.testing.assert_allclose(swept["train_loss"].values, ref["train_loss"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(swept["test_error"].values, ref["test_error"], atol=1e-4)
    again = runner.invoke(app, ["reproduce", "kou2023", "--out", str(tmp_path / "sweep"), "--scale", "tiny", "--no-plot", "--no-progress"])
    assert again.exit_code == 0, again.output  # resumes: nothing left to compute


def test_export_csv_one_row_per_run(swept, tmp_path):
    """`benign export DIR --csv`: one row per (cell, seed), the metrics equal the dataset's."""
    import numpy as np
    import pandas as pd

    out, _ = swept
    ds = load(out)
    res = runner.invoke(app, ["export", str(out), "--csv", "--out", str(tmp_path / "m.csv")])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(tmp_path / "m.csv")
    n_runs = ds.sizes["snr"] * ds.sizes["init_scale"] * ds.sizes["seed"]
    assert len(frame) == n_runs and list(frame.columns[:3]) == ["snr", "init_scale", "seed"]
    assert not frame.duplicated(["snr", "init_scale", "seed"]).any()
    assert not any(c in frame.columns for c in ("step", "w_norm_traj"))
    row = frame.iloc[5]
    cell = ds.sel(snr=row.snr, init_scale=row.init_scale, seed=row.seed)
    for var in ("test_error", "train_loss", "mu_norm"):
        np.testing.assert_allclose(row[var], float(cell[var]), rtol=1e-6)
    assert row["phi"] == pytest.approx(float(ds["phi"].sel(snr=row.snr, init_scale=row.init_scale)), rel=1e-9)
    # default path, and stdout
    res = runner.invoke(app, ["export", str(out), "--csv"])
    assert res.exit_code == 0 and (out / "final_metrics.csv").exists()
    res = runner.invoke(app, ["export", str(out), "--csv", "--out", "-"])
    assert res.exit_code == 0 and res.output.startswith("snr,init_scale,seed,") and res.output.count("\n") == n_runs + 1
    res = runner.invoke(app, ["export", str(tmp_path / "nothing"), "--csv"])
    assert res.exit_code == 2 and res.output.startswith("error:")


def test_compare_json_matches_the_report(swept):
    """`benign compare DIR --json` carries the same headline numbers as the Comparison object."""
    import json

    from benign.analysis.compare import compare_dataset

    out, _ = swept
    res = runner.invoke(app, ["compare", str(out), "--json"])
    assert res.exit_code == 0, res.output
    head = json.loads(res.output)
    comp = compare_dataset(load(out))
    assert head["theory"] == comp.theory and head["n_cells"] == len(comp.table) == 4
    assert head["n_compared"] == comp.n_compared
    assert head["agreement"] == pytest.approx(comp.agreement)
    assert sum(sum(r.values()) for r in head["confusion"].values()) == int(comp.confusion.to_numpy().sum())
    if comp.boundary is None:
        assert head["boundary"] is None
    else:
        b = head["boundary"]
        assert b["n_benign"] == comp.boundary.n_benign and b["n_runs"] == comp.boundary.n_runs
        assert (b["estimate"] is None) or b["estimate"] == pytest.approx(comp.boundary.estimate)
    assert set(head) >= {"calibrated", "scaling", "trainable", "dynamics", "notes", "settings"}
    assert "NaN" not in res.output and "Infinity" not in res.output


def test_help_is_fast_and_imports_no_jax():
    """`benign --help` imports typer only (no JAX, numpy or the simulation core), so it answers at once."""
    import subprocess
    import sys

    code = ("import sys; from benign.cli import app; sys.argv = ['benign', '--help']\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in ('jax', 'numpy', 'pandas', 'xarray', 'matplotlib', 'benign.run.batch') if m in sys.modules)\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout[-500:]
    for cmd in ("sweep", "plot", "compare", "export", "reproduce", "info"):
        assert cmd in out.stdout
