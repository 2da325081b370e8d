"""Fits of the benign/harmful boundary, shared by :mod:`benign.analysis.compare` and :mod:`benign.plot`.

numpy/pandas only: the logistic regression is a damped Newton solver; bootstraps draw only from the
``rng`` argument (a ``numpy.random.Generator`` or a seed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Kou et al.'s exponents of the critical ``|mu|`` in ``d``, ``n`` and ``sigma_p``.
KOU_SLOPES = {"d": 0.25, "n": -0.25, "sigma_p": 1.0}
_KOU_FORM = ("kou2023", "meng2024", "shang2024")
RNG = np.random.Generator | int | None


def logistic_regression(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                        l2: float = 1e-3, max_iter: int = 100) -> np.ndarray:
    """Penalised logistic regression by damped Newton steps.

    Args: X (N, k) float features (no intercept column); y (N,) in [0, 1]; weights (N,) >= 0;
    l2: ridge penalty on the slopes of the standardised features (keeps separable data finite).
    Returns: float64 (k+1,) ``[intercept, coef_1..coef_k]`` on the original feature scale.
    """
    X = np.asarray(X, dtype=float).reshape(len(y), -1)
    y = np.asarray(y, dtype=float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    mean, sd = X.mean(0), X.std(0)
    sd[sd == 0] = 1.0
    A = np.hstack([np.ones((len(y), 1)), (X - mean) / sd])
    pen = np.full(A.shape[1], l2)
    pen[0] = 0.0
    beta = np.zeros(A.shape[1])

    def obj(b: np.ndarray) -> float:
        eta = A @ b
        return float(w @ (np.logaddexp(0.0, eta) - y * eta) + 0.5 * pen @ b**2)

    f = obj(beta)
    for _ in range(max_iter):
        prob = 0.5 * (1.0 + np.tanh(0.5 * (A @ beta)))
        grad = A.T @ (w * (prob - y)) + pen * beta
        H = (A * (w * prob * (1 - prob))[:, None]).T @ A + np.diag(pen + 1e-10)
        step, t = np.linalg.solve(H, grad), 1.0
        while (f_new := obj(beta - t * step)) > f and t > 1e-10:
            t *= 0.5
        beta, f_old, f = beta - t * step, f, min(f, f_new)
        if f_old - f <= 1e-12 * (1.0 + abs(f)):
            break
    coef = beta[1:] / sd
    return np.concatenate([[beta[0] - coef @ mean], coef])


def _boot(X: np.ndarray, y: np.ndarray, w0: np.ndarray, groups: np.ndarray, stat,
          n_boot: int, rng: RNG, l2: float) -> np.ndarray:
    """Statistic of the fit, then ``n_boot`` cluster-bootstrap replicates (clusters resampled
    with replacement, as multinomial weights times ``w0``).  Returns (n_boot+1, s) float64;
    failed replicates (one class only, reversed boundary) are NaN."""
    rng = np.random.default_rng(rng)
    codes, inv = np.unique(groups, return_inverse=True)
    out, uniform = [], np.full(len(codes), 1.0 / len(codes))
    for b in range(n_boot + 1):
        w = w0 if b == 0 else w0 * rng.multinomial(len(codes), uniform)[inv]
        pos = w @ y
        if pos <= 0 or pos >= w.sum():
            out.append(None)
            continue
        out.append(stat(logistic_regression(X, y, w, l2=l2)))
    k = len(next(o for o in out if o is not None)) if any(o is not None for o in out) else 1
    return np.array([np.full(k, np.nan) if o is None else o for o in out], dtype=float)


def _interval(samples: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    q = 50 * (1 - ci)
    with np.errstate(invalid="ignore"):
        return np.nanpercentile(samples, q, axis=0), np.nanpercentile(samples, 100 - q, axis=0)


def _labelled(frame: pd.DataFrame, label_col: str, weight_col: str | None,
              group_col: str | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Rows usable for a benign-vs-harmful fit: ``(sub, y, w, groups)``.  A string label column
    keeps benign (y=1) and harmful (y=0) rows; a numeric one is a benign fraction in [0, 1]
    (weights from ``weight_col``, e.g. the number of determined runs in the cell)."""
    lab = frame[label_col]
    if pd.api.types.is_numeric_dtype(lab):
        w = frame[weight_col].to_numpy(float) if weight_col else np.ones(len(frame))
        keep = np.isfinite(lab.to_numpy(float)) & (w > 0)
        sub = frame[keep]
        y, w = sub[label_col].to_numpy(float), w[keep]
    else:
        sub = frame[lab.isin(["benign", "harmful"])]
        y = (sub[label_col] == "benign").to_numpy(float)
        w = sub[weight_col].to_numpy(float) if weight_col else np.ones(len(sub))
    groups = sub[group_col].to_numpy() if group_col in sub.columns else np.arange(len(sub))
    return sub, y, w, groups


