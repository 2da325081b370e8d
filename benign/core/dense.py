"""The dense engine: full-batch gradient descent on ``W`` (and ``a``, ``b``), as an ``init`` / ``step`` pair and one scan.

``init_state`` and ``gd_step`` are pure; :func:`train` runs ``steps`` of them in a single compiled
``lax.scan`` over log-spaced checkpoint segments (an inner ``fori_loop`` per segment), recording
:func:`checkpoint_metrics` at every checkpoint. Everything vmaps over the dynamic hyper-parameters.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import model, testerror
from .config import Config
from .dynamics import Hyper, checkpoint_steps, setup_run
from .model import Params


class TrainState(NamedTuple):
    """Explicit state of the optimiser loop.

    params: the network; opt_state: optax state (``()`` for plain GD); step: () int32;
    first_bad: () int32, the first step whose loss was not finite (-1 if none).
    """

    params: Params
    opt_state: Any
    step: jax.Array
    first_bad: jax.Array


def _mask_grads(cfg: Config, g: Params) -> Params:
    """Zero the gradients of frozen parts (fixed output layer, absent bias)."""
    a = g.a if cfg.train_output else jnp.zeros_like(g.a)
    b = g.b if cfg.bias else jnp.zeros_like(g.b)
    return Params(W=g.W, a=a, b=b)


def init_state(cfg: Config, params: Params, optimizer=None) -> TrainState:
    """Initial :class:`TrainState` (``optimizer``: an optional ``optax.GradientTransformation``)."""
    opt_state = () if optimizer is None else optimizer.init(params)
    return TrainState(params, opt_state, jnp.zeros((), jnp.int32), jnp.full((), -1, jnp.int32))


def gd_step(cfg: Config, state: TrainState, X: jax.Array, y: jax.Array, hyper: Hyper, optimizer=None) -> TrainState:
    """One full-batch step. Plain GD: ``W -= eta_w dL/dW``, ``a -= eta_a dL/da``, ``b -= eta_w dL/db``.

    With an optax ``optimizer`` the (masked) gradients go through it instead and the step sizes are
    not used. A non-finite loss records ``first_bad`` and the run continues (the flag is the output).
    """
    value, g = jax.value_and_grad(lambda prm: model.loss(cfg, prm, X, y, hyper.weight_decay))(state.params)
    g = _mask_grads(cfg, g)
    if optimizer is None:
        prm = state.params
        new = Params(W=prm.W - hyper.eta_w * g.W, a=prm.a - hyper.eta_a * g.a, b=prm.b - hyper.eta_w * g.b)
        opt_state = state.opt_state
    else:
        import optax

        updates, opt_state = optimizer.update(g, state.opt_state, state.params)
        new = optax.apply_updates(state.params, _mask_grads(cfg, updates))
    bad = (state.first_bad < 0) & ~jnp.isfinite(value)
    first_bad = jnp.where(bad, state.step, state.first_bad)
    return TrainState(new, opt_state, state.step + 1, first_bad)


def clean_test_error(cfg: Config, params: Params, test: tuple[jax.Array, jax.Array], mu: jax.Array) -> jax.Array:
    """``P(y_hat != sign f(x))`` on the test set ``test = (y_hat, xi)`` (ties count as errors).

    The signal patch of a test point is ``y_hat * mu``, so only ``<w, mu>`` (2, m) and the noise
    projections ``xi @ W^T`` (n_test, 2, m) are needed.
    """
    y_hat, xi = test
    s = jnp.einsum("jrd,d->jr", params.W, mu)
    z_sig = y_hat[:, None, None] * s + params.b
    z_noise = jnp.einsum("nd,jrd->njr", xi, params.W) + params.b
    h = model.responses_from_preacts(cfg, jnp.stack([z_sig, z_noise], axis=1))
    return jnp.mean((y_hat * model.readout(params, h) <= 0).astype(xi.dtype))


def checkpoint_metrics(cfg: Config, params: Params, X: jax.Array, y: jax.Array, test: tuple[jax.Array, jax.Array], mu: jax.Array, hyper: Hyper) -> dict[str, jax.Array]:
    """Metrics recorded at a checkpoint.

    Scalars: ``train_loss`` (mean logistic, no weight decay), ``train_error`` (``y f <= 0``),
    ``min_margin`` (``min_i y_i f(x_i)``), ``test_error_clean`` and ``test_error = p + (1-2p) clean``
    (the exact expectation over test-label flips) with its standard error ``test_error_se``; the clean
    error comes from the Gaussian estimator (:mod:`benign.core.testerror`, ``test_error_method='gaussian'``;
    ``test`` unused, may be ``None``) or from the test set (``'test_set'``, binomial standard error). Per neuron (2, m): ``w_norm = |w_{j,r}|``,
    ``a`` (signed), ``b``, and ``D = a^2 - |w|^2 - b^2`` (conserved by gradient flow).
    """
    margins = y * model.forward(cfg, params, X)
    if cfg.test_error_method == "gaussian":
        clean, clean_se = testerror.clean_error_from_weights(cfg, params.W, params.a, params.b, mu, hyper.sigma_p)
    else:
        clean = clean_test_error(cfg, params, test, mu)
        clean_se = testerror.binomial_se(clean, cfg.n_test)
    test_error, test_error_se = testerror.noisy_error(hyper.p, clean, clean_se)
    w_norm = jnp.linalg.norm(params.W, axis=-1)
    return dict(
        train_loss=model.logistic_loss(margins),
        train_error=jnp.mean((margins <= 0).astype(margins.dtype)),
        min_margin=jnp.min(margins),
        test_error_clean=clean,
        test_error=test_error,
        test_error_se=test_error_se,
        w_norm=w_norm,
        a=params.a,
        b=params.b,
        D=params.a**2 - w_norm**2 - params.b**2,
    )


def train(cfg: Config, key: jax.Array, hyper: Hyper, mu_dir: jax.Array | None = None, optimizer=None, return_params: bool = False) -> dict[str, jax.Array]:
    """Sample data, initialise, run ``cfg.steps`` GD steps, and record checkpoint metrics.

    key: the run's key (see :func:`run_key`). mu_dir: (d,) unit signal direction or ``None`` (e_1).
    Returns a dict of arrays with a leading checkpoint axis K (see :func:`checkpoint_metrics`),
    ``diverged_step`` () int32 (-1 if none) and, if asked, the final ``W`` (2, m, d), ``a``, ``b``.
    """
    mu, ds, params, hyper, test = setup_run(cfg, key, hyper, mu_dir)
    ckpts = checkpoint_steps(cfg.steps, cfg.n_checkpoints)
    segments = jnp.asarray(np.diff(ckpts), jnp.int32)

    def record(prm):
        return checkpoint_metrics(cfg, prm, ds.X, ds.y, test, mu, hyper)

    def segment(state, length):
        state = jax.lax.fori_loop(0, length, lambda _, s: gd_step(cfg, s, ds.X, ds.y, hyper, optimizer), state)
        return state, record(state.params)

    state = init_state(cfg, params, optimizer)
    first = record(params)
    state, rest = jax.lax.scan(segment, state, segments)
    out = jax.tree_util.tree_map(lambda a0, r: jnp.concatenate([a0[None], r]), first, rest)
    final_bad = (state.first_bad < 0) & ~jnp.isfinite(out["train_loss"][-1])
    out["diverged_step"] = jnp.where(final_bad, cfg.steps, state.first_bad)
    if return_params:
        out.update(W=state.params.W, a_final=state.params.a, b_final=state.params.b)
    return out
