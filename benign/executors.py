"""Where a sweep's chunks run: in this process, or as Ray tasks on a cluster.

An executor takes a list of :class:`Task` (the flat run indices of one chunk, its padded size and the
run configs) and yields ``(task, arrays)`` pairs *as chunks finish*, in any order; the sweep driver
is the only writer of the results store, so a chunk is stored once however often a task was retried.

- :func:`local_executor` runs the chunks one after the other in this process; each chunk's batch is
  spread over every local JAX device by :func:`benign.simulate.run_group`.
- :func:`ray_executor` submits one Ray task per chunk (``ray`` is an optional extra:
  ``pip install benign[ray]``). Ray re-runs a task whose worker died (``max_retries``); results are
  pure functions of the configs, so a retried chunk gives the same numbers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .config import Config

EXECUTORS = ("local", "ray")


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


def run_task(task: Task) -> dict[str, np.ndarray]:
    """Compute one chunk (the function every executor calls, locally or in a Ray worker)."""
    from .sweep import run_chunk

    return run_chunk(list(task.configs), task.size, task.trajectories)


def local_executor(tasks: Sequence[Task], fn: Callable[[Task], dict] = run_task) -> Iterator[tuple[Task, dict]]:
    """Run ``tasks`` one after the other in this process."""
    for task in tasks:
        yield task, fn(task)


def _ray_worker(task: Task) -> dict[str, np.ndarray]:
    # A fresh worker process imports benign (and so enables x64) before computing.
    import benign  # noqa: F401

    hook = os.environ.get("BENIGN_TEST_TASK_HOOK")
    if hook:  # tests only: lets a test observe (and kill) the worker running a task
        with open(hook, "a") as fh:
            fh.write(f"{os.getpid()} {int(task.index[0])}\n")
        delay = float(os.environ.get("BENIGN_TEST_TASK_DELAY", "0"))
        if delay:
            import time

            time.sleep(delay)
    return run_task(task)


def ray_executor(
    tasks: Sequence[Task],
    address: str | None = None,
    max_retries: int = 3,
    max_in_flight: int | None = None,
    num_cpus_per_task: float = 1.0,
    init_kwargs: dict[str, Any] | None = None,
) -> Iterator[tuple[Task, dict]]:
    """Run ``tasks`` as Ray tasks (one per chunk), yielding each as soon as it finishes.

    address: a running cluster (``ray start --head`` prints it; ``"auto"`` finds the local one);
    ``None`` connects to ``RAY_ADDRESS`` if set, else starts a local Ray instance.
    max_retries: re-runs of a task whose worker process died (Ray's system-failure retries; an
    exception raised by the computation itself is not retried and propagates).
    max_in_flight: at most this many submitted, unfinished tasks (default: 2 x cluster CPUs), so the
    driver's memory stays bounded on huge sweeps.
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
            pending[remote.remote(task)] = task
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
