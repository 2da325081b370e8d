"""The benign/harmful boundary: one definition, one fit, and intervals that cover.

:mod:`benign.analysis.compare` and the figures of :mod:`benign.plot` get every measured boundary from
here; the plot functions draw what these functions return and never fit anything themselves.

**Benign run.** A run is *benign* when its test error is at most ``p + tol`` (``tol`` defaults to
:data:`BENIGN_TOL`). Runs that diverged or have no finite test error are left out.

**The boundary.** Along a positive axis ``x`` (the theory's phase variable ``phi``, the SNR,
``|mu|`` ...), the boundary ``x*`` is the value where a logistic regression of the per-run benign
indicator on ``log x`` predicts probability 1/2::

    P(benign | x) = 1 / (1 + exp(-s (log x - log x*)))

``s > 0`` is the sharpness per unit ``log x``. Every run enters with its own label, so a cell whose
seeds disagree counts as partly benign. The fit is a damped Newton solve with a small ridge penalty on
the standardised slope, which keeps completely separated labels finite: the estimate then lies in the
gap between the last non-benign and the first benign value. A fit whose slope comes out negative
(benign at small ``x``) gives ``estimate = NaN`` and says so in ``note``.

**The interval.** Runs that share a seed share their training data and initial weights, so the seeds,
not the runs or the cells, are the independent units (the *clusters*). The interval is the
delete-one-cluster jackknife with Student-t quantiles on ``G - 1`` degrees of freedom (``G`` clusters)::

    log x* +- t_{G-1}(1/2 + ci/2) * SE_jack,   SE_jack^2 = (G-1)/G * sum_g (theta_(g) - mean theta_(.))^2

computed on ``log x`` and mapped back with ``exp``. When the pooled labels are completely separated
along ``log x`` the data only bracket the boundary, so the interval is widened to contain the gap
between the last non-benign and the first benign value; when every cluster carries the same labels
(zero spread) it is the grid interval around the estimate. With fewer than 2 clusters there is no
interval (NaN, with a note). Percentile bootstraps (over cells, or over seeds, BCa included)
under-cover badly at the seed counts of real sweeps (4 to 16); ``tests/test_analysis.py`` measures the
coverage of this interval on planted data. Leave-one-out refits are exact (warm-started Newton) for up
to :data:`EXACT_JACKKNIFE` clusters and one Newton step from the full fit beyond that.

numpy/pandas, plus ``scipy.stats`` for the Student-t quantile.
"""
# pyright: reportAttributeAccessIssue=false, reportArgumentType=false, reportGeneralTypeIssues=false, reportCallIssue=false, reportIndexIssue=false, reportOptionalSubscript=false, reportOptionalOperand=false
# (pandas' and numpy's overloads are too loose for pyright's basic mode in this table-heavy module)

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Default tolerance above the label-noise rate ``p``: a run is benign iff ``test_error <= p + tol``.
BENIGN_TOL = 0.05
#: Kou et al.'s exponents of the critical ``|mu|`` in ``d``, ``n`` and ``sigma_p``.
KOU_SLOPES = {"d": 0.25, "n": -0.25, "sigma_p": 1.0}
#: Up to this many clusters the jackknife refits exactly; beyond, one Newton step from the full fit.
EXACT_JACKKNIFE = 64
_KOU_FORM = ("kou2023", "meng2024", "shang2024")
_CLUSTERS = ("seed", "cell", "run")


