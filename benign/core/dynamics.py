"""What both training engines share: the dynamic hyper-parameters, the checkpoint schedule, and
the starting point of a run (its data, initial parameters and test set, drawn from its key).

The dense engine (:mod:`benign.core.dense`, GD on ``W``) and the coefficient engine
(:mod:`benign.core.coef`, exact GD on signal/noise coefficients) both start from :func:`setup_run`,
so for the same configuration and seed they train the same network on the same data.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import data as data_mod
from . import keys, model
from .config import Config
from .data import Dataset
from .model import Params


class Hyper(NamedTuple):
    """Dynamic (vmappable) scalars of one run; each field is a 0-d array.

    The field names are :data:`benign.core.config.DYNAMIC_FIELDS` without ``seed``.
    """

    mu_norm: jax.Array
    init_scale: jax.Array
    sigma_p: jax.Array
    p: jax.Array
    sigma_0: jax.Array
    eta_w: jax.Array
    eta_a: jax.Array
    weight_decay: jax.Array


def dtype_of(cfg: Config):
    """The run's floating dtype: ``jnp.float64`` for ``precision='float64'``, else ``jnp.float32``."""
    return jnp.float64 if cfg.precision == "float64" else jnp.float32


def checkpoint_steps(steps: int, n_checkpoints: int) -> np.ndarray:
    """Sorted unique log-spaced steps in ``[0, steps]``, always including 0 and ``steps``: (K,) int."""
    inner = np.round(np.geomspace(1, steps, max(n_checkpoints - 1, 1))).astype(np.int64)
    return np.unique(np.concatenate([[0], inner, [steps]]))


def setup_run(cfg: Config, key: jax.Array, hyper: Hyper, mu_dir: jax.Array | None = None
              ) -> tuple[jax.Array, Dataset, Params, Hyper, tuple[jax.Array, jax.Array] | None]:
    """Everything a run starts from, drawn from its ``key`` (shared by the dense and coef engines).

    Returns ``(mu (d,), data: Dataset, params: Params, hyper cast to the run's dtype, test)``, where
    ``test`` is the ``(y_hat (n_test,), xi (n_test, d))`` test set when
    ``test_error_method='test_set'``, else ``None``.
    """
    dtype = dtype_of(cfg)
    k = keys.split_run(key)
    mu = data_mod.signal_vector(hyper.mu_norm, cfg.d, mu_dir, dtype)
    orthogonal = cfg.noise == "orthogonal"
    ds = data_mod.sample(k.data, cfg.n, mu, hyper.sigma_p, hyper.p, orthogonal, dtype)
    params = model.init_params(k.init, cfg, hyper.init_scale, hyper.sigma_0, dtype)
    hyper = Hyper(*(jnp.asarray(h, dtype) for h in hyper))
    test = None
    if cfg.test_error_method == "test_set":
        test = data_mod.sample_test_set(k.test, cfg.n_test, mu, hyper.sigma_p, orthogonal, dtype)
    return mu, ds, params, hyper, test
