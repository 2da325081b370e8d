"""Where a sweep's chunks run: in this process, or as Ray tasks on a cluster.

An executor takes a list of :class:`Task` (the flat run indices of one chunk, its padded size and the
run configs) and yields ``(task, arrays)`` pairs *as chunks finish*, in any order; the sweep driver
is the only writer of the results store, so a chunk is stored once however often a task was retried.

:func:`run_chunk` is what every executor computes for a task. :func:`local_executor` runs the chunks
one after the other in this process; each chunk's batch is
  spread over every local JAX device by :func:`benign.run.batch.run_group`.
- :func:`ray_executor` submits one Ray task per chunk (``ray`` is an optional extra:
  ``pip install benign[ray]``). Ray re-runs a task whose worker died (``max_retries``); results are
  pure functions of the configs, so a retried chunk has the same keys, data and initialisation, and
  numbers equal to rounding (a worker on another machine may run a differently optimised program).

A chunk computed by any executor has the same keys, data and initialisation as the same runs in
:func:`benign.simulate`; its numbers are equal to rounding (XLA does not promise bitwise-equal
floats across batch shapes, devices or machines).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.config import Config
from .batch import final_metrics, run_group
from .final import bucketable, final_as_records

EXECUTORS = ("local", "ray")
#: Per-neuron trajectories (K, 2, m) are reduced to their mean over the 2m neurons (``a``: of |a|).
_NEURON_RENAME = {"a": "a_norm"}
_SKIP_TRAJ = ("steps", "first_bad", "stopped", "first_interp", "W", "a_final", "b_final")


@dataclass(frozen=True)
class Task:
    """One chunk of a sweep.

    index: (B,) int64 flat run indices; size: padded batch size of the compiled call (>= B);
    configs: the B run configurations (same static fields); trajectories: also return ``traj_*``.
    """

    index: np.ndarray
    size: int
    configs: tuple[Config, ...]
    trajectories: bool


def _reduce_traj(key: str, v: np.ndarray) -> tuple[str, np.ndarray]:
    """(B, K) trajectories pass through; (B, K, ...) per-neuron ones become their neuron mean."""
    if v.ndim == 2:
        return key, v
    flat = v.reshape(v.shape[0], v.shape[1], -1)
    return _NEURON_RENAME.get(key, key), np.mean(np.abs(flat) if key == "a" else flat, axis=-1)


def run_chunk(configs: Sequence[Config], size: int, trajectories: bool) -> dict[str, np.ndarray]:
    """Run ``configs`` (same static fields) as one batch padded to ``size`` runs.

    Runs that are all :func:`benign.run.final.bucketable` (and no trajectories) go through
    :func:`benign.run.final.run_final` (configs may then differ in ``d``); the rest through
    :func:`benign.run.batch.run_group`. Returns name -> array with leading axis ``len(configs)``: every final metric of
    :func:`benign.run.result.final_metrics` (and the last value of any extra scalar trajectory) and,
    if ``trajectories``, ``traj_<name>`` arrays (len(configs), K) of per-checkpoint scalars.
    """
    n = len(configs)
    padded = list(configs) + [configs[-1]] * (size - n)
    if not trajectories and all(bucketable(c) for c in configs):  # one d-independent program (any mix of d)
        res = final_as_records(padded)
    else:
        res = run_group(padded, progress=False)  # the sweep shows its own progress bar
    out: dict[str, list] = {}
    traj_keys = [k for k in res if k not in _SKIP_TRAJ]
    for i, cfg in enumerate(configs):
        tr = {k: res[k][i] for k in traj_keys}
        fm = final_metrics(cfg, tr, {k: int(res[k][i]) for k in ("first_bad", "stopped", "first_interp")})
        for k in traj_keys:
            if res[k].ndim == 2 and k not in fm:
                fm[k] = float(res[k][i, -1])
        for k, v in fm.items():
            out.setdefault(k, []).append(v)
    arrays = {k: np.asarray(v) for k, v in out.items()}
    if trajectories:
        for k in traj_keys:
            name, v = _reduce_traj(k, np.asarray(res[k][:n], np.float64))
            arrays[f"traj_{name}"] = v
        if "w_norm" in res and "a" in res:
            with np.errstate(divide="ignore", invalid="ignore"):  # the ratio of the mean norms
                arrays["traj_ratio"] = (np.mean(res["w_norm"][:n], axis=(-2, -1)) / np.mean(np.abs(res["a"][:n]), axis=(-2, -1))).astype(np.float64)
    return arrays


def run_task(task: Task) -> dict[str, np.ndarray]:
    """Compute one chunk (the function every executor calls, locally or in a Ray worker)."""
    return run_chunk(list(task.configs), task.size, task.trajectories)


def local_executor(tasks: Sequence[Task], fn: Callable[[Task], dict] = run_task) -> Iterator[tuple[Task, dict]]:
    """Run ``tasks`` one after the other in this process."""
    for task in tasks:
        yield task, fn(task)


def _ray_worker(task: Task, fn: Callable[[Task], dict] = run_task) -> dict[str, np.ndarray]:
    # A fresh worker process imports benign (and so enables x64) before computing.
    import benign  # noqa: F401

    return fn(task)


def ray_executor(
    tasks: Sequence[Task],
    address: str | None = None,
    max_retries: int = 3,
    max_in_flight: int | None = None,
    num_cpus_per_task: float = 1.0,
    init_kwargs: dict[str, Any] | None = None,
    fn: Callable[[Task], dict] = run_task,
) -> Iterator[tuple[Task, dict]]:
    """Run ``tasks`` as Ray tasks (one per chunk), yielding each as soon as it finishes.

    address: a running cluster (``ray start --head`` prints it; ``"auto"`` finds the local one);
    ``None`` connects to ``RAY_ADDRESS`` if set, else starts a local Ray instance.
    max_retries: re-runs of a task whose worker process died (Ray's system-failure retries; an
    exception raised by the computation itself is not retried and propagates).
    max_in_flight: at most this many submitted, unfinished tasks (default: 2 x cluster CPUs), so the
    driver's memory stays bounded on huge sweeps.
    fn: what a worker computes for a task (default :func:`run_task`); a picklable callable
    ``Task -> arrays`` wrapping it, e.g. to log or profile each task on the workers.
    """
    try:
        import ray
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("executor='ray' needs Ray: pip install 'benign[ray]'") from e
    if not ray.is_initialized():
        kw = dict(init_kwargs or {})
        kw.setdefault("ignore_reinit_error", True)
        kw.setdefault("log_to_driver", False)
        if address is not None:
            kw["address"] = address
        ray.init(**kw)
    remote = ray.remote(max_retries=max_retries, num_cpus=num_cpus_per_task)(_ray_worker)
    if max_in_flight is None:
        max_in_flight = max(2, int(2 * ray.cluster_resources().get("CPU", 1)))
    pending: dict[Any, Task] = {}
    queue = list(tasks)[::-1]
    while queue or pending:
        while queue and len(pending) < max_in_flight:
            task = queue.pop()
            pending[remote.remote(task, fn)] = task
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            task = pending.pop(ref)
            yield task, ray.get(ref)


def get_executor(name: str, **options: Any) -> Callable[[Sequence[Task]], Iterator[tuple[Task, dict]]]:
    """The executor called ``name`` (``'local'`` or ``'ray'``) with its ``options`` bound."""
    if name == "local":
        if options:
            raise ValueError(f"executor='local' takes no options, got {sorted(options)}")
        return local_executor
    if name == "ray":
        return lambda tasks: ray_executor(tasks, **options)
    raise ValueError(f"executor={name!r} is invalid: allowed values are {', '.join(map(repr, EXECUTORS))}")
