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
fractional parts (ties broken at random). ``balanced=False`` (the default) is the authors'
uniform draw.

See ``docs/redundancy.md`` for the formulas, thresholds and measured behaviour. The information
imbalance lives in :mod:`benign.redundancy.imbalance`.
"""
# pyright: reportAttributeAccessIssue=false, reportArgumentType=false, reportGeneralTypeIssues=false, reportCallIssue=false, reportIndexIssue=false, reportOptionalSubscript=false, reportOptionalOperand=false
# (pandas' and numpy's overloads are too loose for pyright's basic mode in this table-heavy module)

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
    "loo_ridge_alpha", "ALPHA_GRID",
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
def default_sizes(W: int, per_octave: int = 1) -> np.ndarray:
    """Chunk sizes on a geometric grid plus ``W``: int64, increasing, distinct.

    ``per_octave = 1`` gives ``1, 2, 4, ..., 2^k <= W`` (the authors' grid); ``per_octave = p``
    gives ``round(2^(i/p)) <= W`` for i = 0, 1, ... (duplicates removed), a finer grid for
    interpolated crossings.
    """
    if int(W) != W or W < 1:
        raise ValueError(f"W must be an integer >= 1, got {W}")
    if int(per_octave) != per_octave or per_octave < 1:
        raise ValueError(f"per_octave must be an integer >= 1, got {per_octave}")
    W, p = int(W), int(per_octave)
    n = int(np.floor(p * np.log2(W) + 1e-9)) + 1
    s = np.unique(np.round(2.0 ** (np.arange(n) / p)).astype(np.int64))
    s = s[s <= W]
    return np.unique(np.concatenate([s, [W]])).astype(np.int64)


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
                 rng: np.random.Generator | int, *, balanced: bool = False, nested: bool = True) -> ChunkErrors:
    """Classification error of random chunks read out by the trained readout restricted to them.

    Args:
        H: representation (N, W). readout: see module docstring. labels: (N,).
        sizes: chunk sizes in ``[1, W]``. n_draws: chunks per size.
        rng: Generator or seed; the same seed gives the same chunks on train and test data.
        balanced: stratify chunks by preferred class / readout sign (module docstring); the
            default False is the authors' uniform draw.
        nested: uniform chunks only: draw one random permutation of the W neurons per draw and
            take its first ``w`` entries as the chunk of every size ``w`` (each chunk is still a
            uniform draw without replacement; the sizes of one draw are nested). One pass over
            the layer per draw instead of one gather per chunk. ``False``: independent chunks
            per size, drawn with :func:`draw_chunk`.
    """
    H = _as_H(H)
    N, W = H.shape
    A, b, binary = _parse_readout(readout, W)
    y = _labels(labels, N, A.shape[0], binary)
    sizes, n_draws = _sizes(sizes, W), _n_draws(n_draws)
    rng = np.random.default_rng(rng)
    strata = neuron_strata(readout, W) if balanced else None
    errs = np.empty((sizes.size, n_draws))
    if nested and not balanced:
        order = np.argsort(sizes)
        ss = sizes[order]
        for d in range(n_draws):
            perm = rng.permutation(W)
            logits, prev = np.broadcast_to(b, (N, A.shape[0])).copy(), 0
            for k, w in zip(order, ss):
                cols = perm[prev:w]
                logits += H[:, cols] @ A[:, cols].T
                prev = int(w)
                errs[k, d] = np.mean(_predict(logits, binary) != y)
        return ChunkErrors(sizes, errs.mean(axis=1), errs.std(axis=1), errs)
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

    ``r2_*``: variance-weighted R^2 over all alive neurons (the authors' number; chunk members
    count). ``r2_out_*``: the same over the alive neurons outside the chunk only (NaN at w = W).
    ``corr_out_*``: mean |corr| of the residuals among alive neurons outside the chunk (NaN if
    fewer than 2, e.g. w = W). ``corr_all_*``: same over all alive neurons (the authors' variant;
    chunk members' ~0 residuals bias it down). ``skipped`` bool (S,): sizes not evaluated because
    ``w >= n_fit - 1`` (the centred fitting rows have rank ``n_fit - 1``, so a chunk that large
    fits them exactly); their curves are NaN. ``alpha`` (S,): ridge penalty used per size (the
    cross-validated one with ``alpha='cv'``). ``n_dead``: constant neurons dropped; ``n_fit``,
    ``n_eval``: rows the regression is fitted and scored on; ``mode``: ``'in-sample'``,
    ``'holdout'`` or ``'separate'`` (fitted on ``H_fit``, scored on ``H``).
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
    r2_out_mean: np.ndarray | None = None
    r2_out_std: np.ndarray | None = None
    skipped: np.ndarray | None = None
    alpha: np.ndarray | None = None
    n_fit: int = 0
    mode: str = "in-sample"


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


ALPHA_GRID = np.logspace(-6, 2, 9)
"""Relative ridge penalties tried by ``alpha='cv'``, in units of the mean eigenvalue of ``X^T X``."""


def loo_ridge_alpha(X: np.ndarray, Y: np.ndarray, alphas: ArrayLike) -> tuple[float, np.ndarray]:
    """Leave-one-out choice of the ridge penalty for a multi-output ridge with free intercept.

    The hat matrix of ridge with an unpenalised intercept on centred ``X`` is
    ``11^T / n + U diag(s^2 / (s^2 + alpha)) U^T`` (``X = U diag(s) V^T``, thin SVD), so the
    leave-one-out residuals are exactly ``e_i / (1 - h_ii)`` with ``e`` the in-sample residuals.

    Args:
        X: centred inputs (n, w), float64. Y: centred targets (n, T), float64.
        alphas: candidate absolute penalties (K,), all > 0.

    Returns:
        ``(best alpha, loo mean squared error per alpha (K,))``.
    """
    n = X.shape[0]
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    Z = U.T @ Y
    perp = Y - U @ Z
    out = np.empty(len(alphas))
    for k, a in enumerate(alphas):
        f = s**2 / (s**2 + a)
        E = perp + U @ ((1.0 - f)[:, None] * Z)
        h = 1.0 / n + (U**2) @ f
        out[k] = float(np.mean((E / (1.0 - h)[:, None]) ** 2))
    return float(alphas[int(np.argmin(out))]), out


def chunk_reconstruction(H: ArrayLike, sizes: ArrayLike, n_draws: int, rng: np.random.Generator | int,
                         alpha: float | str = 1e-8, *, H_fit: ArrayLike | None = None,
                         strata: np.ndarray | None = None, holdout: float = 0.0, dead_tol: float = 1e-12,
                         max_corr: int | None = None, cv_targets: int = 256, max_targets: int | None = None,
                         max_size: int | None = None, corr_all: bool = True) -> ChunkReconstruction:
    """Ridge regression from random chunks to the whole layer; R^2 and residual correlation.

    For a chunk S: targets ``Y`` = alive neurons, inputs ``X = Y[:, S]`` (alive members), both
    centred with the means of the fitting rows (this is the intercept);
    ``beta = (X^T X + alpha I)^-1 X^T Y`` fitted on the fitting rows; residuals
    ``E = Y - X beta`` on the evaluation rows; ``R^2 = 1 - sum E^2 / sum Y^2`` (variance
    weighted, ``Y`` centred with the fitting means); residual correlation
    ``corr_jk = cov(E_j, E_k) / (sqrt(var E_j var E_k) + eps)`` with
    ``eps = 1e-8 * mean_j var(Y_j)`` (the authors' absolute 1e-8 made scale-free).

    Rows: ``H_fit`` given -> fit on ``H_fit``, evaluate on ``H`` (e.g. training and test
    representations of the same network); else ``holdout > 0`` -> a random ``holdout`` fraction
    of the rows of ``H`` is evaluated, the rest fitted; else in-sample (the authors' protocol,
    inflated when ``w`` approaches the number of rows). In every mode sizes with
    ``w >= n_fit - 1`` are skipped (NaN, flagged in ``skipped``): they fit the rows exactly.
    Sizes above ``max_size`` are skipped the same way (to save time).

    Args:
        H: representation (N, W), real. sizes: chunk sizes in [1, W]. n_draws: chunks per size.
        rng: Generator or seed. alpha: absolute ridge penalty (>= 0; default 1e-8 as the
            authors), or ``'cv'``: per size, the penalty in ``ALPHA_GRID * tr(X^T X) / w`` with
            the smallest leave-one-out error (:func:`loo_ridge_alpha`) on the fitting rows, for
            the first chunk of that size and at most ``cv_targets`` random target neurons; it is
            reused for the size's other chunks.
        H_fit: optional fitting representation (N_fit, W) of the same neurons.
        strata: optional (W,) stratum labels for balanced chunks (see :func:`neuron_strata`).
        holdout: fraction of rows held out when ``H_fit`` is None, in [0, 1).
        dead_tol: a neuron is dead (constant) if its std on the fitting rows is
            ``<= dead_tol * max std``; dead neurons are dropped from inputs and targets.
        max_corr: if given, the residual correlations are averaged over at most this many
            random neurons (outside the chunk for ``corr_out``, any for ``corr_all``), redrawn
            per chunk: an unbiased estimate of the same mean at O(N max_corr^2) cost.
        cv_targets: target neurons used to choose alpha with ``alpha='cv'``.
        max_targets: if given, the targets (R^2, residuals) are a random subset of at most this
            many alive neurons, drawn once per call: R^2 then estimates the all-neuron value (chunk
            members enter the subset in proportion) at O(N w max_targets) cost per chunk.
        max_size: largest size evaluated (None: all sizes below ``n_fit - 1``).
        corr_all: compute ``corr_all`` (False: NaN, saves one correlation matrix per chunk).
    """
    H = _as_H(H)
    N, W = H.shape
    sizes, n_draws = _sizes(sizes, W), _n_draws(n_draws)
    cv = isinstance(alpha, str)
    if cv and alpha != "cv":
        raise ValueError(f"alpha must be a number >= 0 or 'cv', got {alpha!r}")
    if not cv and not alpha >= 0:
        raise ValueError(f"alpha must be >= 0 or 'cv', got {alpha}")
    if not 0.0 <= holdout < 1.0:
        raise ValueError(f"holdout must lie in [0, 1), got {holdout}")
    if strata is not None and np.shape(strata) != (W,):
        raise ValueError(f"strata must have shape ({W},), got {np.shape(strata)}")
    if max_corr is not None and (int(max_corr) != max_corr or max_corr < 2):
        raise ValueError(f"max_corr must be an integer >= 2 or None, got {max_corr!r}")
    if int(cv_targets) != cv_targets or cv_targets < 1:
        raise ValueError(f"cv_targets must be a positive integer, got {cv_targets!r}")
    if max_targets is not None and (int(max_targets) != max_targets or max_targets < 2):
        raise ValueError(f"max_targets must be an integer >= 2 or None, got {max_targets!r}")
    if max_size is not None and (int(max_size) != max_size or max_size < 1):
        raise ValueError(f"max_size must be a positive integer or None, got {max_size!r}")
    rng = np.random.default_rng(rng)
    if H_fit is not None:
        Hf = _as_H(H_fit, "H_fit")
        if Hf.shape[1] != W:
            raise ValueError(f"H_fit must have W={W} columns, got {Hf.shape[1]}")
        He, mode = H, "separate"
    elif holdout > 0:
        perm = rng.permutation(N)
        n_ev = max(2, int(round(holdout * N)))
        if N - n_ev < 2:
            raise ValueError(f"holdout={holdout} leaves fewer than 2 fitting rows")
        Hf, He, mode = H[np.sort(perm[n_ev:])], H[np.sort(perm[:n_ev])], "holdout"
    else:
        Hf = He = H
        mode = "in-sample"
    n_fit = Hf.shape[0]
    std = Hf.std(axis=0)
    alive = std > dead_tol * max(std.max(), np.finfo(float).tiny)
    n_alive = int(alive.sum())
    n_dead = W - n_alive
    if n_alive < 1:
        raise ValueError("H has no non-constant neuron")
    pos = np.cumsum(alive) - 1  # column of each alive neuron inside Y
    mu = Hf[:, alive].mean(axis=0)
    Yf, Ye = Hf[:, alive] - mu, He[:, alive] - mu
    sub_rng = rng.spawn(1)[0]  # neuron subsamples (does not advance rng: the chunks do not depend on them)
    if max_targets is not None and n_alive > max_targets:
        tgt_cols = np.sort(sub_rng.choice(n_alive, size=int(max_targets), replace=False))
    else:
        tgt_cols = np.arange(n_alive)
    in_tgt = np.full(n_alive, -1)
    in_tgt[tgt_cols] = np.arange(tgt_cols.size)
    Yf_t, Ye_t = Yf[:, tgt_cols], Ye[:, tgt_cols]
    eps = 1e-8 * float(Ye_t.var(axis=0).mean())
    sst = float((Ye_t**2).sum())
    skipped = ((sizes >= n_fit - 1) | (sizes > (max_size if max_size is not None else W))) & (sizes < W)
    alphas = np.full(sizes.size, np.nan if cv else float(alpha))
    out = np.full((4, sizes.size, n_draws), np.nan)

    def corr_mean(E: np.ndarray, cols: np.ndarray) -> float:
        if max_corr is not None and cols.size > max_corr:
            cols = np.sort(sub_rng.choice(cols, size=int(max_corr), replace=False))
        if cols.size < 2:
            return float("nan")
        Ec = E[:, cols] - E[:, cols].mean(axis=0)
        cov = Ec.T @ Ec
        sd = np.sqrt(np.diag(cov))
        return _mean_abs_offdiag(cov / (np.outer(sd, sd) + eps * Ec.shape[0]))

    for i, w in enumerate(sizes):
        if skipped[i]:
            continue
        for d in range(n_draws if w < W else 1):
            chunk = draw_chunk(W, int(w), rng, strata)
            cols = pos[chunk[alive[chunk]]]
            if cols.size:
                if cv and d == 0:
                    X = Yf[:, cols]
                    scale = float(np.sum(X**2)) / cols.size
                    tgt = rng.choice(n_alive, size=min(int(cv_targets), n_alive), replace=False)
                    alphas[i] = loo_ridge_alpha(X, Yf[:, tgt], ALPHA_GRID * max(scale, np.finfo(float).tiny))[0]
                E = Ye_t - Ye[:, cols] @ _ridge(Yf[:, cols], Yf_t, float(alphas[i]))
            else:
                E = Ye_t
            outside = np.ones(tgt_cols.size, bool)
            member = in_tgt[cols]
            outside[member[member >= 0]] = False
            out_cols = np.flatnonzero(outside)
            sso = float((Ye_t[:, out_cols] ** 2).sum())
            out[0, i, d] = 1.0 - float((E**2).sum()) / sst
            out[1, i, d] = corr_mean(E, out_cols)
            out[2, i, d] = corr_mean(E, np.arange(tgt_cols.size)) if corr_all else np.nan
            out[3, i, d] = 1.0 - float((E[:, out_cols] ** 2).sum()) / sso if out_cols.size and sso > 0 else np.nan
        if w == W:
            out[:, i, :] = out[:, i, :1]
    with warnings.catch_warnings():  # all-NaN rows (skipped sizes, no neuron outside the full layer)
        warnings.simplefilter("ignore", RuntimeWarning)
        m, s = np.nanmean(out, axis=2), np.nanstd(out, axis=2)
    return ChunkReconstruction(sizes, m[0], s[0], m[1], s[1], m[2], s[2], n_dead, int(He.shape[0]),
                               m[3], s[3], skipped, alphas, int(n_fit), mode)


# ----------------------------------------------------------------------------- groups
@dataclass(frozen=True)
class RedundancyGroups:
    """Critical chunk size ``w_c`` (``width`` if not ``found``), ``groups = width / w_c``.

    ``w_star``: the interpolated crossing (see :func:`critical_chunk_size`), ``groups_star =
    width / w_star``. ``sizes`` int64 (S,); ``qualifies`` bool (S,) per-size verdict (False at
    w = W, never evaluated, and at unmeasured sizes); curves float64 (S,) or None; thresholds
    used (``inf``: criterion not applied).
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
    w_star: float = float("nan")
    groups_star: float = float("nan")


def _curve(x: ArrayLike | None, S: int, name: str) -> np.ndarray | None:
    if x is None:
        return None
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != (S,):
        raise ValueError(f"{name} must have shape ({S},) like sizes, got {arr.shape}")
    return arr


def _ffill(v: np.ndarray | None, order: np.ndarray) -> np.ndarray | None:
    """NaN entries take the last finite value at a smaller size (sizes visited in ``order``)."""
    if v is None:
        return None
    v = v.copy()
    last = np.nan
    for j in order:
        if np.isfinite(v[j]):
            last = v[j]
        else:
            v[j] = last
    return v


def _log_crossing(w0: float, w1: float, v0: float, v1: float, thr: float) -> float:
    """Size where the straight line through (log w0, v0), (log w1, v1) reaches ``thr``."""
    t = 1.0 if v1 == v0 else float(np.clip((thr - v0) / (v1 - v0), 0.0, 1.0))
    return float(np.exp(np.log(w0) + t * (np.log(w1) - np.log(w0))))


def critical_chunk_size(sizes: ArrayLike, width: int, *, r2: ArrayLike, corr_out: ArrayLike | None = None,
                        train_err: ArrayLike | None = None, r2_min: float = 0.95, corr_max: float = 0.1,
                        train_err_max: float = 0.01, corr_all: ArrayLike | None = None,
                        test_err: ArrayLike | None = None, n_dead: int = 0) -> RedundancyGroups:
    """Smallest chunk size from which every larger measured proper chunk is redundant.

    A proper size ``w < width`` qualifies when ``r2 >= r2_min`` ("R^2 about 1"),
    ``corr_out <= corr_max`` ("decorrelated residuals"; skipped if ``corr_out`` is None) and
    ``train_err <= train_err_max`` ("zero chunk training error"; skipped if None). A NaN in
    ``r2`` or ``corr_out`` marks a size whose reconstruction was not measured (e.g.
    ``w >= n_fit - 1`` in :func:`chunk_reconstruction`): it takes the value of the next smaller
    measured size (both curves are monotone in ``w`` in expectation), and sizes below every
    measured one are left out. ``w_c`` is the smallest qualifying size such that all larger measured
    proper sizes qualify too (one noisy size cannot create a spurious plateau). The full width
    is never evaluated: it reconstructs itself trivially and has no neuron outside it.

    ``w_star`` interpolates between the last failing size ``w_-`` below ``w_c`` and ``w_c``:
    for each criterion failing at ``w_-``, the threshold crossing of its curve, linear in
    ``log w``; ``w_star`` is the largest of these (every criterion holds from there on if the
    curves are monotone). ``w_star = w_c`` when ``w_c`` is the smallest measured size.

    No qualifying size: ``w_c = w_star = width`` and ``groups = 1`` with ``found=False`` -- the
    whole layer is the only set known to carry its information, i.e. one group. This keeps
    groups-vs-width curves defined below the critical width (the paper's flat part); use
    ``found`` to tell "one group" from "redundant".
    """
    width = int(width)
    s = _sizes(sizes, width)
    S = s.size
    r2a = _curve(r2, S, "r2")
    co, tr = _curve(corr_out, S, "corr_out"), _curve(train_err, S, "train_err")
    order_all = np.argsort(s)
    r2f, cof = _ffill(r2a, order_all), _ffill(co, order_all)
    measured = (s < width) & np.isfinite(r2f)
    checks = [(r2f, float(r2_min), +1)]
    if cof is not None:
        checks.append((cof, float(corr_max), -1))
    if tr is not None:
        checks.append((tr, float(train_err_max), -1))
    ok = measured.copy()
    with np.errstate(invalid="ignore"):
        for v, thr, sign in checks:
            ok &= (v >= thr) if sign > 0 else (v <= thr)
    order = [j for j in np.argsort(s) if measured[j]]
    w_c, found, k_c = width, False, None
    for k in range(len(order) - 1, -1, -1):  # walk down from the largest measured size
        if not ok[order[k]]:
            break
        w_c, found, k_c = int(s[order[k]]), True, k
    w_star = float(w_c)
    if found and k_c > 0:
        jm, jc = order[k_c - 1], order[k_c]
        cross = [_log_crossing(s[jm], s[jc], v[jm], v[jc], thr) for v, thr, sign in checks
                 if not ((v[jm] >= thr) if sign > 0 else (v[jm] <= thr))]
        w_star = max(cross) if cross else float(s[jm])
    return RedundancyGroups(
        width, w_c, float(width) / w_c, found, s, ok, r2a, co, _curve(corr_all, S, "corr_all"),
        _curve(test_err, S, "test_err"), tr, float(r2_min),
        float(corr_max) if co is not None else float("inf"),
        float(train_err_max) if tr is not None else float("inf"), int(n_dead), w_star, width / w_star)


def count_groups(H: ArrayLike, readout: Readout, labels: ArrayLike, *, rng: np.random.Generator | int,
                 H_train: ArrayLike | None = None, labels_train: ArrayLike | None = None,
                 sizes: ArrayLike | None = None, n_draws: int = 100, n_draws_rec: int = 40,
                 balanced: bool = False, alpha: float | str = "cv", fit: str = "auto", holdout: float = 0.5,
                 max_corr: int | None = 512, r2_min: float = 0.95, corr_max: float = 0.1,
                 train_err_max: float = 0.01) -> RedundancyGroups:
    """Run the whole protocol on one layer and return :class:`RedundancyGroups`.

    Args:
        H: test representation (N, W); the test error and the reconstruction's scores use it.
        readout, labels: trained readout and test labels (N,).
        rng: Generator or seed (keyword, required).
        H_train, labels_train: training representation (N_train, W) and labels; when given,
            the chunk training error enters the criterion, otherwise it is skipped.
        sizes: chunk sizes (default :func:`default_sizes`). n_draws: chunks per size for the
            errors (authors: 100). n_draws_rec: chunks per size for the reconstruction (40).
        balanced: stratified chunks (default False: the authors' uniform draw).
        alpha: ridge penalty or ``'cv'`` (default), see :func:`chunk_reconstruction`.
        fit: where the reconstruction is fitted: ``'train'`` (on ``H_train``, scored on ``H``),
            ``'holdout'`` (a ``holdout`` fraction of ``H``'s rows scored, the rest fitted),
            ``'in-sample'`` (the authors'), or ``'auto'`` (default: ``'train'`` if ``H_train``
            is given, else ``'holdout'``).
        holdout: held-out fraction for ``fit='holdout'``.
        max_corr: neurons the residual correlation is averaged over (None: all).
        r2_min, corr_max, train_err_max: thresholds of :func:`critical_chunk_size`.
    """
    H = _as_H(H)
    W = H.shape[1]
    if fit not in ("auto", "train", "holdout", "in-sample"):
        raise ValueError(f"fit must be 'auto', 'train', 'holdout' or 'in-sample', got {fit!r}")
    if fit == "train" and H_train is None:
        raise ValueError("fit='train' needs H_train")
    sizes = default_sizes(W) if sizes is None else _sizes(sizes, W)
    rng = np.random.default_rng(rng)
    seed = int(rng.integers(2**63))  # same chunks for the test and training errors
    test = chunk_errors(H, readout, labels, sizes, n_draws, seed, balanced=balanced)
    train, Ht = None, None
    if H_train is not None:
        if labels_train is None:
            raise ValueError("labels_train is required with H_train")
        Ht = _as_H(H_train, "H_train")
        if Ht.shape[1] != W:
            raise ValueError(f"H_train must have W={W} columns, got {Ht.shape[1]}")
        train = chunk_errors(Ht, readout, labels_train, sizes, n_draws, seed, balanced=balanced)
    mode = ("train" if Ht is not None else "holdout") if fit == "auto" else fit
    strata = neuron_strata(readout, W) if balanced else None
    rec = chunk_reconstruction(H, sizes, n_draws_rec, rng, alpha, strata=strata, max_corr=max_corr,
                               H_fit=Ht if mode == "train" else None,
                               holdout=holdout if mode == "holdout" else 0.0)
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
