"""Early stopping: the checkpoint with the lowest test error, for one run or for every run of a sweep.

Test errors are recorded at every checkpoint (log-spaced steps), so the best early-stopped network of
a run is the checkpoint with the smallest recorded test error. Ties go to the earliest such step.
Checkpoints whose test error is NaN (after a divergence) are skipped; a run with no finite error has
best step -1 and best error NaN.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class BestStep(NamedTuple):
    """The best checkpoint of a run by test error.

    step: the step (int; -1 when no checkpoint has a finite test error); test_error: the error there
    (float, NaN when none); final_test_error: the error at the last checkpoint (float).
    """

    step: int
    test_error: float
    final_test_error: float


def _best(err: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best (step, error) along the last axis of ``err`` (..., K) with checkpoint ``steps`` (K,)."""
    finite = np.isfinite(err)
    masked = np.where(finite, err, np.inf)
    idx = np.argmin(masked, axis=-1)  # first minimum: the earliest step among ties
    best = np.take_along_axis(masked, idx[..., None], axis=-1)[..., 0]
    anyf = finite.any(axis=-1)
    return np.where(anyf, np.asarray(steps)[idx], -1), np.where(anyf, best, np.nan)


def best_step(result_or_dataset: Any, var: str = "test_error") -> Any:
    """The checkpoint with the lowest test error.

    Args:
        result_or_dataset: a :class:`benign.Result` (its ``trajectory[var]`` (K,) and ``steps`` (K,)),
            or a sweep's ``xarray.Dataset`` stored with ``trajectories=True`` (variable ``traj_<var>``
            with a ``step`` dimension).
        var: the trajectory to minimise: ``'test_error'`` (default) or ``'test_error_clean'``.

    Returns:
        For a Result, a :class:`BestStep`. For a Dataset, an ``xarray.Dataset`` on the run dimensions
        (every dimension but ``step``) with ``best_step`` (int64), ``best_test_error`` and
        ``final_test_error`` (float64).

    Raises:
        ValueError: a Dataset without ``traj_<var>`` or a Result without ``var``.
    """
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - xarray is a dependency
        xr = None
    if xr is not None and isinstance(result_or_dataset, xr.Dataset):
        ds = result_or_dataset
        name = f"traj_{var}"
        if name not in ds or "step" not in ds[name].dims:
            raise ValueError(f"result_or_dataset has no {name!r} over 'step': run the sweep with trajectories=True")
        da = ds[name].transpose(..., "step")
        err = np.asarray(da.values, float)
        step, best = _best(err, np.asarray(ds["step"].values))
        dims = da.dims[:-1]
        coords = {k: v for k, v in da.coords.items() if "step" not in v.dims}
        return xr.Dataset({"best_step": (dims, step.astype(np.int64)), "best_test_error": (dims, best),
                           "final_test_error": (dims, err[..., -1])}, coords=coords)
    traj = getattr(result_or_dataset, "trajectory", None)
    if traj is None or var not in traj:
        raise ValueError(f"result_or_dataset must be a benign.Result with trajectory[{var!r}] or a sweep Dataset, "
                         f"got {type(result_or_dataset).__name__}")
    err = np.asarray(traj[var], float)
    step, best = _best(err, np.asarray(result_or_dataset.steps))
    return BestStep(int(step), float(best), float(err[-1]))
