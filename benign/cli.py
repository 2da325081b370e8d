"""The ``benign`` command line: sweeps from TOML files, plots, theory comparison, exports, published protocols.

    benign sweep CONFIG.toml --out DIR     run (or resume) a sweep; DIR/results.nc at the end
                                           (--executor ray [--address ADDR]: chunks on a Ray cluster)
    benign plot DIR                        every applicable figure, PNGs in DIR/figures/
    benign compare DIR [--json]            agreement report of benign.analysis.compare (--json: headline numbers)
    benign export DIR --csv [--out FILE]   tidy CSV of the final metrics, one row per run
    benign reproduce kou2023 --out DIR     a published protocol (--scale tiny|small|full)
    benign info                            version, devices, precision, compile cache

The sweep file format is documented in ``docs/cli.md``. In short: a ``[grid]`` table (argument ->
list of values, or a range table ``{start, stop, step}`` / ``{start, stop, num, log}``, log ranges
rounded to 6 significant digits), a ``[fixed]`` table, ``seeds = N`` (or a list) and optionally
``chunk_size``, ``trajectories`` and ``theory``::

    seeds = 4
    chunk_size = 128
    [grid]
    snr = [0.02, 0.05, 0.1, 0.2]
    n = {start = 10, stop = 40, step = 10}
    [fixed]
    d = 200
    steps = 300

Bad input (a malformed file, an unknown key, an invalid value, a foreign results directory) prints
``error: ...`` naming the key and exits with status 2, without a traceback.

Only ``typer`` is imported at start-up; every command imports JAX and the rest of the package when it
runs, so ``benign --help`` answers at once. Commands that compile use the persistent compilation
cache of :mod:`benign.run.cache` (``--no-compile-cache`` switches it off for the command).
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import tomllib
from pathlib import Path
from typing import Any, NoReturn

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Benign vs harmful overfitting in two-layer ReLU CNNs.")

TOP_KEYS = ("grid", "fixed", "seeds", "chunk_size", "trajectories", "theory")


class ConfigError(ValueError):
    """A sweep file that cannot be used; the message names the offending key."""


#: Largest number of values one grid axis may expand to, and of runs (cells x seeds) in a sweep file.
MAX_AXIS_VALUES = 100_000
MAX_RUNS = 1_000_000


def _axis_len(key: str, spec: Any) -> int:
    """How many values the grid axis ``spec`` (a TOML list or a range table) has, checking the
    range table's keys and numbers first and never expanding it."""
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"grid.{key}: the list of values is empty")
        return len(spec)
    if not isinstance(spec, dict):
        raise ConfigError(f"grid.{key}: expected a list of values or a range table {{start, stop, step|num}}, got {spec!r}")
    unknown = sorted(set(spec) - {"start", "stop", "step", "num", "log"})
    if unknown or "start" not in spec or "stop" not in spec or ("step" in spec) == ("num" in spec):
        raise ConfigError(f"grid.{key}: a range table needs start, stop and exactly one of step or num (optional log); got keys {sorted(spec)}")
    start, stop = spec["start"], spec["stop"]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (start, stop)):
        raise ConfigError(f"grid.{key}: start and stop must be finite numbers")
    if "log" in spec and not isinstance(spec["log"], bool):
        raise ConfigError(f"grid.{key}: log must be true or false, got {spec['log']!r}")
    if "step" in spec:
        step = spec["step"]
        if not isinstance(step, (int, float)) or isinstance(step, bool) or not math.isfinite(step) or step <= 0 or stop < start:
            raise ConfigError(f"grid.{key}: step must be a positive finite number and stop >= start")
        count = (stop - start) / step + 1e-9
        if not math.isfinite(count) or count >= MAX_AXIS_VALUES:
            raise ConfigError(f"grid.{key}: the range from {start} to {stop} in steps of {step} has "
                              f"{count + 1:.4g} values, more than {MAX_AXIS_VALUES} per axis; use a larger step")
        return int(math.floor(count)) + 1
    num = spec["num"]
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise ConfigError(f"grid.{key}: num must be an integer >= 1")
    if num > MAX_AXIS_VALUES:
        raise ConfigError(f"grid.{key}: num = {num} values, more than {MAX_AXIS_VALUES} per axis")
    return num