# ----------------------------------------------------------------------------- logistic regression
def _newton(A: np.ndarray, k: np.ndarray, n: np.ndarray, pen: np.ndarray, beta: np.ndarray,
            max_iter: int = 100) -> np.ndarray:
    """Penalised binomial logistic regression by damped Newton steps.

    ``A`` (R, q) design (intercept column included), ``k`` (R,) successes, ``n`` (R,) trials (>= 0),
    ``pen`` (q,) ridge weights, ``beta`` (q,) start. Returns float64 (q,) coefficients on ``A``.
    """
    def obj(b: np.ndarray) -> float:
        eta = A @ b
        return float(np.sum(n * np.logaddexp(0.0, eta) - k * eta) + 0.5 * pen @ b**2)

    f = obj(beta)
    for _ in range(max_iter):
        prob = 0.5 * (1.0 + np.tanh(0.5 * (A @ beta)))
        grad = A.T @ (n * prob - k) + pen * beta
        H = (A * (n * prob * (1 - prob))[:, None]).T @ A + np.diag(pen + 1e-10)
        step, t = np.linalg.solve(H, grad), 1.0
        while (f_new := obj(beta - t * step)) > f and t > 1e-10:
            t *= 0.5
        beta, f_old, f = beta - t * step, f, min(f, f_new)
        if f_old - f <= 1e-12 * (1.0 + abs(f)):
            break
    return beta


def _design(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A, mean, sd)``: intercept column plus the standardised features."""
    mean, sd = X.mean(0), X.std(0)
    sd = np.where(sd == 0, 1.0, sd)
    return np.hstack([np.ones((len(X), 1)), (X - mean) / sd]), mean, sd


def logistic_regression(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                        l2: float = 1e-3, max_iter: int = 100) -> np.ndarray:
    """Penalised logistic regression by damped Newton steps.

    Args:
        X: (N, k) float features (no intercept column).
        y: (N,) labels in [0, 1] (a fraction is a binomial proportion with ``weights`` trials).
        weights: (N,) non-negative weights (default 1).
        l2: ridge penalty on the slopes of the standardised features (keeps separable data finite).
        max_iter: Newton iterations at most.

    Returns:
        float64 (k+1,) ``[intercept, coef_1..coef_k]`` on the original feature scale.

    Example:
        >>> x = np.array([0.0, 1.0, 2.0, 3.0])
        >>> c = logistic_regression(x[:, None], (x > 1.5).astype(float))
        >>> bool(1.0 < -c[0] / c[1] < 2.0)
        True
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float).reshape(len(y), -1)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    A, mean, sd = _design(X)
    pen = np.full(A.shape[1], float(l2))
    pen[0] = 0.0
    beta = _newton(A, w * y, w, pen, np.zeros(A.shape[1]), max_iter)
    coef = beta[1:] / sd
    return np.concatenate([[beta[0] - coef @ mean], coef])


# ----------------------------------------------------------------------------- cluster jackknife
def _t_quantile(q: float, df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(q, df))


@dataclass(frozen=True)
class _Fit:
    beta: np.ndarray        # (q,) on the standardised design
    loo: np.ndarray         # (G, q) leave-one-cluster-out coefficients (NaN rows: failed)
    mean: np.ndarray        # feature means / sds of the standardisation
    sd: np.ndarray


def _cluster_fit(X: np.ndarray, k: np.ndarray, n: np.ndarray, cluster: np.ndarray, l2: float) -> _Fit:
    """Full fit plus one leave-one-out fit per cluster (rows: ``X`` (R, f), ``k``/``n`` (R,),
    ``cluster`` (R,) integer codes 0..G-1)."""
    A, mean, sd = _design(X)
    pen = np.full(A.shape[1], float(l2))
    pen[0] = 0.0
    beta = _newton(A, k, n, pen, np.zeros(A.shape[1]))
    G = int(cluster.max()) + 1 if len(cluster) else 0
    loo = np.full((G, A.shape[1]), np.nan)
    kg = np.bincount(cluster, k, G)
    ng = np.bincount(cluster, n, G)
    K, N = k.sum(), n.sum()
    ok = (K - kg > 0) & (K - kg < N - ng)  # both classes left without cluster g
    if G <= EXACT_JACKKNIFE:
        for g in np.flatnonzero(ok):
            keep = cluster != g
            loo[g] = _newton(A[keep], k[keep], n[keep], pen, beta.copy())
    else:  # one Newton step from the full fit, for every cluster at once
        prob = 0.5 * (1.0 + np.tanh(0.5 * (A @ beta)))
        resid = (n * prob - k)[:, None] * A                         # (R, q) per-row gradients
        wA = (n * prob * (1 - prob))[:, None] * A
        grad = resid.sum(0) + pen * beta
        H = wA.T @ A + np.diag(pen + 1e-10)
        q = A.shape[1]
        gsum = np.zeros((G, q))
        np.add.at(gsum, cluster, resid)
        Hg = np.zeros((G, q, q))
        np.add.at(Hg, cluster, wA[:, :, None] * A[:, None, :])
        step = np.linalg.solve(H[None] - Hg, (grad[None] - gsum)[..., None])[..., 0]
        loo[ok] = (beta[None] - step)[ok]
    return _Fit(beta, loo, mean, sd)


