"""Information imbalance between two representations of the same inputs.

The information imbalance of Glielmo, Zeni, Cheng, Csányi and Laio (PNAS Nexus 2022) asks how
well the nearest-neighbour structure of one representation predicts that of another:

    Delta(A -> B) = (2 / N) * mean_i  rank_B(i, nn_A(i)),

where ``nn_A(i)`` is the nearest neighbour of point ``i`` in space A (Euclidean, itself
excluded) and ``rank_B(i, j)`` is the rank of ``j`` among the neighbours of ``i`` in space B
(1 = nearest, ``i`` itself excluded). ``Delta ~ 2/N ~ 0`` when A predicts B's neighbourhoods
perfectly and ``Delta ~ 1`` when A and B are unrelated (a random ``j`` has mean rank ``N/2``);
the quantity is asymmetric: if B is a function of A then ``Delta(A -> B)`` is small while
``Delta(B -> A)`` can be large.

This module re-implements the definition in numpy/scipy (DADApy is deliberately not a
dependency). Ranks are exact: the cost is O(N^2 (d_A + d_B)) time for the distance matrices,
O(N^2 log N) for the ranks and O(N^2) memory (a few float64 N x N matrices: about 100 MB at
N = 2000). Use ``max_points`` to subsample larger data sets: above :data:`MAX_POINTS` inputs the
function refuses to run unless ``max_points`` is given (``max_points >= N`` accepts the cost).

Ties (duplicated points, or ReLU features with many exact zeros) are handled deterministically
and symmetrically:

* ``rank_B`` uses mid-ranks: ``rank_B(i, j) = #{k != i: d_B(i,k) < d_B(i,j)}
  + (#{k != i: d_B(i,k) == d_B(i,j)} + 1) / 2`` (``scipy.stats.rankdata(method="average")``);
* when several points tie as nearest neighbour of ``i`` in A, ``rank_B`` is averaged over all of
  them instead of picking one by index.

Distances are computed with ``scipy.spatial.distance.cdist`` (squared Euclidean, evaluated
coordinate-wise rather than through a Gram matrix), so exact duplicates have distance exactly 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import cdist
from scipy.stats import rankdata

__all__ = ["MAX_POINTS", "information_imbalance", "neighbour_ranks"]

#: Largest N computed without an explicit ``max_points`` (peak memory about ``48 N^2`` bytes: 1.2 GB).
MAX_POINTS = 5000
#: Bytes per N^2 at the peak: the two distance matrices, two rank matrices and rankdata's temporaries.
_BYTES_PER_PAIR = 48


def _as_points(X: ArrayLike, name: str) -> np.ndarray:
    """Return ``X`` as a float64 array of shape (N, d); a 1-D input becomes (N, 1)."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (N points x d features), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    return arr


def _distances(X: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance matrix (N, N), float64, with +inf on the diagonal."""
    D = cdist(X, X, metric="sqeuclidean")
    np.fill_diagonal(D, np.inf)
    return D


def neighbour_ranks(X: ArrayLike) -> np.ndarray:
    """Exact neighbour ranks in one representation.

    Args:
        X: points, shape (N, d) or (N,), any real dtype.

    Returns:
        float64 array ``R`` of shape (N, N) with ``R[i, j]`` the mid-rank of ``j`` among the
        neighbours of ``i`` (1 = nearest, ties share the average rank); the diagonal holds ``N``
        (each point is ranked last among its own neighbours, i.e. excluded).
    """
    D = _distances(_as_points(X, "X"))
    return rankdata(D, axis=1, method="average")


def _delta(D_from: np.ndarray, ranks_to: np.ndarray) -> float:
    """(2/N) mean_i of rank_to(i, nn_from(i)), averaging over tied nearest neighbours."""
    n = D_from.shape[0]
    d_min = D_from.min(axis=1, keepdims=True)
    nn_mask = D_from == d_min  # (N, N): all tied nearest neighbours of each i
    per_point = (ranks_to * nn_mask).sum(axis=1) / nn_mask.sum(axis=1)
    return float(2.0 / n * per_point.mean())


def information_imbalance(
    A: ArrayLike,
    B: ArrayLike,
    *,
    max_points: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> tuple[float, float]:
    """Information imbalance in both directions, ``(Delta(A -> B), Delta(B -> A))``.

    Args:
        A: first representation, shape (N, d_A) or (N,), real.
        B: second representation of the same N inputs, shape (N, d_B) or (N,), real.
        max_points: if given (an integer >= 3) and ``N > max_points``, use a uniformly drawn
            subset of ``max_points`` inputs (the same rows of A and B). Needed for large N: the
            cost is O(N^2) memory and O(N^2 log N) time. Required when ``N > MAX_POINTS``.
        rng: ``numpy.random.Generator`` or integer seed; required only when subsampling.

    Returns:
        ``(Delta(A -> B), Delta(B -> A))`` as Python floats in ``[2/N, ~2]``; about 0 means the
        first space predicts the second's neighbourhoods, about 1 means no information.

    Raises:
        ValueError: on mismatched numbers of rows, fewer than 3 points, non-finite values,
            ``max_points`` not an integer >= 3, subsampling without ``rng``, or
            ``N > MAX_POINTS`` without ``max_points`` (raised before any allocation).
    """
    XA = _as_points(A, "A")
    XB = _as_points(B, "B")
    if XA.shape[0] != XB.shape[0]:
        raise ValueError(f"A and B must have the same number of rows, got {XA.shape[0]} and {XB.shape[0]}")
    n = XA.shape[0]
    if max_points is not None:
        if isinstance(max_points, (bool, np.bool_)) or not isinstance(max_points, (int, np.integer)):
            raise ValueError(f"max_points must be an integer >= 3 (the number of inputs to keep) or None, got {max_points!r}")
        if max_points < 3:
            raise ValueError(f"max_points must be >= 3, got {max_points}")
        if n > max_points:
            if rng is None:
                raise ValueError("rng is required when max_points subsamples the inputs")
            idx = np.sort(np.random.default_rng(rng).choice(n, size=max_points, replace=False))
            XA, XB, n = XA[idx], XB[idx], max_points
    if n < 3:
        raise ValueError(f"A must have at least 3 rows (inputs), got {n}")
    if max_points is None and n > MAX_POINTS:
        gib = _BYTES_PER_PAIR * float(n) ** 2 / 2**30
        raise ValueError(f"A and B have N={n} inputs, more than MAX_POINTS={MAX_POINTS} without max_points: the exact "
                         f"ranks need about {gib:.1f} GiB. Give max_points={MAX_POINTS} and rng=SEED to subsample, "
                         f"or max_points={n} to accept the cost")
    DA, DB = _distances(XA), _distances(XB)
    RA = rankdata(DA, axis=1, method="average")
    RB = rankdata(DB, axis=1, method="average")
    return _delta(DA, RB), _delta(DB, RA)
