"""Shared plumbing of the experiment scripts: paths, command-line flags, resumable sweeps.

Each experiment runs its sweep in a resumable work directory ``results/experiments/<name>/``
(gitignored; interrupt and re-run to resume), copies the consolidated netCDF file to
``experiments/data/<name>.nc``, refreshes the summaries that read it
(``experiments/data/*.summary.json``, see ``experiments/report.py``) and saves its figure as
``docs/figures/<name>.png``. Every entry point follows the package's compile-cache policy
(:func:`benign.run.cache.ensure`; ``--no-compile-cache`` switches it off).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

FIGURES = ROOT / "docs" / "figures"
DATA = ROOT / "experiments" / "data"
WORK = ROOT / "results" / "experiments"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """Flags every experiment understands: ``--work``, ``--no-progress``, ``--no-compile-cache``."""
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=None, help="resumable results directory (default results/experiments/<name>)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--no-compile-cache", action="store_true", help="do not use JAX's persistent compilation cache")
    return p


def compile_cache(args: argparse.Namespace) -> str | None:
    """Apply the package's compile-cache policy, or switch the cache off (``--no-compile-cache``)."""
    from benign.run import cache

    if getattr(args, "no_compile_cache", False):
        cache.disable()
        return None
    return cache.ensure()


def refresh_summaries(*data_files: str) -> None:
    """Recompute the docs summaries that read these files of experiments/data (see experiments/report.py)."""
    import report

    for path in report.refresh(data_files):
        print(f"summary: {path.relative_to(ROOT)}")


def run(name: str, args: argparse.Namespace, grid: dict[str, list], seeds: int, fixed: dict[str, Any],
        keep: list[str] | None = None, **kw: Any):
    """Run (or resume) one sweep for experiment ``name``; copy its netCDF file to experiments/data
    (only the variables in ``keep``, if given, to keep large grids small), and refresh the summaries
    that read it."""
    from benign.run.sweep import sweep

    compile_cache(args)
    out = (args.work or WORK) / name
    t0 = time.perf_counter()
    ds = sweep(grid, seeds=seeds, out=str(out), progress=not args.no_progress, **kw, **fixed)
    print(f"[{name}] {dict(ds.sizes)} in {time.perf_counter() - t0:.1f} s -> {out / 'results.nc'}")
    DATA.mkdir(parents=True, exist_ok=True)
    if keep is None:
        shutil.copyfile(out / "results.nc", DATA / f"{name}.nc")
    else:
        from benign.run.store import save_netcdf

        save_netcdf(ds[[v for v in keep if v in ds]], DATA / f"{name}.nc")
    refresh_summaries(f"{name}.nc")
    return ds


def save(fig, name: str) -> Path:
    """Save ``fig`` as docs/figures/<name>.png and print the path."""
    import matplotlib.pyplot as plt

    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{name}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"figure: {path.relative_to(ROOT)}")
    return path


def report(ds, theory: str | None = None) -> str | None:
    """The agreement report of ``benign.analysis.compare`` (None if analysis is unavailable)."""
    from benign.analysis.compare import compare_dataset

    try:
        return compare_dataset(ds, theory).report()
    except (ValueError, KeyError) as e:
        return f"(comparison skipped: {e})"
