"""A run's random inputs outside training: its training set (:func:`sample_data`), fresh samples from
its distribution, and the hidden responses of trained filters, each through one compiled program.

They use the engines' key path (:mod:`benign.core.keys`) and samplers (:mod:`benign.core.data`), so
:func:`sample_data` returns exactly the training set a run of the same arguments trains on (numbers
equal to rounding: both are compiled programs, with the same draws in float32 before the cast).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..core import data as data_mod
from ..core import dynamics, keys, model
from ..core.config import Config, make_config
from ..core.data import Dataset
from ..core.dynamics import HYPER_FIELDS, Hyper
from ..core.model import Params
from .batch import program_config


@functools.partial(jax.jit, static_argnames=("cfg",))
def _training_set(cfg: Config, seed, cell_hash, hyper: Hyper, mu_dir) -> Dataset:
    return dynamics.setup_run(cfg, keys.run_key(seed, cell_hash), hyper, mu_dir)[1]


@functools.partial(jax.jit, static_argnames=("cfg", "count"))
def _fresh_sample(cfg: Config, count: int, key, hyper: Hyper, mu_dir) -> Dataset:
    dtype = dynamics.dtype_of(cfg)
    U = data_mod.signal_vectors(cfg, hyper.mu_norm, hyper.xor_angle, mu_dir, dtype)
    return data_mod.sample(cfg, key, U, hyper.sigma_p, hyper.p, count, dtype)


@functools.partial(jax.jit, static_argnames=("cfg",))
def _responses(cfg: Config, params: Params, X) -> jax.Array:
    return model.responses(cfg, params, X)


def _key(cfg: Config) -> Config:
    return program_config(cfg.static(), "dense")


def _hyper_and_direction(cfg: Config) -> tuple[Hyper, jax.Array | None]:
    dtype = np.float64 if cfg.precision == "float64" else np.float32
    hyper = Hyper(*(jnp.asarray(getattr(cfg, f), dtype) for f in HYPER_FIELDS))
    return hyper, (None if cfg.mu_vec is None else jnp.asarray(np.asarray(cfg.mu_vec), dtype))


def training_set(cfg: Config) -> Dataset:
    """The training set of the run ``cfg`` (drawn from its key, as in both engines).

    Returns a :class:`~benign.core.data.Dataset` of device arrays in the run's dtype: X (n, P, d),
    y and y_clean (n,), S (n, k).
    """
    with jax.enable_x64(True):
        hyper, mu_dir = _hyper_and_direction(cfg)
        return _training_set(_key(cfg), jnp.uint32(cfg.seed), jnp.uint32(cfg.cell_hash()), hyper, mu_dir)


def fresh_sample(cfg: Config, key: jax.Array, count: int) -> Dataset:
    """``count`` fresh examples from the distribution of the run ``cfg`` (its signal vectors, ``sigma_p``,
    ``p``, noise law and patches) under ``key`` (:func:`benign.core.data.sample`): a Dataset with
    X (count, P, d), y and y_clean (count,), S (count, k) in the run's dtype."""
    with jax.enable_x64(True):
        hyper, mu_dir = _hyper_and_direction(cfg)
        return _fresh_sample(_key(cfg), int(count), key, hyper, mu_dir)


def responses(cfg: Config, params: Params, X: jax.Array) -> jax.Array:
    """Per-filter responses ``h_{j,r}(x)`` (N, 2, m) of ``params`` on inputs X (N, P, d)
    (:func:`benign.core.model.responses`), compiled once per shape."""
    with jax.enable_x64(True):
        return _responses(_key(cfg), params, X)


def sample_data(**config: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training set a run with these arguments trains on: ``(X (n, P, d), y (n,), y_clean (n,))``.

    Takes the arguments of :func:`simulate` that define a run (any :func:`benign.make_config`
    keyword). Two runs with the same ``seed`` and shapes (``n``, ``d``, ``m``, ``n_patches``,
    ``data``) share their standard-normal noise, label-flip uniforms and initial directions whatever
    their ``snr``, ``init_scale``, ``sigma_0``, ``p`` or step sizes (paired randomness), which this
    function makes visible: e.g. the noise patches of two such runs differ only by the factor
    ``sigma_p``.
    """
    cfg = make_config(**config)
    if cfg.sampler != "explicit":
        raise ValueError(f"sampler={cfg.sampler!r} is invalid in sample_data: allowed is 'explicit' (the Gram sampler never draws X)")
    ds = training_set(cfg)
    return np.asarray(ds.X), np.asarray(ds.y), np.asarray(ds.y_clean)
