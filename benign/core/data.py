"""Signal-plus-noise two-patch data (docs/science.md, "Data model").

Every example ``x = (x1, x2)`` has a signal patch ``y_hat * mu`` and a noise patch ``xi``; the observed
label ``y`` is ``y_hat`` flipped with probability ``p``. The network sums (or averages) a shared filter
over patches, so patch order does not matter and we store the signal patch first.

All functions are pure; randomness comes from an explicit ``jax.random`` key. Random numbers are drawn
in float32 and cast to the requested dtype, so a float64 run sees the same data as a float32 run
(rounded), which makes precision comparisons meaningful.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import keys


class Dataset(NamedTuple):
    """A training (or test) sample.

    X: (n, 2, d) patches, ``X[:, 0] = y_hat * mu`` (signal), ``X[:, 1] = xi`` (noise).
    y: (n,) observed labels in {-1, +1} (flipped with probability ``p``).
    y_clean: (n,) clean labels ``y_hat`` in {-1, +1}.
    """

    X: jax.Array
    y: jax.Array
    y_clean: jax.Array


def signal_vector(mu_norm: jax.Array, d: int, mu_dir: jax.Array | None = None, dtype=jnp.float32) -> jax.Array:
    """``mu`` of shape (d,): ``mu_norm * e_1`` or ``mu_norm * mu_dir`` (``mu_dir`` a unit vector (d,))."""
    u = jnp.zeros((d,), dtype).at[0].set(1.0) if mu_dir is None else jnp.asarray(mu_dir, dtype)
    return jnp.asarray(mu_norm, dtype) * u


def sample_noise(key: jax.Array, count: int, mu: jax.Array, sigma_p: jax.Array, orthogonal: bool, dtype=jnp.float32) -> jax.Array:
    """Noise patches xi: (count, d) from ``N(0, sigma_p^2 (I - u u^T))`` (``orthogonal``) or ``N(0, sigma_p^2 I)``.

    ``u = mu / |mu|``; when ``|mu| = 0`` the orthogonal projection is skipped (no direction to remove).
    """
    d = mu.shape[-1]
    g = jax.random.normal(key, (count, d), jnp.float32).astype(dtype)
    if orthogonal:
        nrm = jnp.linalg.norm(mu)
        u = jnp.where(nrm > 0, mu / jnp.where(nrm > 0, nrm, 1.0), 0.0)
        g = g - jnp.outer(g @ u, u)
    return jnp.asarray(sigma_p, dtype) * g


def sample_labels(key: jax.Array, count: int, p: jax.Array, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
    """Clean labels ``y_hat`` (count,) ~ Rademacher and observed ``y`` flipped with probability ``p``."""
    k_clean, k_flip = keys.label_keys(key)
    y_clean = jnp.where(jax.random.bernoulli(k_clean, 0.5, (count,)), 1.0, -1.0).astype(dtype)
    flip = jax.random.uniform(k_flip, (count,), jnp.float32) < p
    return jnp.where(flip, -y_clean, y_clean), y_clean


def sample(
    key: jax.Array,
    n: int,
    mu: jax.Array,
    sigma_p: jax.Array,
    p: jax.Array,
    orthogonal: bool = True,
    dtype=jnp.float32,
) -> Dataset:
    """Draw ``n`` examples. mu: (d,); sigma_p, p: scalars (traceable, so this vmaps over them)."""
    k_lab, k_noise = keys.data_keys(key)
    y, y_clean = sample_labels(k_lab, n, p, dtype)
    xi = sample_noise(k_noise, n, mu, sigma_p, orthogonal, dtype)
    X = jnp.stack([y_clean[:, None] * mu[None, :].astype(dtype), xi], axis=1)
    return Dataset(X=X, y=y, y_clean=y_clean)


def sample_test_set(key: jax.Array, n_test: int, mu: jax.Array, sigma_p: jax.Array, orthogonal: bool, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
    """Fresh test inputs for the clean error: labels y_hat (n_test,) and noise patches xi (n_test, d).

    Drawn once per run from the run's test key (the same test set at every checkpoint); memory n_test * d.
    """
    k_lab, k_noise = keys.data_keys(key)
    y_hat, _ = sample_labels(k_lab, n_test, 0.0, dtype)
    return y_hat, sample_noise(k_noise, n_test, mu, sigma_p, orthogonal, dtype)
