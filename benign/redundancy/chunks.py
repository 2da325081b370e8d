"""Redundant representations: chunks of a wide layer that carry the whole layer's information.

Protocol of Doimo, Glielmo, Goldt and Laio (NeurIPS 2022), as pure numpy functions of a trained
network's hidden representation ``H`` (N inputs x W neurons, real) and its readout:

* per-class readout ``(A, b)`` with ``A`` of shape (C, W) and ``b`` of shape (C,): logits
  ``H @ A.T + b``, prediction ``argmax`` (first index on ties), labels integers in ``[0, C)``;
* binary signed readout ``(a, b)`` with ``a`` of shape (W,) and scalar ``b``: logit ``H @ a + b``,
  prediction ``+1`` if the logit is ``> 0`` else ``-1``; labels in ``{-1, +1}`` or ``{0, 1}``
  (0 is read as -1). For the two-layer CNN, W = 2m per-filter responses and ``a`` is the signed
  output layer.

A *chunk* is a set of ``w`` neurons drawn without replacement (indices kept sorted). With
``balanced=True`` the draw is stratified: neurons are grouped by the class they vote for most
(``argmax_c A[c, j]``) or by the sign of ``a_j`` (``a_j >= 0`` vs ``< 0``), and each stratum gets
``floor(w * W_s / W)`` neurons, the remaining ones going to the strata with the largest
fractional parts (ties broken at random). ``balanced=False`` is the authors' uniform draw.

See ``docs/redundancy.md`` for the formulas, thresholds and measured behaviour. The information
imbalance lives in :mod:`benign.redundancy.imbalance`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import linregress

__all__ = [
    "ChunkErrors", "ChunkReconstruction", "RedundancyGroups", "ErrorScaling",
    "default_sizes", "neuron_strata", "draw_chunk", "chunk_logits", "chunk_predict",
    "chunk_errors", "chunk_reconstruction", "critical_chunk_size", "count_groups", "error_scaling",
]

Readout = tuple[ArrayLike, ArrayLike | float]


# ----------------------------------------------------------------------------- validation
def _as_H(H: ArrayLike, name: str = "H") -> np.ndarray:
    arr = np.asarray(H, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D (N >= 2 inputs x W >= 1 neurons), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    return arr


def _parse_readout(readout: Readout, W: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Return ``(A (C, W) float64, b (C,) float64, binary)`` from either readout form."""
    try:
        A, b = readout
    except (TypeError, ValueError):
        raise ValueError("readout must be a pair (A, b) or (a, b)") from None
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(b))):
        raise ValueError("readout contains non-finite values (NaN or inf): its chunk errors would be meaningless "
                         "(a diverged network?); give a finite readout")
    if A.ndim == 1:
        if A.shape[0] != W or b.size != 1:
            raise ValueError(f"readout: binary a must be ({W},) and b a scalar, got {A.shape}, {b.shape}")
        return A[None, :], b.reshape(1), True
    if A.ndim != 2 or A.shape[1] != W or b.shape != (A.shape[0],):
        raise ValueError(f"readout: A must be (C, {W}) and b (C,), got {A.shape}, {b.shape}")
    return A, b, False


def _labels(labels: ArrayLike, N: int, C: int, binary: bool, name: str = "labels") -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (N,):
        raise ValueError(f"{name} must have shape ({N},), got {y.shape}")
    if binary:
        if not np.all(np.isin(y, (-1, 0, 1))):
            raise ValueError(f"{name} for a binary readout must be in {{-1, +1}} or {{0, 1}}")
        return np.where(y > 0, 1, -1)
    if not np.all((y == np.round(y)) & (y >= 0) & (y < C)):
        raise ValueError(f"{name} must be integers in [0, {C})")
    return y.astype(np.int64)


def _sizes(sizes: ArrayLike, W: int) -> np.ndarray:
    s = np.asarray(sizes)
    if s.ndim != 1 or s.size == 0 or not np.all(s == np.round(s)):
        raise ValueError(f"sizes must be a non-empty 1-D sequence of integers, got {sizes!r}")
    s = s.astype(np.int64)
    if s.min() < 1 or s.max() > W:
        raise ValueError(f"sizes must lie in [1, W={W}], got min {s.min()} max {s.max()}")
    return s