def _axis(key: str, spec: Any) -> list:
    """A grid axis from a TOML list or a range table (checked by :func:`_axis_len` first)."""
    num = _axis_len(key, spec)
    if isinstance(spec, list):
        return spec
    start, stop = spec["start"], spec["stop"]
    ints = all(isinstance(spec.get(k, 0), int) for k in ("start", "stop", "step")) and "num" not in spec
    if "step" in spec:
        vals = [start + i * spec["step"] for i in range(num)]
    elif spec.get("log", False):
        if start <= 0 or stop <= 0:
            raise ConfigError(f"grid.{key}: a log range needs start > 0 and stop > 0")
        vals = [math.exp(math.log(start) + i * (math.log(stop) - math.log(start)) / max(num - 1, 1)) for i in range(num)]
    else:
        vals = [start + i * (stop - start) / max(num - 1, 1) for i in range(num)]
    digits = 6 if spec.get("log", False) else 12  # log ranges: 6 significant digits keep labels readable
    return [int(v) for v in vals] if ints else [float(f"{v:.{digits}g}") for v in vals]


def _check_size(grid: dict[str, Any], seeds: Any) -> None:
    """Refuse a grid of more than :data:`MAX_RUNS` runs (cells x seeds) before expanding any axis."""
    counts = {k: _axis_len(k, v) for k, v in grid.items()}
    n_seeds = seeds if isinstance(seeds, int) else len(seeds)
    cells = math.prod(counts.values())
    if cells * n_seeds > MAX_RUNS:
        shape = " x ".join(f"{n} ({k})" for k, n in counts.items())
        raise ConfigError(f"the grid has {shape} = {cells} cells x {n_seeds} seeds = {cells * n_seeds} runs, more than "
                          f"{MAX_RUNS}; split it into several sweeps or use coarser ranges")


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a sweep TOML file into ``sweep`` keyword arguments (grid, seeds, fixed, ...).

    Raises :class:`ConfigError` naming the key for anything malformed, and for an axis of more than
    :data:`MAX_AXIS_VALUES` values or a grid of more than :data:`MAX_RUNS` runs (counted before any
    range is expanded); argument values are checked later by :func:`benign.make_config`, whose
    errors also name the argument.
    """
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {path}: {e}") from None
    unknown = sorted(set(raw) - set(TOP_KEYS))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in {path}; allowed top-level keys: {list(TOP_KEYS)}")
    grid = raw.get("grid", {})
    if not isinstance(grid, dict) or not grid:
        raise ConfigError(f"{path}: a non-empty [grid] table is required (argument = [values])")
    fixed = raw.get("fixed", {})
    if not isinstance(fixed, dict):
        raise ConfigError(f"{path}: [fixed] must be a table")
    for k, v in fixed.items():
        if isinstance(v, (dict, list)):
            raise ConfigError(f"fixed.{k}: expected a single value, got {v!r} (put lists in [grid])")
    seeds = raw.get("seeds", 1)
    if isinstance(seeds, bool) or not (isinstance(seeds, int) or (isinstance(seeds, list) and all(isinstance(s, int) for s in seeds))):
        raise ConfigError(f"seeds: expected a number of seeds or a list of integers, got {seeds!r}")
    _check_size(grid, seeds)
    out: dict[str, Any] = {"grid": {k: _axis(k, v) for k, v in grid.items()}, "seeds": seeds, "fixed": fixed}
    if "chunk_size" in raw:
        cs = raw["chunk_size"]
        if isinstance(cs, bool) or not isinstance(cs, int) or cs < 1:
            raise ConfigError(f"chunk_size: expected an integer >= 1, got {cs!r}")
        out["chunk_size"] = cs
    if "trajectories" in raw:
        if not isinstance(raw["trajectories"], bool):
            raise ConfigError(f"trajectories: expected true or false, got {raw['trajectories']!r}")
        out["trajectories"] = raw["trajectories"]
    if "theory" in raw:
        if not isinstance(raw["theory"], str):
            raise ConfigError(f"theory: expected a theory name or 'auto', got {raw['theory']!r}")
        out["theory"] = None if raw["theory"] == "none" else raw["theory"]
    return out


def _compile_cache(on: bool) -> str | None:
    """Apply the package's compile-cache policy (:func:`benign.run.cache.ensure`), or switch it off."""
    from .run import cache

    if not on:
        cache.disable()
        return None
    return cache.ensure()


