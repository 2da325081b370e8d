"""The boundary SNR*(a0) versus the output-layer init scale ``a0``: per-a0 boundaries of a trainable
and a fixed-output sweep, the paired comparison of the two, the hidden/output norm ratio, and the
fit of ``SNR*(a0)`` to "flat below ``a_c``, a power of ``a0`` above".

Every boundary is the one fit of :mod:`benign.analysis.fits` (per-run logistic on ``log SNR``).
Intervals are delete-one-seed jackknife t intervals, as in :mod:`.fits`: runs sharing a seed share
their data and the directions of ``W(0)`` across ``a0``, SNR and model (paired randomness), so the
seeds are the independent units, and a statistic that combines several a0 or both models (a
difference of log boundaries, the fitted exponent) is recomputed with one seed left out each time.

**Piecewise model.** ``log SNR*(a0) = b + kappa * max(0, log a0 - log a_c)``: flat at ``exp(b)``
below ``a_c`` and ``~ a0^kappa`` above. ``a_c`` is found by a grid search over the measured a0 range
(least squares on the log boundaries; at fixed ``a_c`` the model is linear), reported as
``c = a_c / (sigma_0 sqrt d)``.

numpy/pandas (+ scipy.stats for the t quantile, through :mod:`.fits`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .fits import BENIGN_TOL, _jackknife_ci, _run_frame, boundary


def _frame(ds: Any, init_col: str) -> pd.DataFrame:
    """One row per run with an ``init_scale`` column (``init_col`` renamed: ``output_value`` for fixed sweeps)."""
    df = _run_frame(ds)
    if init_col not in df.columns:
        raise ValueError(f"init_col={init_col!r} is not a column of the results; available: {sorted(map(str, df.columns))}")
    if init_col == "init_scale":
        return df
    return df.drop(columns=[c for c in ("init_scale",) if c in df.columns]).rename(columns={init_col: "init_scale"})


def _estimates(df: pd.DataFrame, axis: str, tol: float) -> pd.Series:
    """The boundary estimate on ``axis`` per ``init_scale`` (no interval), indexed by init_scale."""
    return pd.Series({a: boundary(sub, axis, tol=tol, cluster="run").estimate
                      for a, sub in df.groupby("init_scale", sort=True)}, dtype=float)


def _jackknife(df_list: list[pd.DataFrame], stat: Callable[..., np.ndarray], ci: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(theta, low, high)``: ``stat(*frames)`` and its delete-one-seed jackknife t interval."""
    theta = np.asarray(stat(*df_list), dtype=float)
    seeds = np.unique(np.concatenate([d["seed"].to_numpy() for d in df_list]))
    loo = np.array([np.asarray(stat(*[d[d["seed"] != s] for d in df_list]), dtype=float) for s in seeds])
    with np.errstate(invalid="ignore"):
        lo, hi, _ = _jackknife_ci(theta, loo.reshape(len(seeds), -1), ci)
    return theta, np.reshape(lo, theta.shape), np.reshape(hi, theta.shape)