def _n_draws(n_draws: int) -> int:
    if int(n_draws) != n_draws or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}")
    return int(n_draws)


# ----------------------------------------------------------------------------- chunks
def default_sizes(W: int) -> np.ndarray:
    """Chunk sizes ``1, 2, 4, ..., 2^k <= W`` plus ``W`` itself; int64 array, increasing."""
    if W < 1:
        raise ValueError(f"W must be >= 1, got {W}")
    s = [2**k for k in range(int(np.log2(W)) + 1)]
    return np.array(s + ([W] if s[-1] != W else []), dtype=np.int64)


def neuron_strata(readout: Readout, W: int) -> np.ndarray:
    """Stratum of each neuron for balanced chunks, int64 of shape (W,).

    Per-class readout: ``argmax_c A[c, j]`` (the class neuron ``j`` votes for most). Binary
    readout: 1 where ``a_j >= 0``, 0 where ``a_j < 0``.
    """
    A, _, binary = _parse_readout(readout, W)
    if binary:
        return (A[0] >= 0).astype(np.int64)
    return np.argmax(A, axis=0).astype(np.int64)


def draw_chunk(W: int, w: int, rng: np.random.Generator, strata: np.ndarray | None = None) -> np.ndarray:
    """Sorted int64 indices of ``w`` distinct neurons out of ``W``.

    Uniform without replacement if ``strata`` is None; otherwise proportional stratified
    allocation (see module docstring). ``w == W`` always returns ``arange(W)``.
    """
    if not 1 <= w <= W:
        raise ValueError(f"w must lie in [1, W={W}], got {w}")
    if w == W:
        return np.arange(W)
    if strata is None:
        return np.sort(rng.choice(W, size=w, replace=False))
    labels, counts = np.unique(strata, return_counts=True)
    quota = w * counts / W
    take = np.floor(quota).astype(np.int64)
    rest = w - int(take.sum())
    if rest:
        order = np.lexsort((rng.random(labels.size), -(quota - take)))
        take[order[:rest]] += 1
    parts = [rng.choice(np.flatnonzero(strata == lab), size=k, replace=False)
             for lab, k in zip(labels, take) if k]
    return np.sort(np.concatenate(parts))


def _logits(H: np.ndarray, A: np.ndarray, b: np.ndarray, chunk: np.ndarray | None) -> np.ndarray:
    if chunk is not None and len(chunk) != H.shape[1]:
        H, A = H[:, chunk], A[:, chunk]
    return H @ A.T + b


def _predict(logits: np.ndarray, binary: bool) -> np.ndarray:
    return np.where(logits[:, 0] > 0, 1, -1) if binary else np.argmax(logits, axis=1)


def chunk_logits(H: ArrayLike, readout: Readout, chunk: ArrayLike | None = None) -> np.ndarray:
    """Logits of the trained readout restricted to ``chunk`` (distinct indices; nothing retrained).

    Returns float64 (N, C), or (N,) for the binary readout. ``chunk=None`` or a chunk of all W
    neurons gives exactly (bitwise) ``H @ A.T + b``.
    """
    H = _as_H(H)
    A, b, binary = _parse_readout(readout, H.shape[1])
    out = _logits(H, A, b, None if chunk is None else np.asarray(chunk, dtype=np.int64))
    return out[:, 0] if binary else out


def chunk_predict(H: ArrayLike, readout: Readout, chunk: ArrayLike | None = None) -> np.ndarray:
    """Predicted labels of the restricted readout: int64 (N,), classes or ``+-1`` (binary)."""
    H = _as_H(H)
    A, b, binary = _parse_readout(readout, H.shape[1])
    return _predict(_logits(H, A, b, None if chunk is None else np.asarray(chunk, dtype=np.int64)), binary)


# ----------------------------------------------------------------------------- chunk errors
@dataclass(frozen=True)
class ChunkErrors:
    """Error of the restricted readout: ``sizes`` int64 (S,); ``mean``, ``std`` over draws,
    float64 (S,); ``errors`` per draw, float64 (S, n_draws) (the w = W row repeats one value)."""

    sizes: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    errors: np.ndarray