def _jackknife_ci(theta: np.ndarray, loo: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray, str]:
    """``(low, high, note)`` of the cluster-jackknife t interval around ``theta`` (s,) from the
    leave-one-out statistics ``loo`` (G, s)."""
    G = len(loo)
    nan = np.full(np.shape(theta), np.nan)
    if G < 2:
        return nan, nan, f"{G} cluster(s): no interval (needs at least 2 seeds)"
    if not np.all(np.isfinite(loo)):
        bad = int((~np.all(np.isfinite(loo), axis=1)).sum())
        return nan, nan, f"no interval: {bad} of {G} leave-one-out fits failed (one class left, or a reversed boundary)"
    se = np.sqrt((G - 1) / G * np.sum((loo - loo.mean(0)) ** 2, axis=0))
    half = _t_quantile(0.5 + ci / 2, G - 1) * se
    return theta - half, theta + half, ""


def _codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    _, inv = np.unique(np.asarray(values), return_inverse=True)
    inv = inv.ravel().astype(np.int64)
    return inv, int(inv.max()) + 1 if len(inv) else 0


# ----------------------------------------------------------------------------- the boundary
def is_benign(test_error: Any, p: Any = 0.0, tol: float = BENIGN_TOL, diverged: Any = None) -> np.ndarray:
    """Per-run benign indicator: 1.0 if ``test_error <= p + tol``, 0.0 if above, NaN if the error is
    not finite or the run diverged. Arrays broadcast; float64 out.

    Example:
        >>> is_benign([0.12, 0.3, float("nan")], p=0.1).tolist()
        [1.0, 0.0, nan]
    """
    if not (isinstance(tol, (int, float)) and 0 <= tol < 1):
        raise ValueError(f"tol={tol!r} is invalid: allowed range is [0, 1)")
    te, p = np.broadcast_arrays(np.asarray(test_error, dtype=float), np.asarray(p, dtype=float))
    out = np.where(np.isfinite(te), (te <= p + tol).astype(float), np.nan)
    if diverged is not None:
        out = np.where(np.broadcast_to(np.asarray(diverged, dtype=bool), out.shape), np.nan, out)
    return out