@dataclass(frozen=True)
class BoundaryFit:
    """Fitted benign/harmful boundary ``phi_star`` (logistic midpoint in log phi) with a
    bootstrap CI, the logistic sharpness ``slope`` (per unit log phi), counts and a note."""
    phi_star: float
    ci_low: float
    ci_high: float
    slope: float
    n_benign: int  # (weighted) counts used in the fit
    n_harmful: int
    n_boot_failed: int
    note: str = ""


def fit_boundary(frame: pd.DataFrame, phi_col: str = "phi", label_col: str = "regime_empirical",
                 group_col: str | None = "cell", weight_col: str | None = None,
                 n_boot: int = 200, ci: float = 0.95, rng: RNG = 0,
                 l2: float = 1e-3) -> BoundaryFit:
    """Logistic regression of benign (1) vs harmful (0) on ``log phi`` (labels as in
    :func:`_labelled`); rows with other labels or non-positive/non-finite phi are dropped;
    the bootstrap resamples ``group_col`` clusters (rows if absent)."""
    sub, y, w, groups = _labelled(frame, label_col, weight_col, group_col)
    phi = sub[phi_col].to_numpy(float)
    ok = np.isfinite(phi) & (phi > 0)
    y, w, groups, x = y[ok], w[ok], groups[ok], np.log(phi[ok])
    nb, nh = int(round(w @ y)), int(round(w @ (1 - y)))
    if nb == 0 or nh == 0:
        return BoundaryFit(*(math.nan,) * 4, nb, nh, 0, "need both benign and harmful cells")
    stat = lambda c: np.array([-c[0] / c[1] if c[1] > 0 else np.nan, c[1]])  # noqa: E731
    s = _boot(x[:, None], y, w, groups, stat, n_boot, rng, l2)
    lo, hi = _interval(s[1:, :1], ci)
    return BoundaryFit(float(np.exp(s[0, 0])), float(np.exp(lo[0])), float(np.exp(hi[0])),
                       float(s[0, 1]), nb, nh, int(np.isnan(s[1:, 0]).sum()),
                       "" if s[0, 1] > 0 else "fitted boundary is reversed (benign at low phi)")


def fit_scaling(frame: pd.DataFrame, label_col: str = "regime_empirical",
                variables: Sequence[str] = ("d", "n", "sigma_p"), group_col: str | None = "cell",
                weight_col: str | None = None, q: float | None = None, n_boot: int = 200,
                ci: float = 0.95, rng: RNG = 0, l2: float = 1e-3) -> pd.DataFrame:
    """Scaling of the critical ``|mu|``: logistic regression of benign on ``log mu_norm`` and
    ``log x`` for each ``x`` in ``variables`` that varies; ``slope_x = -coef_x / coef_logmu``
    (``d log mu_crit / d log x``).  Returns one row per fitted variable: ``slope, ci_low,
    ci_high, kou2023, cao2022`` (Cao: ``+1/2, -1/q, +1``; NaN without ``q``) and whether each
    prediction lies in the CI.  Empty frame if ``mu_norm`` does not vary."""
    sub, y, w, groups = _labelled(frame, label_col, weight_col, group_col)
    cols = ["mu_norm"] + [v for v in variables if v in sub.columns and sub[v].nunique() > 1]
    X = sub[cols].to_numpy(float) if "mu_norm" in sub.columns else np.zeros((0, 1))
    ok = np.all(np.isfinite(X) & (X > 0), axis=1)
    X, y, w, groups = np.log(X[ok]), y[ok], w[ok], groups[ok]
    if len(np.unique(X[:, 0])) < 2 or not 0 < w @ y < w.sum():
        return pd.DataFrame(columns=["slope", "ci_low", "ci_high", "kou2023", "cao2022"])
    stat = lambda c: -c[2:] / c[1] if c[1] > 0 else np.full(len(c) - 2, np.nan)  # noqa: E731
    s = _boot(X, y, w, groups, stat, n_boot, rng, l2)
    lo, hi = _interval(s[1:], ci)
    cao = {"d": 0.5, "n": -1.0 / q if q else math.nan, "sigma_p": 1.0}
    out = pd.DataFrame({"slope": s[0], "ci_low": lo, "ci_high": hi,
                        "kou2023": [KOU_SLOPES.get(v, math.nan) for v in cols[1:]],
                        "cao2022": [cao.get(v, math.nan) for v in cols[1:]]},
                       index=pd.Index(cols[1:], name="variable"))
    for t in ("kou2023", "cao2022"):
        out[f"{t}_in_ci"] = (out[t] >= out.ci_low) & (out[t] <= out.ci_high)
    return out