def chunk_errors(H: ArrayLike, readout: Readout, labels: ArrayLike, sizes: ArrayLike, n_draws: int,
                 rng: np.random.Generator | int, *, balanced: bool = True) -> ChunkErrors:
    """Classification error of random chunks read out by the trained readout restricted to them.

    Args:
        H: representation (N, W). readout: see module docstring. labels: (N,).
        sizes: chunk sizes in ``[1, W]``. n_draws: chunks per size.
        rng: Generator or seed; the same seed gives the same chunks on train and test data.
        balanced: stratify chunks by preferred class / readout sign (module docstring).

    Raises:
        ValueError: for non-finite ``H`` or readout (a NaN readout would otherwise give finite,
            meaningless errors), or sizes, labels or ``n_draws`` out of range.
    """
    H = _as_H(H)
    N, W = H.shape
    A, b, binary = _parse_readout(readout, W)
    y = _labels(labels, N, A.shape[0], binary)
    sizes, n_draws = _sizes(sizes, W), _n_draws(n_draws)
    rng = np.random.default_rng(rng)
    strata = neuron_strata(readout, W) if balanced else None
    errs = np.empty((sizes.size, n_draws))
    for i, w in enumerate(sizes):
        for d in range(n_draws if w < W else 1):
            chunk = draw_chunk(W, int(w), rng, strata)
            errs[i, d] = np.mean(_predict(_logits(H, A, b, chunk), binary) != y)
        if w == W:
            errs[i, :] = errs[i, 0]
    return ChunkErrors(sizes, errs.mean(axis=1), errs.std(axis=1), errs)


# ----------------------------------------------------------------------------- reconstruction
@dataclass(frozen=True)
class ChunkReconstruction:
    """Reconstruction of the layer from chunks; all curves float64 (S,), mean/std over draws.

    ``r2_*``: variance-weighted R^2. ``corr_out_*``: mean |corr| of the residuals among alive
    neurons outside the chunk (NaN if fewer than 2, e.g. w = W). ``corr_all_*``: same over all
    alive neurons (the authors' variant; chunk members' ~0 residuals bias it down).
    ``n_dead``: constant neurons dropped; ``n_eval``: rows the metrics are computed on.
    """

    sizes: np.ndarray
    r2_mean: np.ndarray
    r2_std: np.ndarray
    corr_out_mean: np.ndarray
    corr_out_std: np.ndarray
    corr_all_mean: np.ndarray
    corr_all_std: np.ndarray
    n_dead: int
    n_eval: int


def _mean_abs_offdiag(C: np.ndarray) -> float:
    n = C.shape[0]
    if n < 2:
        return float("nan")
    a = np.abs(C)
    return float((a.sum() - np.trace(a)) / (n * (n - 1)))


def _ridge(X: np.ndarray, Y: np.ndarray, alpha: float) -> np.ndarray:
    """Ridge coefficients (w, W) of centred Y on centred X through ``eigh(X^T X)``.

    With alpha > 0 this is accurate to ~eps * lambda_max / alpha and several times faster than
    an SVD of X; alpha = 0 falls back to the minimum-norm least-squares solution.
    """
    if alpha == 0:
        return np.linalg.lstsq(X, Y, rcond=None)[0]
    lam, V = np.linalg.eigh(X.T @ X)
    return V @ ((V.T @ (X.T @ Y)) / (np.maximum(lam, 0.0) + alpha)[:, None])