@dataclass(frozen=True)
class BoundaryFit:
    """A measured benign/harmful boundary (see the module docstring for the definition).

    Attributes:
        estimate: ``x*``, where the fitted probability of a benign run is 1/2 (NaN if undetermined).
        ci_low, ci_high: the ``ci`` interval of ``x*`` (NaN when there is none; see ``note``).
        slope: sharpness ``s`` of the logistic fit per unit ``log x``.
        axis: name of ``x`` (``"phi"``, ``"snr"``, ``"mu_norm"`` ...).
        tol: the benign tolerance above ``p`` the labels were made with (NaN if given as labels).
        ci: nominal coverage of the interval.
        n_runs, n_benign: runs used and how many of them were benign.
        n_clusters: independent clusters (seeds, cells or runs) behind the interval.
        cluster: what the clusters are: ``"seed"``, ``"cell"`` or ``"run"``.
        separated: the pooled labels are completely separated along ``log x`` (interval covers the gap).
        note: why something is NaN, or a warning.
    """

    estimate: float
    ci_low: float
    ci_high: float
    slope: float
    axis: str = "x"
    tol: float = math.nan
    ci: float = 0.95
    n_runs: int = 0
    n_benign: int = 0
    n_clusters: int = 0
    cluster: str = "run"
    separated: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a flat dict."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def fit_boundary(x: Any, benign: Any, groups: Any = None, *, axis: str = "x", ci: float = 0.95,
                 tol: float = math.nan, cluster: str | None = None, l2: float = 1e-3) -> BoundaryFit:
    """The boundary ``x*`` (fitted P(benign) = 1/2 on ``log x``) with its cluster-jackknife interval.

    Args:
        x: (N,) positive float per run (the axis); non-positive or non-finite values are left out.
        benign: (N,) per-run labels: 1/0 (bool or float), NaN to leave a run out (see :func:`is_benign`).
        groups: (N,) cluster label per run (the seed: runs with one seed are dependent), or ``None``
            (every run its own cluster: runs independent).
        axis: name of ``x``, recorded in the result.
        ci: nominal coverage in (0, 1).
        tol: the tolerance ``benign`` was made with (recorded only).
        cluster: what ``groups`` are (recorded only; default ``"seed"`` with groups, else ``"run"``).
        l2: ridge penalty on the standardised slope.

    Returns:
        A :class:`BoundaryFit`.

    Example:
        >>> x = np.repeat([1.0, 2.0, 4.0, 8.0], 4)
        >>> y = np.array([0, 0, 0, 0,  0, 1, 0, 0,  1, 1, 0, 1,  1, 1, 1, 1])
        >>> fit = fit_boundary(x, y, groups=np.tile(np.arange(4), 4), axis="snr")
        >>> bool(2.0 < fit.estimate < 4.0 and fit.ci_low < fit.estimate < fit.ci_high)
        True
    """
    if not 0 < ci < 1:
        raise ValueError(f"ci={ci!r} is invalid: allowed range is (0, 1)")
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(benign, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and benign must have the same length, got {x.size} and {y.size}")
    g = np.arange(x.size) if groups is None else np.asarray(groups).ravel()
    if g.shape != x.shape:
        raise ValueError(f"groups must have one label per run ({x.size}), got {g.size}")
    cluster = cluster or ("run" if groups is None else "seed")
    if cluster not in _CLUSTERS:
        raise ValueError(f"cluster={cluster!r} is invalid: must be one of {_CLUSTERS}")
    if np.any((y != 0) & (y != 1) & np.isfinite(y)):
        raise ValueError("benign labels must be 0, 1 or NaN")
    keep = np.isfinite(x) & (x > 0) & np.isfinite(y)
    u, y, g = np.log(x[keep]), y[keep], g[keep]
    nb, N = int(y.sum()), int(y.size)
    base: dict[str, Any] = {"axis": axis, "tol": float(tol), "ci": float(ci), "n_runs": N, "n_benign": nb,
                            "cluster": cluster}
    if nb == 0 or nb == N:
        return BoundaryFit(math.nan, math.nan, math.nan, math.nan, **base, n_clusters=len(np.unique(g)),
                           note="need both benign and non-benign runs")
    # one row per (cluster, x value): binomial counts
    gc, G = _codes(g)
    uc, U = _codes(u)
    row = gc * U + uc
    rows, inv = np.unique(row, return_inverse=True)
    k = np.bincount(inv, y, len(rows))
    n = np.bincount(inv, None, len(rows)).astype(float)
    uvals = np.unique(u)
    fit = _cluster_fit(uvals[rows % U][:, None], k, n, (rows // U).astype(np.int64), l2)

    def stat(beta: np.ndarray) -> tuple[float, float]:
        s = beta[1] / fit.sd[0]
        return (fit.mean[0] - beta[0] * fit.sd[0] / beta[1] if beta[1] > 0 else math.nan), s

    theta, slope = stat(fit.beta)
    if not np.isfinite(theta):
        return BoundaryFit(math.nan, math.nan, math.nan, float(slope), **base, n_clusters=G,
                           note="fitted boundary is reversed (benign at small values)")
    loo = np.array([[stat(b)[0]] for b in fit.loo]) if G else np.zeros((0, 1))
    lo, hi, note = _jackknife_ci(np.array([theta]), loo, ci)
    lo, hi = float(lo[0]), float(hi[0])
    neg_max, pos_min = u[y == 0].max(), u[y == 1].min()
    separated = bool(neg_max < pos_min)
    if separated and np.isfinite(lo):
        lo, hi = min(lo, neg_max), max(hi, pos_min)
    elif np.isfinite(lo) and hi - lo <= 1e-12 * max(1.0, abs(theta)):
        # every seed gave the same labels: no spread to measure; the grid spacing bounds the resolution
        below, above = uvals[uvals < theta], uvals[uvals > theta]
        lo = float(below.max()) if below.size else -math.inf
        hi = float(above.min()) if above.size else math.inf
        note = "every cluster has the same labels: the interval is the grid spacing around the estimate"
    if not note and not uvals[0] <= theta <= uvals[-1]:
        note = f"the boundary lies outside the measured {axis} range"
    return BoundaryFit(float(math.exp(theta)), float(np.exp(lo)), float(np.exp(hi)), float(slope), **base,
                       n_clusters=G, separated=separated, note=note)


def _run_frame(results: Any) -> pd.DataFrame:
    """One row per run (a DataFrame is used as is; a Dataset through ``compare.to_frame``)."""
    if isinstance(results, pd.DataFrame):
        return results
    from .compare import to_frame

    ds = results.drop_dims("step") if hasattr(results, "drop_dims") and "step" in getattr(results, "dims", ()) else results
    return to_frame(ds)


def _with_axis(df: pd.DataFrame, axis: str, theory: str | None) -> pd.DataFrame:
    """``df`` with an ``axis`` column: present, or ``phi`` from the theory's phase variable."""
    if axis in df.columns:
        return df
    if axis != "phi":
        raise ValueError(f"axis={axis!r} is not a column of the results; available: {sorted(map(str, df.columns))}")
    from .. import theory as th

    name = theory or ("cao2022" if "activation" in df.columns and (df.activation == "poly_relu").all() else "kou2023")
    pred = th.predict(df.assign(p=df["p"] if "p" in df.columns else 0.0), name)
    return df.assign(phi=pred["phi"].to_numpy(float))


def _groups(df: pd.DataFrame, cluster: str, cell_cols: Sequence[str]) -> np.ndarray | None:
    if cluster not in _CLUSTERS:
        raise ValueError(f"cluster={cluster!r} is invalid: must be one of {_CLUSTERS}")
    if cluster == "run":
        return None
    if cluster == "seed":
        return df["seed"].to_numpy() if "seed" in df.columns else np.zeros(len(df), int)
    if "cell" in df.columns:
        return df["cell"].to_numpy()
    cols = [c for c in cell_cols if c in df.columns]
    return df.groupby(cols, dropna=False, sort=True).ngroup().to_numpy() if cols else np.arange(len(df))


def _labels(df: pd.DataFrame, tol: float) -> np.ndarray:
    if "test_error" not in df.columns:
        raise ValueError("results need a 'test_error' column")
    p = df["p"].to_numpy(float) if "p" in df.columns else 0.0
    div = df["diverged"].to_numpy(bool) if "diverged" in df.columns else None
    return is_benign(df["test_error"].to_numpy(float), p, tol, div)


def boundary(results: Any, axis: str = "phi", *, tol: float = BENIGN_TOL, cluster: str = "seed",
             ci: float = 0.95, theory: str | None = None, l2: float = 1e-3) -> BoundaryFit:
    """The boundary of a sweep's runs along ``axis`` (:func:`fit_boundary` on per-run labels).

    Args:
        results: one row per run: a DataFrame (columns ``test_error``, ``p``, ``seed``, ``diverged``,
            the axis) or a sweep's ``xarray.Dataset``.
        axis: a column/coordinate (``snr``, ``mu_norm`` ...) or ``"phi"`` (taken from a ``phi``
            column, else computed by ``theory``: Kou's ``n |mu|^4 / (sigma_p^4 d)``, or ``n SNR^q``
            for polynomial ReLU).
        tol: benign iff ``test_error <= p + tol``.
        cluster: the independent units of the interval: ``"seed"`` (default; runs sharing a seed share
            data), ``"cell"`` (cells independent) or ``"run"`` (runs independent).
        ci: nominal coverage.
        theory: theory whose ``phi`` is used when ``axis == "phi"`` and no ``phi`` column exists.
        l2: ridge penalty.

    Returns:
        A :class:`BoundaryFit` on ``axis``.
    """
    from .compare import _keys

    df = _with_axis(_run_frame(results), axis, theory)
    return fit_boundary(df[axis].to_numpy(float), _labels(df, tol), _groups(df, cluster, _keys(df, None)), axis=axis,
                        ci=ci, tol=tol, cluster=cluster, l2=l2)


def boundaries(results: Any, axis: str, by: str | Sequence[str], *, tol: float = BENIGN_TOL,
               cluster: str = "seed", ci: float = 0.95, theory: str | None = None,
               l2: float = 1e-3) -> pd.DataFrame:
    """:func:`boundary` separately for every value of ``by`` (e.g. the SNR boundary per init scale).

    Returns:
        DataFrame, one row per value of ``by`` (sorted), with the ``by`` column(s) and the
        :class:`BoundaryFit` fields (``estimate``, ``ci_low``, ``ci_high``, ``slope``, ``axis``,
        ``n_runs`` ...).
    """
    df = _with_axis(_run_frame(results), axis, theory)
    by = [by] if isinstance(by, str) else list(by)
    missing = [b for b in by if b not in df.columns]
    if missing:
        raise ValueError(f"by={missing} are not columns of the results")
    rows = []
    for key, sub in df.groupby(by, sort=True, dropna=False):
        f = boundary(sub, axis, tol=tol, cluster=cluster, ci=ci, theory=theory, l2=l2)
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), **f.to_dict()})
    return pd.DataFrame(rows)


