"""Full-batch gradient descent on the mean logistic loss, as an ``init`` / ``step`` pair and one scan.

``init_state`` and ``gd_step`` are pure; :func:`train` runs ``steps`` of them in a single compiled
``lax.scan`` over log-spaced checkpoint segments (an inner ``fori_loop`` per segment), recording
:func:`checkpoint_metrics` at every checkpoint. Everything vmaps over the dynamic hyper-parameters.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import data as data_mod
from . import model, testerror
from .config import Config
from .model import Params

class Hyper(NamedTuple):
    """Dynamic (vmappable) scalars of one run; each field is a 0-d array."""

    mu_norm: jax.Array
    init_scale: jax.Array
    sigma_p: jax.Array
    p: jax.Array
    sigma_0: jax.Array
    eta_w: jax.Array
    eta_a: jax.Array
    weight_decay: jax.Array


class TrainState(NamedTuple):
    """Explicit state of the optimiser loop.

    params: the network; opt_state: optax state (``()`` for plain GD); step: () int32;
    first_bad: () int32, the first step whose loss was not finite (-1 if none).
    """

    params: Params
    opt_state: Any
    step: jax.Array
    first_bad: jax.Array


def checkpoint_steps(steps: int, n_checkpoints: int) -> np.ndarray:
    """Sorted unique log-spaced steps in ``[0, steps]``, always including 0 and ``steps``: (K,) int."""
    inner = np.round(np.geomspace(1, steps, max(n_checkpoints - 1, 1))).astype(np.int64)
    return np.unique(np.concatenate([[0], inner, [steps]]))


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


def sample_test_set(cfg: Config, key: jax.Array, mu: jax.Array, hyper: Hyper, dtype) -> tuple[jax.Array, jax.Array]:
    """Fresh test inputs for the clean error: labels y_hat (n_test,) and noise patches xi (n_test, d).

    Drawn once per run from ``key`` (the same test set at every checkpoint); memory n_test * d.
    """
    k1, k2 = jax.random.split(key)
    y_hat, _ = data_mod.sample_labels(k1, cfg.n_test, 0.0, dtype)
    xi = data_mod.sample_noise(k2, cfg.n_test, mu, hyper.sigma_p, cfg.noise == "orthogonal", dtype)
    return y_hat, xi


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
    error comes from the Gaussian estimator (:mod:`benign.testerror`, ``test_error_method='gaussian'``;
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


def setup_run(cfg: Config, key: jax.Array, hyper: Hyper, mu_dir: jax.Array | None = None):
    """Everything a run starts from, drawn from its ``key`` (shared by the dense and coef engines).

    Returns ``(mu (d,), data: Dataset, params: Params, hyper cast to the run's dtype, test)``, where
    ``test`` is the ``(y_hat, xi)`` test set when ``test_error_method='test_set'``, else ``None``.
    """
    dtype = jnp.float64 if cfg.precision == "float64" else jnp.float32
    k_data, k_init, k_test = jax.random.split(key, 3)
    mu = data_mod.signal_vector(hyper.mu_norm, cfg.d, mu_dir, dtype)
    ds = data_mod.sample(k_data, cfg.n, mu, hyper.sigma_p, hyper.p, cfg.noise == "orthogonal", dtype)
    params = model.init_params(k_init, cfg, hyper.init_scale, hyper.sigma_0, dtype)
    hyper = Hyper(*(jnp.asarray(h, dtype) for h in hyper))
    test = sample_test_set(cfg, k_test, mu, hyper, dtype) if cfg.test_error_method == "test_set" else None
    return mu, ds, params, hyper, test


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


def run_key(seed: jax.Array, cell_hash: jax.Array) -> jax.Array:
    """The run's PRNG key: ``fold_in(fold_in(PRNGKey(0), seed), cell_hash)`` (never batch position)."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(0), seed), cell_hash)