def chunk_reconstruction(H: ArrayLike, sizes: ArrayLike, n_draws: int, rng: np.random.Generator | int,
                         alpha: float = 1e-8, *, strata: np.ndarray | None = None, holdout: float = 0.0,
                         dead_tol: float = 1e-12) -> ChunkReconstruction:
    """Ridge regression from random chunks to the whole layer; R^2 and residual correlation.

    For a chunk S: ``Y`` = alive neurons (N x W_alive), ``X = H[:, S]`` (alive members), both
    centred on the fitting rows (this is the intercept); ``beta = (X^T X + alpha I)^-1 X^T Y``
    (via ``eigh``); residuals ``E = Y - X beta``; ``R^2 = 1 - sum E^2 / sum Y^2`` (variance
    weighted); residual correlation ``corr_jk = cov(E_j, E_k) / (sqrt(var E_j var E_k) + eps)``
    with ``eps = 1e-8 * mean_j var(Y_j)`` (the authors' absolute 1e-8 made scale-free).

    Args:
        H: representation (N, W). sizes: chunk sizes in [1, W]. n_draws: chunks per size.
        rng: Generator or seed. alpha: absolute ridge penalty (default 1e-8, as the authors).
        strata: optional (W,) stratum labels for balanced chunks (see :func:`neuron_strata`).
        holdout: fraction of rows held out: fit on the rest, evaluate R^2 and residuals on the
            held-out rows (0 = in-sample, the authors' protocol; in-sample R^2 is inflated when
            ``w`` approaches the number of rows).
        dead_tol: a neuron is dead (constant) if its std is ``<= dead_tol * max std``; dead
            neurons are dropped from inputs and targets and counted in ``n_dead``.
    """
    H = _as_H(H)
    N, W = H.shape
    sizes, n_draws = _sizes(sizes, W), _n_draws(n_draws)
    if not 0.0 <= holdout < 1.0:
        raise ValueError(f"holdout must lie in [0, 1), got {holdout}")
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    if strata is not None and np.shape(strata) != (W,):
        raise ValueError(f"strata must have shape ({W},), got {np.shape(strata)}")
    rng = np.random.default_rng(rng)
    std = H.std(axis=0)
    alive = std > dead_tol * max(std.max(), np.finfo(float).tiny)
    n_dead = int(W - alive.sum())
    if alive.sum() < 1:
        raise ValueError("H has no non-constant neuron")
    pos = np.cumsum(alive) - 1  # column of each alive neuron inside Y
    if holdout > 0:
        perm = rng.permutation(N)
        n_ev = max(2, int(round(holdout * N)))
        if N - n_ev < 2:
            raise ValueError(f"holdout={holdout} leaves fewer than 2 fitting rows")
        fit_rows, ev_rows = np.sort(perm[n_ev:]), np.sort(perm[:n_ev])
    else:
        fit_rows = ev_rows = np.arange(N)
    Ha = H[:, alive]
    mu = Ha[fit_rows].mean(axis=0)
    Yf, Ye = Ha[fit_rows] - mu, Ha[ev_rows] - mu
    eps = 1e-8 * float(Ye.var(axis=0).mean())
    sst = float((Ye**2).sum())
    out = np.full((3, sizes.size, n_draws), np.nan)
    for i, w in enumerate(sizes):
        for d in range(n_draws if w < W else 1):
            chunk = draw_chunk(W, int(w), rng, strata)
            cols = pos[chunk[alive[chunk]]]
            if cols.size:
                E = Ye - Ye[:, cols] @ _ridge(Yf[:, cols], Yf, alpha)
            else:
                E = Ye
            Ec = E - E.mean(axis=0)
            cov = Ec.T @ Ec
            sd = np.sqrt(np.diag(cov))
            corr = cov / (np.outer(sd, sd) + eps * (Ec.shape[0]))
            outside = np.setdiff1d(np.arange(Ye.shape[1]), cols)
            out[:, i, d] = (1.0 - float((E**2).sum()) / sst,
                            _mean_abs_offdiag(corr[np.ix_(outside, outside)]),
                            _mean_abs_offdiag(corr))
        if w == W:
            out[:, i, :] = out[:, i, :1]
    with warnings.catch_warnings():  # all-NaN rows (no neuron outside the full layer)
        warnings.simplefilter("ignore", RuntimeWarning)
        m, s = np.nanmean(out, axis=2), np.nanstd(out, axis=2)
    return ChunkReconstruction(sizes, m[0], s[0], m[1], s[1], m[2], s[2], n_dead, int(ev_rows.size))