def fit_scaling(results: Any, variables: Sequence[str] = ("d", "n", "sigma_p"), *,
                tol: float = BENIGN_TOL, cluster: str = "seed", q: float | None = None,
                ci: float = 0.95, l2: float = 1e-3) -> pd.DataFrame:
    """Scaling of the critical ``|mu|``: logistic regression of the per-run benign label on
    ``log mu_norm`` and ``log x`` for each ``x`` in ``variables`` that varies; ``slope_x = -coef_x /
    coef_mu`` (``d log mu_crit / d log x``), with cluster-jackknife t intervals (as
    :func:`fit_boundary`; no widening for separated labels).

    Args:
        results: one row per run (DataFrame or Dataset) with ``test_error``, ``p``, ``mu_norm``,
            the variables and ``seed``.
        variables: candidate variables; only those that vary are fitted.
        tol, cluster, ci, l2: as :func:`boundary`.
        q: polynomial-ReLU power for Cao's predicted ``n`` slope ``-1/q`` (NaN without it).

    Returns:
        One row per fitted variable: ``slope, ci_low, ci_high, kou2023, cao2022`` (Cao:
        ``+1/2, -1/q, +1``) and whether each prediction lies in the interval. Empty when
        ``mu_norm`` does not vary or one class is missing.
    """
    df = _run_frame(results)
    empty = pd.DataFrame(columns=["slope", "ci_low", "ci_high", "kou2023", "cao2022"])
    if "mu_norm" not in df.columns:
        return empty
    y = _labels(df, tol)
    cols = ["mu_norm"] + [v for v in variables if v in df.columns and df[v].nunique() > 1]
    X = df[cols].to_numpy(float)
    ok = np.all(np.isfinite(X) & (X > 0), axis=1) & np.isfinite(y)
    from .compare import _keys

    groups = _groups(df, cluster, _keys(df, None))
    X, y = np.log(X[ok]), y[ok]
    g = np.arange(len(y)) if groups is None else groups[ok]
    if len(np.unique(X[:, 0])) < 2 or not 0 < y.sum() < len(y):
        return empty
    gc, _ = _codes(g)
    fit = _cluster_fit(X, y, np.ones(len(y)), gc, l2)

    def stat(beta: np.ndarray) -> np.ndarray:
        c = beta[1:] / fit.sd
        return -c[1:] / c[0] if c[0] > 0 else np.full(len(c) - 1, np.nan)

    s = stat(fit.beta)
    lo, hi, _ = _jackknife_ci(s, np.array([stat(b) for b in fit.loo]), ci)
    cao = {"d": 0.5, "n": -1.0 / q if q else math.nan, "sigma_p": 1.0}
    out = pd.DataFrame({"slope": s, "ci_low": lo, "ci_high": hi,
                        "kou2023": [KOU_SLOPES.get(v, math.nan) for v in cols[1:]],
                        "cao2022": [cao.get(v, math.nan) for v in cols[1:]]},
                       index=pd.Index(cols[1:], name="variable"))
    for t in ("kou2023", "cao2022"):
        out[f"{t}_in_ci"] = (out[t] >= out.ci_low) & (out[t] <= out.ci_high)
    return out


