"""The published experiment of Kou, Chen, Chen, Gu (ICML 2023, arXiv 2303.04145): its one definition.

The official experiment draws a test-error heat map over ``|mu|`` in {0.0, 0.1, ..., 9.9} and
``d`` in {100, 110, ..., 1090}, 10 repetitions per cell, with n = 20 training points, sigma_p = 1,
isotropic noise, label flips p = 0.1 on train and test; the network is a ``Conv1d(1, 2m, kernel=d,
stride=d)`` with m = 10, a bias, PyTorch's default uniform init, ReLU, the mean over the two patches,
the sum over each class's filters, and a fixed output layer (value 1); 100 full-batch steps of
lr 0.1. :data:`FIXED` is that setting in this package's arguments; :data:`GRIDS` holds the
published grid (``"full"``) and two reduced ones.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: The published setting as :func:`benign.simulate` arguments (every cell shares them).
FIXED: dict[str, Any] = dict(n=20, m=10, steps=100, eta=0.1, p=0.1, sigma_p=1.0, noise="isotropic", bias=True,
                             hidden_init="uniform", reduce="mean", train_output=False, output_value=1.0,
                             n_test=1000, n_checkpoints=2)


def _arange(start: float, stop: float, step: float) -> list[float]:
    """Inclusive ``start, start+step, ..., stop`` rounded to 10 decimals (no float-accumulation junk)."""
    num = int(math.floor((stop - start) / step + 1e-9)) + 1
    return [round(start + i * step, 10) for i in range(num)]


#: scale -> (grid, number of seeds). ``"full"`` is the published grid.
GRIDS: dict[str, tuple[dict[str, list], int]] = {
    "full": ({"d": _arange(100, 1090, 10), "mu_norm": _arange(0.0, 9.9, 0.1)}, 10),
    "small": ({"d": _arange(100, 1000, 150), "mu_norm": _arange(0.0, 9.9, 0.3)}, 4),
    "tiny": ({"d": [100, 200], "mu_norm": [0.0, 2.0, 5.0]}, 2),
}


def heatmap(mu_norms: Sequence[float] | None = None, ds: Sequence[int] | None = None,
            seeds: Sequence[int] = tuple(range(10)), *, n_mc: int = 4096, precision: str = "float32",
            chunk_size: int = 500, progress: Callable[[int, int], None] | None = None,
            **overrides: Any) -> dict[str, np.ndarray]:
    """The published test-error heat map, end to end, through one d-independent compiled program.

    Defaults: the full grid (``|mu|`` in {0.0, ..., 9.9} x d in {100, ..., 1090}, 10 seeds) in the
    setting :data:`FIXED` (``overrides`` change any of it); test error from the Gaussian estimator on
    ``n_mc`` points (4096: a quarter of the variance of the published 1000-point test set).
    Returns ``test_error``, ``test_error_se``, ``test_error_clean``, ``train_error``, ``train_loss``
    and the :data:`benign.core.coef.PROOF_KEYS` as float arrays (d, mu_norm, seed), plus the
    coordinates ``d``, ``mu_norm``, ``seed``.
    """
    from ..core.coef import PROOF_KEYS
    from ..core.config import make_config
    from ..run.final import run_final

    mu_arr = np.round(np.arange(100) * 0.1, 10) if mu_norms is None else np.asarray(mu_norms, float)
    d_arr = np.arange(100, 1100, 10) if ds is None else np.asarray(ds, int)
    seed_arr = np.asarray(seeds, int)
    mus = [make_config(mu_norm=float(mu)).mu_norm for mu in mu_arr]  # validated once
    fixed = {**FIXED, **overrides, "n_mc": n_mc, "precision": precision, "engine": "coef"}
    configs = []
    for d in d_arr:
        cfg = make_config(**fixed, d=int(d), mu_norm=float(mu_arr[0]))
        configs += [dataclasses.replace(cfg, mu_norm=mu, seed=int(s)) for mu in mus for s in seed_arr]
    res = run_final(configs, chunk_size=chunk_size, progress=progress)
    shape = (len(d_arr), len(mu_arr), len(seed_arr))
    keys = ("test_error", "test_error_se", "test_error_clean", "train_error", "train_loss") + PROOF_KEYS
    return {**{k: res[k].reshape(shape) for k in keys}, "d": d_arr, "mu_norm": mu_arr, "seed": seed_arr}