# ----------------------------------------------------------------------------- groups
@dataclass(frozen=True)
class RedundancyGroups:
    """Critical chunk size ``w_c`` (``width`` if not ``found``), ``groups = width / w_c``.

    ``sizes`` int64 (S,); ``qualifies`` bool (S,) per-size verdict (False at w = W, never
    evaluated); curves float64 (S,) or None; thresholds used (``inf``: criterion not applied).
    """

    width: int
    w_c: int
    groups: float
    found: bool
    sizes: np.ndarray
    qualifies: np.ndarray
    r2: np.ndarray
    corr_out: np.ndarray | None
    corr_all: np.ndarray | None
    test_err: np.ndarray | None
    train_err: np.ndarray | None
    r2_min: float
    corr_max: float
    train_err_max: float
    n_dead: int = 0


def _curve(x: ArrayLike | None, S: int, name: str) -> np.ndarray | None:
    if x is None:
        return None
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != (S,):
        raise ValueError(f"{name} must have shape ({S},) like sizes, got {arr.shape}")
    return arr


def critical_chunk_size(sizes: ArrayLike, width: int, *, r2: ArrayLike, corr_out: ArrayLike | None = None,
                        train_err: ArrayLike | None = None, r2_min: float = 0.95, corr_max: float = 0.1,
                        train_err_max: float = 0.01, corr_all: ArrayLike | None = None,
                        test_err: ArrayLike | None = None, n_dead: int = 0) -> RedundancyGroups:
    """Smallest chunk size from which every larger proper chunk is redundant.

    A proper size ``w < width`` qualifies when ``r2 >= r2_min`` ("R^2 about 1"),
    ``corr_out <= corr_max`` ("decorrelated residuals"; skipped if ``corr_out`` is None) and
    ``train_err <= train_err_max`` ("zero chunk training error"; skipped if None). ``w_c`` is
    the smallest qualifying size such that all larger proper sizes qualify too (one noisy
    size cannot create a spurious plateau). The full width is never evaluated: it reconstructs
    itself trivially and has no neuron outside it.

    No qualifying size: ``w_c = width`` and ``groups = 1`` with ``found=False`` -- the whole
    layer is the only set known to carry its information, i.e. one group. This keeps
    groups-vs-width curves defined below the critical width (the paper's flat part); use
    ``found`` to tell "one group" from "redundant".
    """
    s = _sizes(sizes, int(width))
    S = s.size
    r2a = _curve(r2, S, "r2")
    co, tr = _curve(corr_out, S, "corr_out"), _curve(train_err, S, "train_err")
    ok = (s < width) & (r2a >= r2_min)
    if co is not None:
        ok &= co <= corr_max
    if tr is not None:
        ok &= tr <= train_err_max
    order = np.argsort(s)
    w_c, found = int(width), False
    for k in range(S - 1, -1, -1):  # walk down from the largest size while all qualify
        j = order[k]
        if s[j] >= width:
            continue
        if not ok[j]:
            break
        w_c, found = int(s[j]), True
    return RedundancyGroups(
        int(width), w_c, float(width) / w_c, found, s, ok, r2a, co, _curve(corr_all, S, "corr_all"),
        _curve(test_err, S, "test_err"), tr, float(r2_min),
        float(corr_max) if co is not None else float("inf"),
        float(train_err_max) if tr is not None else float("inf"), int(n_dead))