# ----------------------------------------------------------------------------- envelope constants
def calibrate(table: pd.DataFrame, theory: str = "kou2023", c2_quantile: float = 1.0,
              label_col: str = "regime_empirical") -> dict[str, float]:
    """Smallest-envelope constants on the theory's ``phi`` axis from a cell table.

    ``benign_at``: the smallest benign-cell phi above every non-benign cell; ``harmful_at``: the
    largest harmful-cell phi below every non-harmful cell.  Kou-form theories also get ``C2``
    (the ``c2_quantile`` of ``phi / -log(test_error - p)`` over benign cells with positive excess,
    so ``p + exp(-phi/C2)`` covers that fraction of them) and ``C4`` (smallest excess error of
    the cells with ``phi <= harmful_at``).  NaN where undefined. :func:`theory_constants` turns
    them into the theory's keyword constants.
    """
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


def theory_constants(calibrated: Mapping[str, float], theory: str = "kou2023") -> dict[str, float]:
    """The theory's keyword constants (``C1`` ... ``C4``) from :func:`calibrate`'s envelope, leaving
    out the undefined (NaN) ones. Kou form: ``C1 = benign_at``, ``C3 = harmful_at``; Cao 2022:
    ``C1 = benign_at``, ``C3 = 1/harmful_at``.

    Example:
        >>> theory_constants({"benign_at": 4.0, "harmful_at": 2.0, "C2": float("nan"), "C4": 0.2})
        {'C1': 4.0, 'C3': 2.0, 'C4': 0.2}
    """
    ben, harm = calibrated.get("benign_at", math.nan), calibrated.get("harmful_at", math.nan)
    out = {"C1": ben, "C3": (1.0 / harm if harm else math.nan) if theory == "cao2022" else harm}
    if theory in _KOU_FORM:
        out |= {"C2": calibrated.get("C2", math.nan), "C4": calibrated.get("C4", math.nan)}
    return {k: float(v) for k, v in out.items() if v is not None and np.isfinite(v)}


__all__ = ["BENIGN_TOL", "BoundaryFit", "KOU_SLOPES", "boundaries", "boundary", "calibrate", "fit_boundary",
           "fit_scaling", "is_benign", "logistic_regression", "theory_constants"]