def _fail(e: BaseException) -> NoReturn:
    if os.environ.get("BENIGN_DEBUG"):
        raise e
    typer.echo(f"error: {e}", err=True)
    raise typer.Exit(2)


def _run_sweep(kw: dict[str, Any], out: Path, chunk_size: int | None, progress: bool, cache: bool,
               executor: str = "local", address: str | None = None) -> Any:
    from .run.sweep import sweep

    _compile_cache(cache)
    kw = dict(kw)
    fixed = kw.pop("fixed")
    if chunk_size is not None:
        kw["chunk_size"] = chunk_size
    if address is not None:
        if executor != "ray":
            raise ValueError("--address is only used with --executor ray")
        kw["executor_options"] = {"address": address}
    return sweep(kw.pop("grid"), kw.pop("seeds"), out=str(out), progress=progress, executor=executor, **kw, **fixed)


_OUT = typer.Option(..., "--out", "-o", help="results directory (created, or resumed if it holds the same sweep)")
_PROGRESS = typer.Option(True, "--progress/--no-progress", help="show a progress bar")
_CACHE = typer.Option(True, "--compile-cache/--no-compile-cache", help="reuse compiled programs across runs (JAX persistent cache)")
_EXECUTOR = typer.Option("local", help="where chunks run: local | ray")
_ADDRESS = typer.Option(None, help="Ray cluster address (with --executor ray; default: RAY_ADDRESS or a local Ray)")


@app.command("sweep")
def sweep_cmd(config: Path = typer.Argument(..., help="sweep TOML file"), out: Path = _OUT,
              chunk_size: int | None = typer.Option(None, help="runs per compiled call (overrides the file)"),
              progress: bool = _PROGRESS, cache: bool = _CACHE, executor: str = _EXECUTOR,
              address: str | None = _ADDRESS) -> None:
    """Run (or resume) the sweep described by CONFIG; results in OUT/results.nc."""
    try:
        ds = _run_sweep(read_config(config), out, chunk_size, progress, cache, executor, address)
    except (ValueError, KeyError, TypeError, OSError) as e:
        _fail(e)
    typer.echo(f"{out / 'results.nc'}: {dict(ds.sizes)}, variables {len(ds.data_vars)}")


@app.command("plot")
def plot_cmd(results: Path = typer.Argument(..., help="results directory or .nc file"),
             out: Path | None = typer.Option(None, "--out", "-o", help="figure directory (default RESULTS/figures)"),
             x: str | None = typer.Option(None, help="horizontal axis (a swept argument)"),
             y: str | None = typer.Option(None, help="vertical axis (a swept argument)"),
             tol: float = typer.Option(0.05, help="a run is benign if its test error is <= p + TOL")) -> None:
    """Draw every figure that applies to a sweep's results, with the theory and the measured boundary."""
    from . import plot as bp
    from .analysis.compare import figure_fits
    from .run.store import load

    try:
        ds = load(results)
        figdir = out or (results if results.is_dir() else results.parent) / "figures"
        for name in (x, y):
            if name is not None and name not in bp.grid_dims(ds):
                raise ValueError(f"--x/--y {name!r} is not a swept dimension; choose from {bp.grid_dims(ds)}")
        fits = figure_fits(ds, tol=tol)
        paths = bp.plot_all(ds, figdir, fits=fits)
        if x is not None or y is not None:
            dx, dy = bp.default_axes(ds)
            paths.append(figdir / f"phase_{x or dx}_{y or dy}.png")
            bp.plt.close(bp.phase_diagram(ds, x or dx, y or dy, tol=tol, boundary=fits.boundary, constants=fits.constants,
                                          calibrated=fits.calibrated, theory=fits.theory, path=paths[-1]))
    except (ValueError, KeyError, OSError) as e:
        _fail(e)
    for p in paths:
        typer.echo(str(p))


