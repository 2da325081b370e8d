"""The two-layer CNN (docs/science.md, "Network") and its initialisation.

``f(W, a, x) = sum_j s_j sum_r a_{j,r} * R_p sigma(<w_{j,r}, x_p> + b_{j,r})`` with class signs
``s = (+1, -1)``, ``m`` filters per class, patch reduction ``R`` = sum or mean, and
``sigma`` = ReLU, leaky ReLU or polynomial ReLU ``max(0, z)^q``.

Parameters are a :class:`Params` pytree. Every function is pure and jit/vmap friendly; the static
choices come from a :class:`~benign.core.config.Config` (only its static fields are read here).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import keys
from .config import Config

#: Class signs s_j for j = +1 (index 0) and j = -1 (index 1).
SIGNS = (1.0, -1.0)


class Params(NamedTuple):
    """Network parameters.

    W: (2, m, d) hidden filters ``w_{j,r}`` (index 0: class +1, index 1: class -1).
    a: (2, m) output layer ``a_{j,r}`` (constant ``output_value`` when the output is fixed).
    b: (2, m) per-filter bias (all zero and never updated when ``bias=False``).
    """

    W: jax.Array
    a: jax.Array
    b: jax.Array


def activation(cfg: Config, z: jax.Array) -> jax.Array:
    """Elementwise activation chosen by ``cfg.activation``."""
    if cfg.activation == "relu":
        return jax.nn.relu(z)
    if cfg.activation == "leaky_relu":
        return jnp.where(z > 0, z, cfg.leaky_slope * z)
    if cfg.activation == "poly_relu":
        return jnp.maximum(z, 0.0) ** cfg.q
    raise ValueError(f"activation={cfg.activation!r} is invalid")


def signs(dtype=jnp.float32) -> jax.Array:
    """(2,) class signs ``(+1, -1)``."""
    return jnp.asarray(SIGNS, dtype)


def init_params(key: jax.Array, cfg: Config, init_scale: jax.Array, sigma_0: jax.Array, dtype=jnp.float32) -> Params:
    """Draw ``Params`` (traceable in ``init_scale`` and ``sigma_0``, so it vmaps over them).

    Hidden layer: ``N(0, sigma_0^2)`` per entry (``hidden_init='gaussian'``) or the PyTorch default
    ``U(-1/sqrt(d), 1/sqrt(d))`` (``'uniform'``); a bias, if any, follows the same law per filter.
    Output layer: trainable ``a(0) = init_scale`` (``'constant'``) or ``N(0, init_scale^2)``
    (``'gaussian'``); fixed at ``cfg.fixed_output`` when ``train_output=False``.
    """
    kw, ka, kb = keys.init_keys(key)
    m, d = cfg.m, cfg.d
    if cfg.hidden_init == "gaussian":
        W = jax.random.normal(kw, (2, m, d), jnp.float32).astype(dtype) * jnp.asarray(sigma_0, dtype)
        b = jax.random.normal(kb, (2, m), jnp.float32).astype(dtype) * jnp.asarray(sigma_0, dtype)
    else:
        lim = 1.0 / jnp.sqrt(jnp.asarray(d, jnp.float32))
        W = jax.random.uniform(kw, (2, m, d), jnp.float32, -lim, lim).astype(dtype)
        b = jax.random.uniform(kb, (2, m), jnp.float32, -lim, lim).astype(dtype)
    if not cfg.bias:
        b = jnp.zeros((2, m), dtype)
    if not cfg.train_output:
        a = jnp.full((2, m), cfg.fixed_output, dtype)
    elif cfg.output_init == "constant":
        a = jnp.full((2, m), 1.0, dtype) * jnp.asarray(init_scale, dtype)
    else:
        a = jax.random.normal(ka, (2, m), jnp.float32).astype(dtype) * jnp.asarray(init_scale, dtype)
    return Params(W=W, a=a, b=b)


def responses_from_preacts(cfg: Config, z: jax.Array) -> jax.Array:
    """Per-filter responses ``h_{j,r} = R_p sigma(z_p)`` from pre-activations z: (..., P, 2, m) -> (..., 2, m)."""
    h = activation(cfg, z)
    return h.sum(axis=-3) if cfg.reduce == "sum" else h.mean(axis=-3)


def patch_weight(cfg: Config) -> float:
    """The patch reduction as a weight: 1 for ``reduce='sum'``, ``1/P`` for ``'mean'``."""
    return 1.0 if cfg.reduce == "sum" else 1.0 / cfg.n_patches


def responses(cfg: Config, params: Params, X: jax.Array) -> jax.Array:
    """Per-filter responses h: (n, 2, m) for patches X: (n, P, d). This is the hidden representation."""
    z = jnp.einsum("npd,jrd->npjr", X, params.W) + params.b
    return responses_from_preacts(cfg, z)


def readout(params: Params, h: jax.Array) -> jax.Array:
    """Network output from responses h: (..., 2, m) -> (...,): ``sum_j s_j sum_r a_{j,r} h_{j,r}``."""
    return jnp.einsum("...jr,jr->...", h, params.a * signs(h.dtype)[:, None])


def forward(cfg: Config, params: Params, X: jax.Array) -> jax.Array:
    """f(W, a, x) for patches X: (n, P, d) -> (n,)."""
    return readout(params, responses(cfg, params, X))


def pointwise_loss(cfg: Config, margins: jax.Array) -> jax.Array:
    """The loss ``l(z)`` of each margin ``z = y f(x)``: logistic ``log(1 + exp(-z))`` (stable),
    hinge ``max(0, 1 - z)`` or exponential ``exp(-z)`` (``cfg.loss``)."""
    if cfg.loss == "logistic":
        return jax.nn.softplus(-margins)
    if cfg.loss == "hinge":
        return jnp.where(margins < 1, 1 - margins, 0.0)
    if cfg.loss == "exponential":
        return jnp.exp(-margins)
    raise ValueError(f"loss={cfg.loss!r} is invalid")


def loss_slope(cfg: Config, margins: jax.Array) -> jax.Array:
    """``l'(z)`` for each margin, by autodiff of :func:`pointwise_loss` (the same kink convention)."""
    return jax.vmap(jax.grad(lambda z: pointwise_loss(cfg, z)))(margins.reshape(-1)).reshape(margins.shape)


def train_loss(cfg: Config, margins: jax.Array) -> jax.Array:
    """Mean training loss over margins (n,) (no weight decay)."""
    return jnp.mean(pointwise_loss(cfg, margins))


def loss(cfg: Config, params: Params, X: jax.Array, y: jax.Array, weight_decay: ArrayLike = 0.0) -> jax.Array:
    """Training objective: the mean loss ``cfg.loss``, plus ``weight_decay/2 * (|W|^2 + |a|^2)`` if any."""
    out = train_loss(cfg, y * forward(cfg, params, X))
    reg = jnp.sum(params.W**2) + (jnp.sum(params.a**2) if cfg.train_output else 0.0)
    return out + 0.5 * weight_decay * reg
