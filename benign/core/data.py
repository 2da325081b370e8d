"""Training and test data: a signal patch plus noise patches (docs/science.md, "Data model").

Every input has ``P = n_patches`` patches in ``R^d``. Patch 0 is the signal patch, a combination
``S_i @ U`` of the signal vectors ``U`` (k, d); patches ``1..P-1`` are independent noise vectors
``xi ~ N(0, sigma_p^2 Sigma)`` with ``Sigma = I - Q^T Q`` (``noise='orthogonal'``, ``Q`` an orthonormal
basis of the signal directions) or ``Sigma = I`` (``'isotropic'``). The observed label ``y`` is the
clean label ``y_hat`` flipped with probability ``p``.

- ``data='signal_noise'``: one signal vector ``U = [mu]``, signal patch ``y_hat mu`` (``S_i = y_hat_i``).
- ``data='xor'``: ``U = [a, b]`` with ``|a| = |b| = mu_norm`` at angle ``xor_angle``; the signal patch is
  ``+-(a + b)`` for ``y_hat = +1`` and ``+-(a - b)`` for ``y_hat = -1`` (the sign a fair coin), i.e.
  ``S_i = (s_i, s_i y_hat_i)``.

A CNN with one shared filter per channel does not care about patch order, so the signal patch is
stored first. Every function is pure; randomness comes from explicit keys (:mod:`benign.core.keys`).
Random numbers are drawn in float32 from standard laws and then scaled and cast (``sigma_p * g``,
``uniform < p``), so a float64 run sees the same data as a float32 run (rounded) and runs that differ
only in a dynamic hyper-parameter see the same draws.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import keys
from .config import Config


class Dataset(NamedTuple):
    """A training (or test) sample.

    X: (n, P, d) patches, ``X[:, 0] = S @ U`` (signal), ``X[:, 1:]`` the noise patches.
    y: (n,) observed labels in {-1, +1} (flipped with probability ``p``; equal to ``y_clean`` for a test set).
    y_clean: (n,) clean labels ``y_hat`` in {-1, +1}.
    S: (n, k) coordinates of each signal patch on the signal vectors.
    """

    X: jax.Array
    y: jax.Array
    y_clean: jax.Array
    S: jax.Array


def signal_vectors(cfg: Config, mu_norm: jax.Array, xor_angle: jax.Array, mu_dir: jax.Array | None = None, dtype=jnp.float32) -> jax.Array:
    """The signal vectors ``U`` (k, d): ``[mu]`` (``mu_norm`` times ``e_1`` or the unit ``mu_dir`` (d,)),
    or ``[a, b]`` for XOR with ``a = mu_norm e_1``, ``b = mu_norm (cos(angle) e_1 + sin(angle) e_2)``."""
    d = cfg.d
    mu_norm = jnp.asarray(mu_norm, dtype)
    if cfg.data == "xor":
        ang = jnp.asarray(xor_angle, dtype)
        a = jnp.zeros((d,), dtype).at[0].set(1.0)
        b = jnp.zeros((d,), dtype).at[0].set(jnp.cos(ang)).at[1].set(jnp.sin(ang))
        return mu_norm * jnp.stack([a, b])
    u = jnp.zeros((d,), dtype).at[0].set(1.0) if mu_dir is None else jnp.asarray(mu_dir, dtype)
    return (mu_norm * u)[None, :]


def orthonormal_rows(U: jax.Array) -> jax.Array:
    """Gram-Schmidt on the rows of ``U`` (k, d): an orthonormal basis ``Q`` (k, d) of their span.

    A zero (or dependent) row gives a zero row of ``Q`` (there is no direction to remove)."""
    rows = []
    for i in range(U.shape[0]):
        v = U[i]
        for q in rows:
            v = v - jnp.dot(v, q) * q
        nrm = jnp.linalg.norm(v)
        scale = jnp.maximum(jnp.max(jnp.abs(U[i])), jnp.finfo(U.dtype).tiny)
        ok = nrm > 1e-6 * scale * jnp.sqrt(jnp.asarray(U.shape[1], U.dtype))
        rows.append(jnp.where(ok, v / jnp.where(ok, nrm, 1.0), 0.0))
    return jnp.stack(rows)


def sample_noise(key: jax.Array, shape: tuple[int, ...], U: jax.Array, sigma_p: jax.Array, orthogonal: bool, dtype=jnp.float32) -> jax.Array:
    """Noise patches of shape ``shape + (d,)`` from ``N(0, sigma_p^2 Sigma)`` (see the module docstring)."""
    d = U.shape[-1]
    g = jax.random.normal(key, (*shape, d), jnp.float32).astype(dtype)
    if orthogonal:
        Q = orthonormal_rows(U)
        g = g - (g @ Q.T) @ Q
    return jnp.asarray(sigma_p, dtype) * g


def sample_labels(key: jax.Array, count: int, p: ArrayLike, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
    """Clean labels ``y_hat`` (count,) ~ Rademacher and observed ``y`` flipped where a uniform is ``< p``."""
    k_clean, k_flip = keys.label_keys(key)
    y_clean = jnp.where(jax.random.bernoulli(k_clean, jnp.float32(0.5), (count,)), 1.0, -1.0).astype(dtype)
    flip = jax.random.uniform(k_flip, (count,), jnp.float32) < p
    return jnp.where(flip, -y_clean, y_clean), y_clean


def signal_coords(cfg: Config, key: jax.Array, y_clean: jax.Array) -> jax.Array:
    """``S`` (n, k): the signal patch of example i is ``S_i @ U`` (``key``: the label stream's key)."""
    if cfg.data == "xor":
        s = jnp.where(jax.random.bernoulli(keys.xor_sign_key(key), jnp.float32(0.5), y_clean.shape), 1.0, -1.0).astype(y_clean.dtype)
        return jnp.stack([s, s * y_clean], axis=-1)
    return y_clean[:, None]


def sample(cfg: Config, key: jax.Array, U: jax.Array, sigma_p: jax.Array, p: ArrayLike, count: int | None = None, dtype=jnp.float32) -> Dataset:
    """Draw ``count`` (default ``cfg.n``) examples with signal vectors ``U`` (k, d).

    ``sigma_p`` and ``p`` are scalars (traceable, so this vmaps over them)."""
    count = cfg.n if count is None else count
    k_lab, k_noise = keys.data_keys(key)
    y, y_clean = sample_labels(k_lab, count, p, dtype)
    S = signal_coords(cfg, k_lab, y_clean)
    xi = sample_noise(k_noise, (count, cfg.n_patches - 1), U, sigma_p, cfg.noise == "orthogonal", dtype)
    X = jnp.concatenate([(S @ U.astype(dtype))[:, None, :], xi], axis=1)
    return Dataset(X=X, y=y, y_clean=y_clean, S=S)


def sample_test_set(cfg: Config, key: jax.Array, U: jax.Array, sigma_p: jax.Array, dtype=jnp.float32) -> Dataset:
    """``cfg.n_test`` fresh test inputs with clean labels (``y = y_clean``): the clean test error is
    measured on them. Drawn once per run from its test key; memory ``n_test * P * d``."""
    return sample(cfg, key, U, sigma_p, 0.0, cfg.n_test, dtype)