def count_groups(H: ArrayLike, readout: Readout, labels: ArrayLike, *, rng: np.random.Generator | int,
                 H_train: ArrayLike | None = None, labels_train: ArrayLike | None = None,
                 sizes: ArrayLike | None = None, n_draws: int = 100, n_draws_rec: int = 40,
                 balanced: bool = True, alpha: float = 1e-8, holdout: float = 0.0, r2_min: float = 0.95,
                 corr_max: float = 0.1, train_err_max: float = 0.01) -> RedundancyGroups:
    """Run the whole protocol on one layer and return :class:`RedundancyGroups`.

    Args:
        H: test representation (N, W); the reconstruction and the test error use it.
        readout: trained readout.
        labels: test labels (N,).
        rng: Generator or seed (keyword, required).
        H_train: training representation (N_train, W); when given with ``labels_train``, the
            chunk training error enters the criterion, otherwise it is skipped.
        labels_train: training labels (N_train,).
        sizes: chunk sizes (default :func:`default_sizes`).
        n_draws: chunks per size for the errors (authors: 100).
        n_draws_rec: chunks per size for the reconstruction (40).
        balanced: passed to :func:`chunk_errors` / :func:`chunk_reconstruction`.
        alpha: passed to :func:`chunk_errors` / :func:`chunk_reconstruction`.
        holdout: passed to :func:`chunk_errors` / :func:`chunk_reconstruction`.
        r2_min: threshold of :func:`critical_chunk_size`.
        corr_max: threshold of :func:`critical_chunk_size`.
        train_err_max: threshold of :func:`critical_chunk_size`.
    """
    H = _as_H(H)
    W = H.shape[1]
    sizes = default_sizes(W) if sizes is None else _sizes(sizes, W)
    rng = np.random.default_rng(rng)
    seed = int(rng.integers(2**63))  # same chunks for the test and training errors
    test = chunk_errors(H, readout, labels, sizes, n_draws, seed, balanced=balanced)
    train = None
    if H_train is not None:
        if labels_train is None:
            raise ValueError("labels_train is required with H_train")
        Ht = _as_H(H_train, "H_train")
        if Ht.shape[1] != W:
            raise ValueError(f"H_train must have W={W} columns, got {Ht.shape[1]}")
        train = chunk_errors(Ht, readout, labels_train, sizes, n_draws, seed, balanced=balanced)
    strata = neuron_strata(readout, W) if balanced else None
    rec = chunk_reconstruction(H, sizes, n_draws_rec, rng, alpha, strata=strata, holdout=holdout)
    return critical_chunk_size(
        sizes, W, r2=rec.r2_mean, corr_out=rec.corr_out_mean,
        train_err=None if train is None else train.mean, r2_min=r2_min, corr_max=corr_max,
        train_err_max=train_err_max, corr_all=rec.corr_all_mean, test_err=test.mean,
        n_dead=rec.n_dead)


# ----------------------------------------------------------------------------- scaling
@dataclass(frozen=True)
class ErrorScaling:
    """Fit ``log(chunk_err - err_inf) = intercept + slope * log(w)`` (natural logs); ``stderr``
    of the slope and ``rvalue`` from ``scipy.stats.linregress``; the fitted points (float64);
    ``n_dropped``: points with ``w >= w_min`` left out because their excess was ``<= 0``."""

    slope: float
    stderr: float
    intercept: float
    rvalue: float
    sizes_used: np.ndarray
    excess_used: np.ndarray
    n_dropped: int


def error_scaling(sizes: ArrayLike, chunk_err: ArrayLike, err_inf: float, *, w_min: float | None = None,
                  min_points: int = 3) -> ErrorScaling:
    """Fit the exponent of ``chunk_err - err_inf`` versus ``w`` for ``w >= w_min`` (e.g. w_c).

    Sizes whose excess is ``<= 0`` cannot enter a log-log fit and are dropped (counted).
    Raises ValueError if fewer than ``min_points`` (default 3, so that the standard error
    has at least one degree of freedom) points remain.
    """
    s = np.asarray(sizes, dtype=np.float64)
    e = np.asarray(chunk_err, dtype=np.float64)
    if s.ndim != 1 or e.shape != s.shape:
        raise ValueError(f"sizes and chunk_err must be 1-D of equal length, got {s.shape}, {e.shape}")
    if np.any(s <= 0):
        raise ValueError("sizes must be positive")
    if not np.isfinite(err_inf):
        raise ValueError(f"err_inf must be finite, got {err_inf}")
    keep = s >= (w_min if w_min is not None else -np.inf)
    excess = e - err_inf
    pos = keep & (excess > 0)
    if pos.sum() < max(min_points, 2):
        raise ValueError(f"sizes: only {int(pos.sum())} points with w >= w_min and positive excess; "
                         f"need {max(min_points, 2)}")
    fit = linregress(np.log(s[pos]), np.log(excess[pos]))
    return ErrorScaling(float(fit.slope), float(fit.stderr), float(fit.intercept), float(fit.rvalue),
                        s[pos], excess[pos], int((keep & ~pos).sum()))


# ----------------------------------------------------------------------------- two-layer CNN
