"""Phase-diagram sweeps: a cartesian grid over any simulator arguments, as labelled, resumable data.

:func:`sweep` crosses a ``grid`` (argument name -> list of values) with ``seeds`` and ``fixed``
arguments, groups the runs by their static fields (shapes and structure: one compiled program per
group), splits each group into chunks of at most ``chunk_size`` runs (the last chunk padded so one
compile serves every chunk), and returns an ``xarray.Dataset`` with one dimension per grid argument
plus ``seed``. With ``out=DIR`` each finished chunk is saved at once (see :mod:`benign.run.store`),
so re-running the same call after an interruption computes only the missing chunks and ends with
the same ``DIR/results.nc`` (byte for byte) as an uninterrupted run with the same ``chunk_size``.
Every run's random key comes from its configuration and seed, never from its position in a batch,
so whatever ``chunk_size`` or executor, a run has the same keys, data and initialisation as
:func:`benign.simulate` on the same cell, and its numbers are equal to rounding (XLA does not
promise bitwise-equal floats across batch shapes or devices).

The axis order of ``grid`` is part of a sweep's identity (its dims and the flat run indices of
the stored chunks follow it): resuming a results directory with the same grid written in another
key order is refused with a message giving the stored order.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.config import Config, make_config
from ..core.dynamics import checkpoint_steps
from . import executors
from . import store as _store
from .executors import Task

#: Grid keys that cannot be swept.
_RESERVED = ("seed", "mu", "mu_vec")


@dataclass(frozen=True)
class Plan:
    """A resolved sweep: the grid axes, the seeds and one :class:`Config` per run.

    ``configs`` is flat in C order over ``shape = (len(axis) for axis in grid) + (len(seeds),)``.
    ``groups`` maps each distinct static config to the flat indices of its runs (ascending).
    """

    grid: dict[str, list]
    seeds: list[int]
    fixed: dict[str, Any]
    configs: list[Config]
    groups: dict[Config, np.ndarray]

    @property
    def dims(self) -> tuple[str, ...]:
        return (*self.grid, "seed")

    @property
    def shape(self) -> tuple[int, ...]:
        return (*(len(v) for v in self.grid.values()), len(self.seeds))


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


#: Arguments of :func:`benign.make_config` that are not :class:`Config` fields (all real numbers).
_NUMERIC_ALIASES = ("snr", "mu_norm", "eta", "eta_w", "eta_a")


def _expected_kinds(name: str) -> set[str] | None:
    """What values argument ``name`` takes: a subset of ``{"number", "str", "bool", "none"}``
    (from :class:`Config`'s annotations), or None for an unknown name (``make_config`` rejects it)."""
    if name in _NUMERIC_ALIASES:
        return {"number"}
    fields = {f.name: f for f in dataclasses.fields(Config)}
    if name not in fields:
        return None
    ann = str(fields[name].type)
    kinds = set()
    if re.search(r"\b(int|float)\b", ann):
        kinds.add("number")
    if re.search(r"\bstr\b", ann):
        kinds.add("str")
    if re.search(r"\bbool\b", ann):
        kinds.add("bool")
    if "None" in ann:
        kinds.add("none")
    return kinds or None


def _kind(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(v, str):
        return "str"
    return type(v).__name__


def _check_value(where: str, name: str, v: Any, allow_none: bool) -> None:
    """ValueError unless ``v`` has a type argument ``name`` takes (a string where a number is
    expected, a bool for a number, None in a grid axis ...)."""
    kinds = _expected_kinds(name)
    if kinds is None:
        return
    if not allow_none:
        kinds = kinds - {"none"}
    k = _kind(v)
    if k not in kinds:
        want = {"number": "a real number", "str": "a string", "bool": "true/false", "none": "None"}
        allowed = " or ".join(want[x] for x in sorted(kinds))
        raise ValueError(f"{where} has {v!r} ({k}): {name} takes {allowed}")


def _check_seeds(seeds: Any) -> list[int]:
    """The seed list of ``seeds`` (a count >= 1 or a list of distinct non-negative integers)."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, (bool, np.bool_)):
        if seeds < 1:
            raise ValueError(f"seeds={seeds!r} is invalid: give a number of seeds >= 1 or a list of seeds")
        return list(range(int(seeds)))
    if isinstance(seeds, (str, bytes, Mapping)) or not isinstance(seeds, (Sequence, np.ndarray, range)):
        raise ValueError(f"seeds={seeds!r} is invalid: give a number of seeds (an integer >= 1) or a list of integers")
    bad = [s for s in seeds if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer))]
    if bad:
        raise ValueError(f"seeds={seeds!r} is invalid: every seed must be an integer, got {bad[0]!r}")
    seed_list = [int(s) for s in seeds]
    if not seed_list or len(set(seed_list)) != len(seed_list):
        raise ValueError(f"seeds={seeds!r} is invalid: give a non-empty list of distinct integers")
    return seed_list


def _distinct(vals: list) -> bool:
    """True if no two values are equal (``1`` and ``1.0`` are equal)."""
    try:
        return len(set(vals)) == len(vals)
    except TypeError:  # unhashable values
        return len(set(map(repr, vals))) == len(vals)


def make_plan(grid: Mapping[str, Sequence[Any]], seeds: int | Sequence[int] = 1, **fixed: Any) -> Plan:
    """Validate the sweep and build every run's :class:`Config` before any compute.

    A ``fixed`` argument that is also a grid key is overridden by the grid (and left out of the
    stored fixed arguments).

    Raises ``ValueError`` naming the offending grid key or argument: an empty grid, an empty axis,
    ``None`` or a value of the wrong type in an axis (e.g. the string ``"0.1"`` for ``snr``; string
    axes such as ``activation`` take strings), equal coordinates (``[1, 1.0]``), seeds that are
    not integers (``"10"``, ``[1.7, 2.2]``), and anything :func:`benign.make_config` refuses.
    """
    if not isinstance(grid, Mapping):
        raise ValueError(f"grid must be a mapping from argument name to a list of values, got {type(grid).__name__}")
    if not grid:
        raise ValueError("grid is empty: give at least one argument to sweep, e.g. {'snr': [0.05, 0.1]} "
                         "(benign.simulate / simulate_batch run single configurations)")
    g: dict[str, list] = {}
    for k, vals in grid.items():
        if not isinstance(k, str):
            raise ValueError(f"grid key {k!r} must be an argument name (str)")
        if k in _RESERVED:
            raise ValueError(f"grid key {k!r} cannot be swept: use seeds=... for seeds and mu_norm/snr for the signal")
        if isinstance(vals, (str, bytes)) or not isinstance(vals, (Sequence, np.ndarray, range)) or len(vals) == 0:
            raise ValueError(f"grid[{k!r}] must be a non-empty list of values, got {vals!r}")
        vals = [_plain(v) for v in vals]
        for v in vals:
            if v is None:
                raise ValueError(f"grid[{k!r}] contains None: give explicit values (a missing value is not replaced by the default)")
            _check_value(f"grid[{k!r}]", k, v, allow_none=False)
        if not _distinct(vals):
            raise ValueError(f"grid[{k!r}] has repeated values {vals!r} (equal coordinates such as 1 and 1.0 count as repeated)")
        g[k] = vals
    if "mu" in fixed:
        raise ValueError("fixed argument 'mu' (a vector) is not supported by sweep; use mu_norm or snr")
    seed_list = _check_seeds(seeds)
    fixed = {k: _plain(v) for k, v in fixed.items() if k not in g}  # a swept argument overrides a fixed one
    for k, v in fixed.items():
        _check_value(f"argument {k}", k, v, allow_none=True)
    configs = []
    for vals in itertools.product(*g.values()):
        cell = dict(zip(g, vals))
        for s in seed_list:
            configs.append(make_config(**fixed, **cell, seed=s))
    groups: dict[Config, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault(c.static(), []).append(i)
    return Plan(g, seed_list, fixed, configs, {k: np.asarray(v, np.int64) for k, v in groups.items()})


def spec_of(plan: Plan, trajectories: bool, theory: str | None) -> dict[str, Any]:
    """What identifies a sweep's results (the store's fingerprint is taken over it)."""
    from .. import __version__

    # ``dims`` binds the axis order (the fingerprint sorts mapping keys; chunk indices follow the order)
    return {"format": _store.FORMAT, "version": __version__, "grid": plan.grid, "dims": list(plan.grid),
            "seeds": plan.seeds, "fixed": plan.fixed, "trajectories": bool(trajectories), "theory": theory}


def make_tasks(plan: Plan, done: np.ndarray, chunk_size: int, trajectories: bool) -> list:
    """The chunks still to compute: per static group, the runs not ``done`` in pieces of
    :func:`chunk_len` (the padded size depends only on the group, so a resumed sweep reuses compiles).

    Without trajectories, the groups of :func:`benign.run.final.bucketable` runs that differ only in
    ``d`` are merged into one: their chunks run through one d-independent compiled program
    (:func:`benign.run.final.run_final`), so a sweep over many ``d`` compiles once."""
    tasks = []
    groups = list(plan.groups.items())
    if not trajectories:  # final metrics only: runs that differ only in d share one d-independent program
        from .final import bucket_key, bucketable

        merged: dict[Config, list[np.ndarray]] = {}
        for static, idx in groups:
            merged.setdefault(bucket_key(static) if bucketable(static) else static, []).append(idx)
        groups = [(k, np.sort(np.concatenate(v))) for k, v in merged.items()]
    for _, idx in groups:
        size = chunk_len(len(idx), chunk_size)
        todo = idx[~done[idx]]
        for start in range(0, len(todo), size):
            part = todo[start:start + size]
            tasks.append(Task(part, size, tuple(plan.configs[i] for i in part), trajectories))
    return tasks


def _executor(executor: str | Callable, options: Mapping[str, Any] | None):
    """``executor``: ``'local'`` (this process), ``'ray'`` (``benign.executors``) or a callable
    ``tasks -> iterator of (task, arrays)`` yielding chunks as they finish, in any order."""
    if callable(executor):
        return executor
    return executors.get_executor(executor, **dict(options or {}))


def chunk_len(group_size: int, chunk_size: int) -> int:
    """Runs per compiled call for a group: the fewest chunks of at most ``chunk_size``, balanced
    (e.g. 136 runs with chunk_size 128 -> 2 chunks of 68, the last padded only when uneven)."""
    n_chunks = -(-group_size // chunk_size)
    return -(-group_size // n_chunks)


def _checkpoints(plan: Plan) -> np.ndarray:
    steps = {tuple(checkpoint_steps(s.steps, s.n_checkpoints)) for s in plan.groups}
    if len(steps) > 1:
        raise ValueError("trajectories=True needs the same steps and n_checkpoints in every cell (the 'step' dimension is shared)")
    return np.asarray(steps.pop(), np.int64)


def pick_theory(plan: Plan, theory: str | None = "auto") -> str | None:
    """Theory used for the per-cell predictions: ``'auto'`` picks ``cao2022`` for polynomial ReLU
    (q > 2), ``shang2024`` when every cell trains its output layer, else ``kou2023``."""
    if theory != "auto":
        return theory
    statics = list(plan.groups)
    if all(s.activation == "poly_relu" for s in statics):
        return "cao2022" if all(s.q > 2 for s in statics) else None
    return "shang2024" if all(s.train_output for s in statics) else "kou2023"


def sweep(
    grid: Mapping[str, Sequence[Any]],
    seeds: int | Sequence[int] = 1,
    out: str | None = None,
    *,
    chunk_size: int = 128,
    trajectories: bool = False,
    progress: bool = True,
    theory: str | None = "auto",
    on_chunk: Callable[[dict[str, Any]], None] | None = None,
    executor: str | Callable = "local",
    executor_options: Mapping[str, Any] | None = None,
    **fixed: Any,
):
    """Run a cartesian sweep and return it as an ``xarray.Dataset``.

    Args:
        grid: argument name -> list of values; any :func:`benign.simulate` argument (``snr``,
            ``mu_norm``, ``n``, ``d``, ``m``, ``init_scale``, ``eta``, ``activation`` ...).
        seeds: number of seeds (``0 .. seeds-1``) or a list of seeds.
        out: results directory (created; resumed if it holds this sweep; ``None``: keep in memory).
            The sweep holds an exclusive lock on it: a second process writing the same directory
            gets a ``StoreError`` naming the holder (pid, host).
        chunk_size: at most this many runs per compiled call (bounds memory); the numbers are
            equal to rounding whatever the chunk size (same keys, data and initialisation).
        trajectories: also store per-checkpoint scalar trajectories ``traj_*`` with a ``step`` dim.
        progress: show a tqdm bar (runs done, rate, time left).
        theory: name in ``benign.theory.THEORIES``, ``'auto'`` (see :func:`pick_theory`) or ``None``.
        on_chunk: called after each chunk is stored with ``{"done", "total", "chunk", "path",
            "quarantined"}``; ``quarantined`` lists the damaged chunks found on resume (dicts with
            ``path``, ``moved_to`` in ``chunks/quarantine/``, ``reason``, ``runs``), whose runs
            are recomputed (a :class:`benign.run.store.StoreWarning` names each one too).
        executor: where chunks run: ``'local'`` (this process, default), ``'ray'`` (see
            ``benign.executors``; ``executor_options`` go to it) or a callable ``tasks ->
            iterator of (task, arrays)``. Only this process writes the results directory.
        **fixed: arguments shared by every run.

    Returns:
        Dataset with dims ``(*grid, "seed")``; variables: the final metrics (float64;
        ``diverged`` bool, ``diverged_step`` int64), theory predictions per cell (``phi``,
        ``regime_theory``, ``lower_bound``, ``upper_bound``, ``cond_*`` over the grid dims) and
        optional ``traj_*`` (..., step); non-dimension coordinates for derived arguments that vary
        (e.g. ``mu_norm`` when sweeping ``snr``); attrs: constant arguments, ``fixed``/``grid`` as
        JSON, ``benign_version``, ``fingerprint``.

    Raises:
        ValueError: for invalid arguments (see :func:`make_plan`), ``chunk_size``, ``theory``,
            ``executor`` or ``out`` (``""``), before any compute or file is created.
        benign.run.store.StoreError: (a ``ValueError``) when ``out`` is locked by another process
            (the message names its pid and host), holds another sweep (or the same grid in
            another key order), or is not a results directory.
        RuntimeError: when a custom executor returns fewer runs than it was given (the finished
            chunks are stored; running the sweep again computes the rest).
    """
    from tqdm.auto import tqdm

    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} is invalid: give an integer >= 1")
    if out is not None and (not isinstance(out, (str, os.PathLike)) or str(out) == ""):
        raise ValueError(f"out={out!r} is invalid: give a results directory path, or out=None to keep the results in memory")
    _executor(executor, executor_options)  # validate before any compute
    plan = make_plan(grid, seeds, **fixed)
    theory = pick_theory(plan, theory)
    _check_theory(theory)
    steps = _checkpoints(plan) if trajectories else None
    spec = spec_of(plan, trajectories, theory)
    if out is None:
        return _run(plan, spec, None, chunk_size, trajectories, progress, theory, steps, on_chunk, executor, executor_options, tqdm)
    with _store.open_store(out, spec) as store:  # holds the directory's lock until the end
        return _run(plan, spec, store, chunk_size, trajectories, progress, theory, steps, on_chunk, executor, executor_options, tqdm)


def _run(plan: Plan, spec: dict[str, Any], store: _store.Store | None, chunk_size: int, trajectories: bool,
         progress: bool, theory: str | None, steps: np.ndarray | None, on_chunk, executor, executor_options, tqdm):
    """The body of :func:`sweep` once validated (and, with a store, locked)."""
    n_runs = len(plan.configs)
    if store is not None:
        ds = store.read_results()
        if ds is not None:
            return ds
    results: dict[int, dict[str, np.ndarray]] = {}
    done = np.zeros(n_runs, bool)
    if store is not None:
        for index, arrays in store.read_chunks(n_runs):
            results[int(index[0])] = {"__index__": index, **arrays}
            done[index] = True
    quarantined = list(store.quarantined) if store is not None else []
    tasks = make_tasks(plan, done, chunk_size, trajectories)
    bar = tqdm(total=n_runs, initial=int(done.sum()), unit="run", desc="sweep", disable=not progress, dynamic_ncols=True)
    try:
        for task, arrays in _executor(executor, executor_options)(tasks):
            part = np.asarray(task.index, np.int64)
            if done[part].any():
                raise RuntimeError(f"the executor returned runs {part[done[part]].tolist()} twice; the stored chunks are kept")
            path = store.write_chunk(part, arrays) if store is not None else None
            results[int(part[0])] = {"__index__": part, **arrays}
            done[part] = True
            bar.update(len(part))
            if on_chunk is not None:
                on_chunk({"done": int(done.sum()), "total": n_runs, "chunk": len(results), "path": path,
                          "quarantined": quarantined})
    finally:
        bar.close()
    if not done.all():
        kept = " (the finished chunks are stored: run the sweep again to compute the rest)" if store is not None else ""
        raise RuntimeError(f"the executor returned {int(done.sum())} of {n_runs} runs{kept}")
    ds = assemble(plan, list(results.values()), theory, steps)
    ds.attrs["fingerprint"] = _store.fingerprint(spec)
    if store is not None:
        store.write_results(ds)
        return store.read_results()
    return ds


def _check_theory(theory: str | None) -> None:
    from .. import theory as th

    if theory is not None and theory not in getattr(th, "THEORIES", {theory: None}):
        raise ValueError(f"theory={theory!r} is invalid: give 'auto', None or one of {sorted(th.THEORIES)}")


def _attr(v: Any) -> Any:
    """A netCDF-storable attribute value (bools as 0/1, None as '')."""
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    return "" if v is None else v


def _coord(values: list) -> np.ndarray:
    arr = np.asarray(values)
    return arr.astype(str) if arr.dtype == object else arr


def _theory_vars(plan: Plan, theory: str | None, cells: list[Config]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Per-cell predictions of ``theory`` (name -> array over the grid shape) and attrs describing them."""
    if theory is None:
        return {}, {"theory": "none"}
    try:
        import pandas as pd

        from .. import theory as th

        pred = th.predict(pd.DataFrame([c.to_dict() for c in cells]), theory=theory)
    except (ImportError, AttributeError, ValueError, TypeError, KeyError) as e:
        return {}, {"theory": theory, "theory_error": f"predictions unavailable: {e}"}
    gshape = plan.shape[:-1]
    out = {}
    for col in pred.columns:
        v = pred[col].to_numpy()
        v = v.astype(str) if v.dtype == object else v
        out[col] = v.reshape(gshape)
    return out, {"theory": theory, "theory_source": str(pred.attrs.get("source", ""))}


def assemble(plan: Plan, chunks: list[dict[str, np.ndarray]], theory: str | None, steps: np.ndarray | None):
    """Build the labelled ``xarray.Dataset`` from finished chunks (each with an ``__index__`` array).

    The result depends only on the per-run numbers, never on how the runs were chunked. Every variable
    and coordinate carries ``long_name`` and ``units`` attributes (:func:`benign.run.variables.describe`).
    """
    import json

    import xarray as xr

    from .. import __version__
    from .variables import describe

    n_runs, shape, dims = len(plan.configs), plan.shape, plan.dims
    chunks = sorted(chunks, key=lambda c: int(c["__index__"][0]))
    covered = np.zeros(n_runs, int)
    for c in chunks:
        covered[c["__index__"]] += 1
    if not (covered == 1).all():
        raise ValueError(f"internal error: {int((covered != 1).sum())} runs are missing or duplicated")
    first = [k for k in chunks[0] if k != "__index__"]
    names = first + sorted({k for c in chunks for k in c} - set(first) - {"__index__"})
    data_vars: dict[str, Any] = {}
    for name in names:
        parts = [c[name] for c in chunks if name in c]
        dtype = parts[0].dtype if len(parts) == len(chunks) else np.dtype(np.float64)
        tail = parts[0].shape[1:]
        full = np.full((n_runs, *tail), np.nan if dtype.kind == "f" else 0, dtype)
        for c in chunks:
            if name in c:
                full[c["__index__"]] = c[name]
        if name.startswith("traj_"):
            data_vars[name] = ((*dims, "step"), full.reshape(*shape, *tail))
        else:
            data_vars[name] = (dims, full.reshape(shape))
    n_seeds = len(plan.seeds)
    cells = plan.configs[::n_seeds]
    grid_dims = tuple(plan.grid)
    theory_vars, theory_attrs = _theory_vars(plan, theory, cells)
    for k, v in theory_vars.items():
        data_vars.setdefault(k, (grid_dims, v))
    coords: dict[str, Any] = {k: _coord(v) for k, v in plan.grid.items()}
    coords["seed"] = np.asarray(plan.seeds, np.int64)
    if steps is not None:
        coords["step"] = steps
    attrs: dict[str, Any] = {"benign_version": __version__, "grid": json.dumps(plan.grid), "fixed": json.dumps(plan.fixed, sort_keys=True),
                             "trajectories": int(steps is not None), **theory_attrs}
    rows = [c.to_dict() for c in cells]
    for key in rows[0]:
        if key in plan.grid or key == "seed":
            continue
        vals = [r[key] for r in rows]
        if all(v == vals[0] for v in vals):
            attrs[key] = _attr(vals[0])
        else:
            coords[key] = (grid_dims, _coord(vals).reshape(shape[:-1]))
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    for name in ds.variables:  # long_name / units on every variable and coordinate
        ds[name].attrs = {**describe(str(name), sweep=True), **ds[name].attrs}
    return ds