def _plain(x: Any) -> Any:
    """``x`` with numpy/pandas scalars as Python numbers and non-finite floats as ``None`` (JSON-safe)."""
    import numpy as np

    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _records(frame: Any) -> list[dict[str, Any]] | None:
    """A small DataFrame as a list of row dicts (its index as columns); ``None`` for none or empty."""
    if frame is None or frame.empty:
        return None
    named = [n for n in frame.index.names if n is not None]
    return _plain(frame.reset_index().to_dict(orient="records") if named else frame.to_dict(orient="records"))


def comparison_headline(comp: Any) -> dict[str, Any]:
    """The headline numbers of a :class:`benign.analysis.Comparison` as a JSON-ready dict.

    Keys: ``theory``, ``constants``, ``settings``, ``n_cells``, ``agreement`` and ``n_compared``
    (regime agreement on the cells where both regimes are determined), ``confusion`` (theory regime ->
    empirical regime -> number of cells), ``boundary`` (the fields of
    :class:`benign.analysis.BoundaryFit`: estimate, CI, sharpness, counts; ``None`` without a fit), ``calibrated`` (envelope constants), ``scaling``, ``trainable`` and
    ``dynamics`` (the report's tables as lists of rows, ``None`` when skipped) and ``notes``.
    Non-finite numbers become ``None``.
    """
    b = comp.boundary
    confusion = {str(t): {str(e): int(v) for e, v in row.items()} for t, row in comp.confusion.iterrows()}
    return _plain({
        "theory": comp.theory,
        "constants": dict(comp.constants),
        "settings": dict(comp.settings),
        "n_cells": int(len(comp.table)),
        "agreement": float(comp.agreement),
        "n_compared": int(comp.n_compared),
        "confusion": confusion,
        "boundary": None if b is None else dataclasses.asdict(b),
        "calibrated": dict(comp.calibrated),
        "scaling": _records(comp.scaling),
        "trainable": _records(comp.trainable),
        "dynamics": _records(comp.dynamics),
        "notes": list(comp.notes),
    })


@app.command("compare")
def compare_cmd(results: Path = typer.Argument(..., help="results directory or .nc file"),
                theory: str | None = typer.Option(None, help="theory name (default: the sweep's)"),
                as_json: bool = typer.Option(False, "--json", help="print the headline numbers as JSON instead of the report")) -> None:
    """Print the agreement report between the sweep and the theory (--json: its headline numbers)."""
    import json

    from .run.store import load

    try:
        from .analysis.compare import compare_dataset

        comp = compare_dataset(load(results), theory)
    except (ValueError, KeyError, OSError) as e:
        _fail(e)
    typer.echo(json.dumps(comparison_headline(comp), indent=2, allow_nan=False) if as_json else comp.report())


def final_frame(ds: Any):
    """The final metrics of a sweep as a tidy ``pandas.DataFrame``, one row per run.

    Columns: the swept dimensions and ``seed`` first, then every coordinate and data variable whose
    dimensions are among them (per-run metrics, and per-cell quantities such as the theory's ``phi``
    repeated on each of the cell's runs). Trajectories (anything over ``step``) and other
    non-run dimensions are left out.
    """
    import json

    import pandas as pd
    import xarray as xr

    try:
        grid = list(json.loads(ds.attrs["grid"]))
    except (KeyError, TypeError, ValueError):
        grid = [d for d in ds.dims if d not in ("seed", "step")]
    run_dims = [d for d in ds.dims if d in grid or d == "seed"]
    keep = [v for v in ds.data_vars if set(ds[v].dims) <= set(run_dims)]
    extra = [c for c in ds.coords if c not in ds.dims and set(ds[c].dims) <= set(run_dims)]
    sub = xr.Dataset({v: ds[v] for v in keep}).assign_coords({c: ds[c] for c in extra})
    full = xr.broadcast(sub, xr.Dataset(coords={d: ds[d] for d in run_dims}))[0]
    frame = full.to_dataframe(dim_order=run_dims).reset_index()
    cols = run_dims + [c for c in extra if c in frame] + [v for v in keep if v in frame]
    return pd.DataFrame(frame[cols])