def boundary_table(trainable: Any, fixed: Any | None = None, *, axis: str = "snr", fixed_init: str = "output_value",
                   tol: float = BENIGN_TOL, ci: float = 0.95) -> pd.DataFrame:
    """SNR*(a0) per init scale for the trainable sweep (and the fixed-output sweep at ``a = a0``).

    Args:
        trainable: runs (Dataset/DataFrame) with ``init_scale``, ``axis``, ``test_error``, ``p``, ``seed``.
        fixed: fixed-output runs whose output value is the column ``fixed_init`` (or ``None``).
        axis: the signal axis of the boundary.
        fixed_init: the column of ``fixed`` that holds its output value.
        tol: benign iff ``test_error <= p + tol``.
        ci: nominal coverage of the intervals.

    Returns:
        One row per (model, init_scale): ``model`` (``"trainable"``/``"fixed"``), ``init_scale`` and the
        :class:`~benign.analysis.fits.BoundaryFit` fields (``estimate``, ``ci_low``, ``ci_high`` ...),
        plus ``frac_benign`` (fraction of the non-diverged runs of that a0 that are benign).
        When ``fixed`` is given, the trainable rows also get ``log_ratio_fixed`` = log(SNR*_trainable /
        SNR*_fixed) with its paired seed-jackknife interval (``log_ratio_low``, ``log_ratio_high``).
    """
    from .fits import _labels

    frames = {"trainable": _frame(trainable, "init_scale")}
    if fixed is not None:
        frames["fixed"] = _frame(fixed, fixed_init)
    rows = []
    for model, df in frames.items():
        lab = _labels(df, tol)
        for a0, sub in df.groupby("init_scale", sort=True):
            f = boundary(sub, axis, tol=tol, ci=ci)
            rows.append({"model": model, "init_scale": float(a0), **f.to_dict(),  # type: ignore[arg-type]
                         "frac_benign": float(np.nanmean(lab[df["init_scale"].to_numpy() == a0]))})
    out = pd.DataFrame(rows)
    if fixed is not None:
        tr, fx = frames["trainable"], frames["fixed"]

        def stat(t: pd.DataFrame, f: pd.DataFrame) -> np.ndarray:
            et, ef = _estimates(t, axis, tol), _estimates(f, axis, tol)
            return np.log(et.to_numpy() / ef.reindex(et.index).to_numpy())

        theta, lo, hi = _jackknife([tr, fx], stat, ci)
        idx = out.index[out.model == "trainable"]
        out.loc[idx, "log_ratio_fixed"], out.loc[idx, "log_ratio_low"], out.loc[idx, "log_ratio_high"] = theta, lo, hi
    return out


def boundary_shift(trainable: Any, small: Any, large: Any, *, axis: str = "snr", tol: float = BENIGN_TOL,
                   ci: float = 0.95) -> dict[str, float]:
    """Paired shift of the boundary between two sets of init scales: ``SNR*(large) / SNR*(small)``,
    each side the one boundary fit of the pooled runs whose ``init_scale`` is in that set, with the
    delete-one-seed jackknife interval of the log ratio (the seeds are shared by both sides).

    Args:
        trainable: runs with ``init_scale``, ``axis``, ``test_error``, ``p``, ``seed``.
        small: an init scale or a sequence of them (the denominator).
        large: an init scale or a sequence of them (the numerator).
        axis: the signal axis of the boundary.
        tol: benign iff ``test_error <= p + tol``.
        ci: nominal coverage of the interval.

    Returns:
        ``{"small": SNR*, "large": SNR*, "ratio", "ratio_low", "ratio_high"}`` (float).
    """
    df = _frame(trainable, "init_scale")
    sets = [np.atleast_1d(np.asarray(v, dtype=float)) for v in (small, large)]
    for name, v in zip(("small", "large"), sets):
        if not np.isin(v, df["init_scale"].to_numpy(float)).all():
            raise ValueError(f"{name}={v.tolist()} is invalid: every value must be a measured init_scale")

    def stat(sub: pd.DataFrame) -> np.ndarray:
        est = [boundary(sub[np.isin(sub["init_scale"].to_numpy(float), v)], axis, tol=tol, cluster="run").estimate for v in sets]
        return np.array([est[0], est[1], math.log(est[1] / est[0])])

    theta, lo, hi = _jackknife([df], stat, ci)
    return {"small": float(theta[0]), "large": float(theta[1]), "ratio": math.exp(theta[2]),
            "ratio_low": math.exp(lo[2]), "ratio_high": math.exp(hi[2])}


def ratio_table(trainable: Any) -> pd.DataFrame:
    """Per ``init_scale``: median and quartiles over the non-diverged runs of the measured ``ratio``
    (``|w|/|a|`` as a ratio of mean norms) and of ``ratio_predicted`` (the ratio the conservation law
    gives from each neuron's measured ``|a|`` and ``D``), and their median relative difference."""
    df = _frame(trainable, "init_scale")
    if "diverged" in df.columns:
        df = df.loc[~df["diverged"].to_numpy(bool)]
    rows = []
    for a0, sub in df.groupby("init_scale", sort=True):
        r, rp = sub["ratio"].to_numpy(float), sub["ratio_predicted"].to_numpy(float)
        q = np.nanquantile(r, [0.25, 0.5, 0.75])
        rows.append({"init_scale": float(a0), "ratio_q25": q[0], "ratio_median": q[1], "ratio_q75": q[2],  # type: ignore[arg-type]
                     "ratio_predicted_median": float(np.nanmedian(rp)),
                     "ratio_rel_err_median": float(np.nanmedian(np.abs(rp / r - 1))),
                     "w_norm_median": float(np.nanmedian(sub["w_norm"])), "a_norm_median": float(np.nanmedian(sub["a_norm"]))})
    return pd.DataFrame(rows)


