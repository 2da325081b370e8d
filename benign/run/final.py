"""Final metrics of many plain-GD runs that differ in ``d``, through one compiled program.

The coefficient engine needs the training data only through Gram quantities, and
:func:`benign.core.coef.blocked_basis` accumulates those for a *traced* ``d``. So a sweep over ``d``
(the published heat map of Kou et al. 2023 has 100 values) needs one compiled program instead of
one per ``d``. Only the final checkpoint is computed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import jax
import numpy as np

from ..core import coef
from ..core.config import Config
from ..core.dynamics import HYPER_FIELDS, Hyper
from .batch import _undefined_after_divergence, finish_test_error, run_group
from .cache import ensure as ensure_cache


def bucketable(cfg: Config) -> bool:
    """Whether ``cfg`` can share :func:`run_final`'s d-independent program with runs of other ``d``.

    Plain-GD signal-plus-noise runs on the coefficient engine with the explicit sampler, the Gaussian test
    error, no ``mu_vec`` and a fixed output layer (a trained one needs its step-0 record for the
    conservation check of :func:`benign.run.result.final_metrics`, which only the final record lacks).
    """
    return (cfg.mu_vec is None and cfg.test_error_method == "gaussian" and cfg.data == "signal_noise" and not cfg.train_output
            and cfg.sampler == "explicit" and coef.resolve_engine(cfg) == "coef")


def bucket_key(cfg: Config) -> Config:
    """The static config with ``d = 0``: one key for every ``d`` of a :func:`bucketable` group (no real config has d = 0)."""
    return dataclasses.replace(cfg.static(), d=0)


def run_final(configs: Sequence[Config], chunk_size: int = 500, block: int = 64, progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Final metrics of many plain-GD runs whose static fields agree except ``d``, in input order.

    Returns numpy arrays with leading axis B = len(configs): the keys of
    :func:`benign.core.coef.record` at step ``steps`` ((B,) scalars, (B, 2, m) per neuron), the test
    error with its standard error, and the counters ``first_bad``, ``stopped``, ``first_interp`` (B,).
    Each run has the keys, data and initialisation of ``simulate`` of its config (coefficient engine;
    numbers equal to rounding). Runs are sorted by d and processed ``chunk_size`` at a time through one
    compiled program (d is a traced loop bound of :func:`benign.core.coef.blocked_init`), so compile
    count and memory stay bounded. Configs it cannot take (a ``mu_vec``, ``test_error_method='test_set'``,
    XOR data) go through :func:`benign.run.batch.run_group` per static group.
    ``progress(done, total)`` is called after each chunk.
    """
    if not configs:
        raise ValueError("configs is empty: give at least one configuration")
    base = dataclasses.replace(configs[0].static(), d=1)
    if any(dataclasses.replace(c.static(), d=1) != base for c in configs[1:]):
        raise ValueError("run_final needs configs whose static fields agree except d")
    B = len(configs)
    if any(c.mu_vec is not None for c in configs) or base.test_error_method != "gaussian" or base.data != "signal_noise":
        groups: dict[Config, list[int]] = {}
        for i, c in enumerate(configs):
            groups.setdefault(c.static(), []).append(i)
        res: dict[str, np.ndarray] = {}
        done = 0
        for idx in groups.values():
            r = run_group([dataclasses.replace(configs[i], engine="coef") for i in idx])
            r.pop("steps")
            for k, v in r.items():
                v = v if k in ("first_bad", "stopped", "first_interp") else v[:, -1]
                res.setdefault(k, np.zeros((B,) + v.shape[1:], v.dtype))[idx] = v
            done += len(idx)
            if progress is not None:
                progress(done, B)
        return res
    dtype = np.float64 if base.precision == "float64" else np.float32
    d = np.array([c.d for c in configs], np.int64)
    seeds = np.array([c.seed for c in configs], np.uint32)
    hashes = np.array([c.cell_hash() for c in configs], np.uint32)
    hyper = np.stack([np.array([getattr(c, f) for c in configs], dtype) for f in HYPER_FIELDS])
    p = np.array([c.p for c in configs], dtype)
    lim = np.float32(1.0) / np.sqrt(d.astype(np.float32))
    order = np.argsort(d, kind="stable")
    out: dict[str, np.ndarray] = {}
    ensure_cache()
    with jax.enable_x64(True):
        for start in range(0, B, chunk_size):
            idx = order[start : start + chunk_size]
            pad = np.concatenate([idx, np.full(min(chunk_size, B) - len(idx), idx[-1])])
            n_blocks = np.int32(-(-int(d[idx].max()) // block))
            r = coef.final_chunk(base, seeds[pad], hashes[pad], Hyper(*hyper[:, pad]), d[pad].astype(np.int32), lim[pad], n_blocks, block)
            r = finish_test_error(base, {k: np.asarray(v)[: len(idx)] for k, v in r.items()}, p[idx], time_axis=False)
            for k, v in r.items():
                out.setdefault(k, np.zeros((B,) + v.shape[1:], v.dtype))[idx] = v
            if progress is not None:
                progress(min(start + chunk_size, B), B)
    return out


def final_as_records(configs: Sequence[Config]) -> dict[str, np.ndarray]:
    """:func:`run_final` of ``configs`` (one chunk) shaped like :func:`benign.run.batch.run_group`'s output
    with a single checkpoint (the last): records (B, 1, ...), counters (B,), ``steps`` (1,), and NaN
    metrics for runs that diverged."""
    res = run_final(configs, chunk_size=len(configs))
    counters = ("first_bad", "stopped", "first_interp")
    out = {k: (v if k in counters else v[:, None]) for k, v in res.items()}
    steps = np.array([configs[0].steps], np.int64)
    _undefined_after_divergence(out, steps)
    out["steps"] = steps
    return out