@app.command("export")
def export_cmd(results: Path = typer.Argument(..., help="results directory or .nc file"),
               csv: bool = typer.Option(True, "--csv", help="write CSV (the one format for now)"),
               out: Path | None = typer.Option(None, "--out", "-o", help="output file (default RESULTS/final_metrics.csv; '-' for stdout)")) -> None:
    """Write a sweep's final metrics as a tidy CSV table, one row per run."""
    from .run.store import load

    try:
        frame = final_frame(load(results))
        if out is not None and str(out) == "-":
            typer.echo(frame.to_csv(index=False), nl=False)
            return
        path = out or (results if results.is_dir() else results.parent) / "final_metrics.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    except (ValueError, KeyError, OSError) as e:
        _fail(e)
    typer.echo(f"{path}: {len(frame)} runs x {frame.shape[1]} columns")


@app.command("reproduce")
def reproduce_cmd(name: str = typer.Argument(..., help="protocol name, e.g. kou2023"), out: Path = _OUT,
                  scale: str = typer.Option("small", help="tiny | small | full (full = the published grid)"),
                  chunk_size: int | None = typer.Option(None, help="runs per compiled call"),
                  progress: bool = _PROGRESS, cache: bool = _CACHE, executor: str = _EXECUTOR,
                  address: str | None = _ADDRESS,
                  plot: bool = typer.Option(True, "--plot/--no-plot", help="also draw OUT/figures/NAME.png")) -> None:
    """Run a published protocol (docs/science.md, "The published protocol") and draw its figure.

    A resumable sweep; runs that differ only in d share one d-independent compiled program (final
    metrics of fixed-output plain-GD runs), so the full kou2023 grid compiles once."""
    from .protocols import protocol

    ds: Any
    try:
        grid, seeds, fixed = protocol(name, scale)
        ds = _run_sweep({"grid": grid, "seeds": seeds, "fixed": fixed}, out, chunk_size, progress, cache, executor, address)
        typer.echo(f"{out / 'results.nc'}: {dict(ds.sizes)}")
        if plot:
            from . import plot as bp
            from .analysis.compare import figure_fits

            path = out / "figures" / f"{name}.png"
            fits = figure_fits(ds, "kou2023")
            bp.phase_diagram(ds, "d", "mu_norm", boundary=fits.boundary, constants=fits.constants, calibrated=fits.calibrated,
                             theory=fits.theory, path=path, title=f"{name} protocol, scale {scale}")
            b = fits.boundary
            typer.echo(f"{path}: " + ("no measured boundary (phi undefined)" if b is None else
                       f"measured boundary Phi = n|mu|^4/(sigma_p^4 d) = {b.estimate:.3g} "
                       f"(95% CI [{b.ci_low:.3g}, {b.ci_high:.3g}]; benign: test error <= p + {fits.tol:g})"))
    except (ValueError, KeyError, OSError) as e:
        _fail(e)


@app.command("info")
def info_cmd() -> None:
    """Version, JAX devices and precision."""
    import jax

    import benign

    from .run.store import netcdf_engine

    typer.echo(f"benign {benign.__version__} (python {sys.version.split()[0]}, jax {jax.__version__})")
    typer.echo(f"devices: {', '.join(str(d) for d in jax.devices())} (backend {jax.default_backend()})")
    typer.echo("precision: float32 by default, float64 with precision='float64'")
    typer.echo(f"cpu cores: {os.cpu_count()}")
    from .run import cache

    typer.echo(f"compile cache: {cache.default_path() or 'off'} (set {cache.ENV}=0 to switch it off)")
    try:
        typer.echo(f"netCDF engine: {netcdf_engine()}")
    except ImportError as e:
        typer.echo(f"netCDF engine: none ({e})")
    for mod in ("theory", "analysis", "core.coef"):
        try:
            __import__(f"benign.{mod}")
            ok = "yes"
        except ImportError as e:
            ok = f"no ({e})"
        typer.echo(f"benign.{mod}: {ok}")


if __name__ == "__main__":
    app()
