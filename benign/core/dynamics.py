"""What both training engines share: the dynamic hyper-parameters, the checkpoint schedule, the
starting point of a run (its data, initial parameters and test set, drawn from its key), and the
per-step bookkeeping (divergence, interpolation, the stopping rule).

Both engines are ``init`` / ``advance`` / ``record`` triples over an explicit state (a pytree):

- ``init(cfg, key, hyper, mu_dir)`` draws everything from the run's key (through :func:`setup_run`),
- ``advance(cfg, state, length)`` runs ``length`` full-batch GD steps (``length`` is traced, so one
  compiled program serves every segment),
- ``record(cfg, state)`` measures the network at the current step.

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
from .config import DYNAMIC_FIELDS, Config
from .data import Dataset
from .model import Params

#: The dynamic fields of :class:`Hyper` (every dynamic config field but the seed).
HYPER_FIELDS = tuple(f for f in DYNAMIC_FIELDS if f != "seed")

#: Dynamic (vmappable) scalars of one run, one 0-d array per field of :data:`HYPER_FIELDS`.
Hyper = NamedTuple("Hyper", [(f, jax.Array) for f in HYPER_FIELDS])  # type: ignore[misc]


class Progress(NamedTuple):
    """Per-run counters, all () int32.

    step: GD steps taken; first_bad: first step whose objective was not finite (-1: none);
    stopped: step at which the stopping rule first held (-1: never; no update after it);
    first_interp: first step with zero training error, every margin > 0 (-1: never).
    """

    step: jax.Array
    first_bad: jax.Array
    stopped: jax.Array
    first_interp: jax.Array


def dtype_of(cfg: Config):
    """The run's floating dtype: ``jnp.float64`` for ``precision='float64'``, else ``jnp.float32``."""
    return jnp.float64 if cfg.precision == "float64" else jnp.float32


def checkpoint_steps(steps: int, n_checkpoints: int) -> np.ndarray:
    """Sorted unique log-spaced steps in ``[0, steps]``, always including 0 and ``steps``: (K,) int64."""
    inner = np.round(np.geomspace(1, steps, max(n_checkpoints - 1, 1))).astype(np.int64)
    return np.unique(np.concatenate([[0], inner, [steps]]))


def start() -> Progress:
    """Counters at step 0."""
    z, m1 = jnp.zeros((), jnp.int32), jnp.full((), -1, jnp.int32)
    return Progress(z, m1, m1, m1)


def check(cfg: Config, prog: Progress, margins: jax.Array, objective: jax.Array, hyper: Hyper) -> Progress:
    """Update the counters with the state at step ``prog.step`` (``margins`` (n,) and ``objective``
    measured there): first non-finite objective, first zero training error, and the stopping rule."""
    step = prog.step
    bad = (prog.first_bad < 0) & ~jnp.isfinite(objective)
    interp = (prog.first_interp < 0) & jnp.all(margins > 0)
    if cfg.stop == "interpolation":
        crit = jnp.all(margins > hyper.stop_margin)
    elif cfg.stop == "loss":
        crit = model.train_loss(cfg, margins) <= hyper.stop_loss
    else:
        crit = jnp.zeros((), bool)
    stop = (prog.stopped < 0) & crit
    return Progress(
        step=step,
        first_bad=jnp.where(bad, step, prog.first_bad),
        stopped=jnp.where(stop, step, prog.stopped),
        first_interp=jnp.where(interp, step, prog.first_interp),
    )


def active(prog: Progress) -> jax.Array:
    """Whether the run still updates its parameters (the stopping rule has not fired): () bool."""
    return prog.stopped < 0


def setup_run(cfg: Config, key: jax.Array, hyper: Hyper, mu_dir: jax.Array | None = None
              ) -> tuple[jax.Array, Dataset, Params, Hyper, Dataset | None]:
    """Everything a run starts from, drawn from its ``key`` (shared by every engine).

    Returns ``(U (k, d) signal vectors, data: Dataset, params: Params, hyper cast to the run's dtype,
    test)``, where ``test`` is a :class:`~benign.core.data.Dataset` of ``n_test`` clean-labelled
    inputs when ``test_error_method='test_set'``, else ``None``.
    """
    dtype = dtype_of(cfg)
    k = keys.split_run(key)
    hyper = Hyper(*(jnp.asarray(h, dtype) for h in hyper))
    U = data_mod.signal_vectors(cfg, hyper.mu_norm, hyper.xor_angle, mu_dir, dtype)
    ds = data_mod.sample(cfg, k.data, U, hyper.sigma_p, hyper.p, dtype=dtype)
    params = model.init_params(k.init, cfg, hyper.init_scale, hyper.sigma_0, dtype)
    test = data_mod.sample_test_set(cfg, k.test, U, hyper.sigma_p, dtype) if cfg.test_error_method == "test_set" else None
    return U, ds, params, hyper, test


def masked(flag: jax.Array, new, old):
    """``new`` where ``flag`` else ``old``, leaf by leaf (a stopped run keeps its state)."""
    return jax.tree_util.tree_map(lambda a, b: jnp.where(flag, a, b), new, old)
