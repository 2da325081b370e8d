"""Phase-diagram sweeps: a cartesian grid over any simulator arguments, as labelled, resumable data.

:func:`sweep` crosses a ``grid`` (argument name -> list of values) with ``seeds`` and ``fixed``
arguments, groups the runs by their static fields (shapes and structure: one compiled program per
group), splits each group into chunks of at most ``chunk_size`` runs (the last chunk padded so one
compile serves every chunk), and returns an ``xarray.Dataset`` with one dimension per grid argument
plus ``seed``. With ``out=DIR`` each finished chunk is saved at once (see :mod:`benign.store`), so
re-running the same call after an interruption computes only the missing chunks and ends with the
same ``DIR/results.nc`` as an uninterrupted run. Every run's random key comes from its
configuration and seed, never from its position in a batch, so the numbers do not depend on
``chunk_size`` and equal :func:`benign.simulate` on the same cell.
"""

from __future__ import annotations

import itertools
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


def make_plan(grid: Mapping[str, Sequence[Any]], seeds: int | Sequence[int] = 1, **fixed: Any) -> Plan:
    """Validate the sweep and build every run's :class:`Config` before any compute.

    A ``fixed`` argument that is also a grid key is overridden by the grid (and left out of the
    stored fixed arguments).

    Raises ``ValueError`` naming the offending grid key or argument.
    """
    if not isinstance(grid, Mapping):
        raise ValueError(f"grid must be a mapping from argument name to a list of values, got {type(grid).__name__}")
    g: dict[str, list] = {}
    for k, vals in grid.items():
        if not isinstance(k, str):
            raise ValueError(f"grid key {k!r} must be an argument name (str)")
        if k in _RESERVED:
            raise ValueError(f"grid key {k!r} cannot be swept: use seeds=... for seeds and mu_norm/snr for the signal")
        if isinstance(vals, (str, bytes)) or not isinstance(vals, (Sequence, np.ndarray)) or len(vals) == 0:
            raise ValueError(f"grid[{k!r}] must be a non-empty list of values, got {vals!r}")
        vals = [_plain(v) for v in vals]
        if len(set(map(repr, vals))) != len(vals):
            raise ValueError(f"grid[{k!r}] has repeated values {vals!r}")
        g[k] = vals
    if "mu" in fixed:
        raise ValueError("fixed argument 'mu' (a vector) is not supported by sweep; use mu_norm or snr")
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds={seeds!r} is invalid: give a number of seeds >= 1 or a list of seeds")
        seed_list = list(range(int(seeds)))
    else:
        try:
            seed_list = [int(s) for s in seeds]  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise ValueError(f"seeds={seeds!r} is invalid: give a number of seeds or a list of integers") from None
        if not seed_list or len(set(seed_list)) != len(seed_list):
            raise ValueError(f"seeds={seeds!r} is invalid: give a non-empty list of distinct integers")
    fixed = {k: _plain(v) for k, v in fixed.items() if k not in g}  # a swept argument overrides a fixed one
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

    return {"format": _store.FORMAT, "version": __version__, "grid": plan.grid, "seeds": plan.seeds,
            "fixed": plan.fixed, "trajectories": bool(trajectories), "theory": theory}


def make_tasks(plan: Plan, done: np.ndarray, chunk_size: int, trajectories: bool) -> list:
    """The chunks still to compute: per static group, the runs not ``done`` in pieces of
    :func:`chunk_len` (the padded size depends only on the group, so a resumed sweep reuses compiles)."""
    tasks = []
    for idx in plan.groups.values():
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
        chunk_size: at most this many runs per compiled call (bounds memory); does not change results.
        trajectories: also store per-checkpoint scalar trajectories ``traj_*`` with a ``step`` dim.
        progress: show a tqdm bar (runs done, rate, time left).
        theory: name in ``benign.theory.THEORIES``, ``'auto'`` (see :func:`pick_theory`) or ``None``.
        on_chunk: called with ``{"done", "total", "chunk", "path"}`` after each chunk is stored.
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
    """
    from tqdm.auto import tqdm

    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} is invalid: give an integer >= 1")
    _executor(executor, executor_options)  # validate before any compute
    plan = make_plan(grid, seeds, **fixed)
    theory = pick_theory(plan, theory)
    _check_theory(theory)
    steps = _checkpoints(plan) if trajectories else None
    spec = spec_of(plan, trajectories, theory)
    n_runs = len(plan.configs)
    store = _store.open_store(out, spec) if out is not None else None
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
    tasks = make_tasks(plan, done, chunk_size, trajectories)
    bar = tqdm(total=n_runs, initial=int(done.sum()), unit="run", desc="sweep", disable=not progress, dynamic_ncols=True)
    try:
        for task, arrays in _executor(executor, executor_options)(tasks):
            part = np.asarray(task.index, np.int64)
            path = store.write_chunk(part, arrays) if store is not None else None
            results[int(part[0])] = {"__index__": part, **arrays}
            done[part] = True
            bar.update(len(part))
            if on_chunk is not None:
                on_chunk({"done": int(done.sum()), "total": n_runs, "chunk": len(results), "path": path})
    finally:
        bar.close()
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

    The result depends only on the per-run numbers, never on how the runs were chunked.
    """
    import json

    import xarray as xr

    from .. import __version__

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
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