def calibrate(table: pd.DataFrame, theory: str = "kou2023", c2_quantile: float = 1.0,
              label_col: str = "regime_empirical") -> dict[str, float]:
    """Smallest-envelope constants on the theory's ``phi`` axis from a cell table.

    ``benign_at``: the smallest benign-cell phi above every non-benign cell; ``harmful_at``: the
    largest harmful-cell phi below every non-harmful cell.  Kou-form theories also get ``C2``
    (the ``c2_quantile`` of ``phi / -log(test_error - p)`` over benign cells with positive excess,
    so ``p + exp(-phi/C2)`` covers that fraction of them) and ``C4`` (smallest excess error of
    the cells with ``phi <= harmful_at``).  NaN where undefined."""
    phi, lab = table["phi"].to_numpy(float), table[label_col].to_numpy()
    excess = (table["test_error"] - table.get("p", 0.0)).to_numpy(float)
    with np.errstate(invalid="ignore"):
        nb_max = np.nanmax(phi[lab != "benign"], initial=-np.inf)
        nh_min = np.nanmin(phi[lab != "harmful"], initial=np.inf)
        b = phi[(lab == "benign") & (phi > nb_max)]
        h = phi[(lab == "harmful") & (phi < nh_min)]
    out = {"benign_at": float(b.min()) if b.size else math.nan,
           "harmful_at": float(h.max()) if h.size else math.nan}
    if theory in _KOU_FORM:
        sel = (lab == "benign") & (excess > 0) & (excess < 1) & np.isfinite(phi)
        req = phi[sel] / -np.log(excess[sel])
        out["C2"] = float(np.quantile(req, c2_quantile)) if req.size else math.nan
        out["C4"] = float(excess[phi <= out["harmful_at"]].min()) if h.size else math.nan
    return out


def fit_threshold(score: np.ndarray, benign: np.ndarray) -> float:
    """The cut ``C`` on ``score`` that best separates ``benign`` (score >= C) from the rest.

    Minimises the number of misclassified cells; returns the geometric (arithmetic if a value is
    <= 0) mean of the two scores around the best cut, or NaN without both classes.
    """
    ok = np.isfinite(score)
    s, b = np.asarray(score, float)[ok], np.asarray(benign, bool)[ok]
    if b.all() or not b.any():
        return math.nan
    order = np.argsort(s, kind="stable")
    s, b = s[order], b[order]
    # errors if the cut is just before position i: benign below + harmful at/above
    below_benign = np.concatenate([[0], np.cumsum(b)])
    above_harmful = np.concatenate([np.cumsum((~b)[::-1])[::-1], [0]])
    cuts = [i for i in range(len(s) + 1) if i in (0, len(s)) or s[i - 1] < s[i]]
    best = min(cuts, key=lambda i: (below_benign[i] + above_harmful[i], i))
    if best == 0:
        return float(s[0])
    if best == len(s):
        return float(s[-1]) * 1.0000001
    lo, hi = s[best - 1], s[best]
    return float(math.sqrt(lo * hi) if lo > 0 else (lo + hi) / 2)


def crossing(x: np.ndarray, err: np.ndarray, level: float) -> float:
    """Where ``err`` (a noisy decreasing curve over sorted ``x``) crosses ``level``.

    The best cut of :func:`fit_threshold` picks the bracketing pair of points; the crossing is
    interpolated linearly in ``err`` (in ``log x`` when ``x > 0``). NaN if every point is on one side.
    """
    x, err = np.asarray(x, float), np.asarray(err, float)
    cut = fit_threshold(x, err <= level)
    if not np.isfinite(cut) or cut <= x[0] or cut >= x[-1]:
        return cut
    i = int(np.searchsorted(x, cut))
    e0, e1 = err[i - 1], err[i]
    if not (e0 > level >= e1):
        return cut
    logx = x[0] > 0
    u0, u1 = (np.log(x[i - 1]), np.log(x[i])) if logx else (x[i - 1], x[i])
    u = u0 + (e0 - level) / (e0 - e1) * (u1 - u0)
    return float(np.exp(u) if logx else u)