def piecewise_fit(a0: Any, log_star: Any) -> tuple[float, float, float]:
    """``(b, kappa, log_ac)`` of ``log_star = b + kappa * max(0, log a0 - log_ac)`` by least squares
    (grid search over ``log_ac`` in the measured range, refined by a bounded 1-D minimisation; NaN
    entries left out). ``log_ac`` at the
    largest a0 means "flat everywhere" (kappa NaN then)."""
    x = np.log(np.asarray(a0, dtype=float))
    y = np.asarray(log_star, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3:
        return math.nan, math.nan, math.nan
    def solve(lc: float) -> tuple[float, float, float]:
        h = np.maximum(0.0, x - lc)
        A = np.column_stack([np.ones_like(x), h])
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        return float(np.sum((A @ coef - y) ** 2)), float(coef[0]), float(coef[1])

    best = (float(np.sum((y - y.mean()) ** 2)), float(y.mean()), math.nan, float(x.max()))
    grid = np.linspace(x.min(), x.max(), 241)[:-1]
    step = grid[1] - grid[0]
    for lc in grid:
        if np.count_nonzero(x > lc) < 2:
            continue
        sse, b, k = solve(lc)
        if sse < best[0] - 1e-12:
            best = (sse, b, k, float(lc))
    if np.isfinite(best[2]):  # refine the kink between the neighbouring grid points
        from scipy.optimize import minimize_scalar

        lo, hi = best[3] - step, min(best[3] + step, float(np.sort(x)[-2]))
        r = minimize_scalar(lambda lc: solve(lc)[0], bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
        if r.fun <= best[0]:
            best = (float(r.fun), *solve(float(r.x))[1:], float(r.x))
    return best[1], best[2], best[3]


def fit_init_scale(trainable: Any, *, sigma_0: float, d: int, axis: str = "snr", tol: float = BENIGN_TOL,
                   ci: float = 0.95) -> dict[str, Any]:
    """Fit SNR*(a0) = flat below ``a_c = c sigma_0 sqrt(d)``, ``~ a0^kappa`` above, with
    delete-one-seed jackknife intervals of ``kappa``, ``c`` and the plateau ``exp(b)``.

    Returns:
        dict with ``plateau``, ``kappa``, ``c`` (``a_c / (sigma_0 sqrt d)``) and each one's
        ``*_low``/``*_high``; ``n_init`` (a0 values with a finite boundary).
    """
    df = _frame(trainable, "init_scale")
    scale = float(sigma_0) * math.sqrt(float(d))

    def stat(sub: pd.DataFrame) -> np.ndarray:
        est = _estimates(sub, axis, tol)
        b, k, lc = piecewise_fit(est.index.to_numpy(float), np.log(est.to_numpy(float)))
        return np.array([b, k, lc - math.log(scale)])

    theta, lo, hi = _jackknife([df], stat, ci)
    n_init = int(np.isfinite(_estimates(df, axis, tol).to_numpy()).sum())
    return {"plateau": math.exp(theta[0]), "plateau_low": math.exp(lo[0]), "plateau_high": math.exp(hi[0]),
            "kappa": float(theta[1]), "kappa_low": float(lo[1]), "kappa_high": float(hi[1]),
            "c": math.exp(theta[2]), "c_low": math.exp(lo[2]), "c_high": math.exp(hi[2]), "n_init": n_init}


__all__ = ["boundary_shift", "boundary_table", "fit_init_scale", "piecewise_fit", "ratio_table"]
