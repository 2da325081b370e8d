"""Final metrics of many plain-GD runs that differ in ``d``, through one compiled program.

The coefficient engine needs the training data only through Gram quantities, and
:func:`benign.core.coef.blocked_basis` accumulates those for a *traced* ``d``. So a sweep over ``d``
(the published heat map of Kou et al. 2023 has 100 values) needs one compiled program instead of
one per ``d``. Only the final checkpoint is computed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from ..core import coef
from ..core.config import Config
from ..core.dynamics import Hyper
from .batch import run_group


def run_final(configs: Sequence[Config], chunk_size: int = 500, block: int = 64, progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Final metrics of many plain-GD runs whose static fields agree except ``d``, in input order.

    Returns numpy arrays with leading axis B = len(configs): the keys of :func:`checkpoint_metrics`
    at step ``steps`` ((B,) scalars, (B, 2, m) per neuron) and ``diverged_step`` (B,). Each run equals
    ``simulate`` of its config (same keys, data and initialisation; coefficient engine, rounding aside).
    Runs are sorted by d and processed ``chunk_size`` at a time through one compiled program (d is a
    traced loop bound of :func:`blocked_basis`), so compile count and memory stay bounded.
    ``mu_vec`` or ``test_error_method='test_set'`` fall back to :func:`benign.simulate.run_group` per d.
    ``progress(done, total)`` is called after each chunk.
    """
    if not configs:
        raise ValueError("configs is empty: give at least one configuration")
    base = dataclasses.replace(configs[0].static(), d=1)
    if any(dataclasses.replace(c.static(), d=1) != base for c in configs[1:]):
        raise ValueError("run_final needs configs whose static fields agree except d")
    B = len(configs)
    if any(c.mu_vec is not None for c in configs) or base.test_error_method != "gaussian":
        groups: dict[Config, list[int]] = {}
        for i, c in enumerate(configs):
            groups.setdefault(c.static(), []).append(i)
        res: dict[str, np.ndarray] = {}
        done = 0
        for idx in groups.values():
            r = run_group([dataclasses.replace(configs[i], engine="coef") for i in idx])
            r.pop("steps")
            for k, v in r.items():
                v = v if k == "diverged_step" else v[:, -1]
                res.setdefault(k, np.zeros((B,) + v.shape[1:], v.dtype))[idx] = v
            done += len(idx)
            if progress is not None:
                progress(done, B)
        return res
    dtype = np.float64 if base.precision == "float64" else np.float32
    d = np.array([c.d for c in configs], np.int64)
    seeds = np.array([c.seed for c in configs], np.uint32)
    hashes = np.array([c.cell_hash() for c in configs], np.uint32)
    hyper = np.stack([np.array([getattr(c, f) for c in configs], dtype) for f in Hyper._fields])
    lim = np.float32(1.0) / np.sqrt(d.astype(np.float32))
    order = np.argsort(d, kind="stable")
    out: dict[str, np.ndarray] = {}
    for start in range(0, B, chunk_size):
        idx = order[start : start + chunk_size]
        pad = np.concatenate([idx, np.full(min(chunk_size, B) - len(idx), idx[-1])])
        n_blocks = np.int32(-(-int(d[idx].max()) // block))
        r = coef.final_chunk(base, seeds[pad], hashes[pad], Hyper(*hyper[:, pad]), d[pad].astype(np.int32), lim[pad], n_blocks, block)
        for k, v in r.items():
            v = np.asarray(v)[: len(idx)]
            out.setdefault(k, np.zeros((B,) + v.shape[1:], v.dtype))[idx] = v
        if progress is not None:
            progress(min(start + chunk_size, B), B)
    return out
