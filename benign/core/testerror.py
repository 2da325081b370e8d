"""Test error without a test set: a low-dimensional Gaussian estimator (docs/science.md, "The Gaussian test-error estimator").

For a fresh input with clean label ``y_hat`` the signal patch is ``y_hat * mu`` (deterministic) and
the filter responses to the noise patch, ``u_{j,r} = <w_{j,r}, xi>``, form a 2m-dimensional Gaussian
``N(0, W Sigma W^T)`` with ``Sigma = sigma_p^2 (I - u u^T)`` (orthogonal noise, ``u = mu/|mu|``) or
``sigma_p^2 I`` (isotropic). So the clean test error

    P(y_hat f(x) <= 0) = 1/2 P(c_+ + g(u) <= 0) + 1/2 P(c_- + g(u) >= 0),
    c_pm = R sum_{j,r} s_j a_{j,r} sigma(+-<w_{j,r}, mu> + b_{j,r}),
    g(u) = R sum_{j,r} s_j a_{j,r} sigma(u_{j,r} + b_{j,r})

(``R`` = 1 for sum, 1/2 for mean over the two patches; ties count as errors, as on a test set) is an
expectation over that Gaussian. It needs only ``W mu`` (2, m) and ``W W^T`` (2m, 2m), which the
coefficient engine gets from Gram quantities without d-dimensional work.

The expectation is estimated on ``n_mc`` fixed base points ``z ~ N(0, I_2m)`` in antithetic pairs
``(z, -z)``, mapped through the symmetric square root of the covariance. The base points come from one fixed
seed (:data:`MC_KEY`) shared by every run: a run's estimate never depends on its batch, and
comparisons between runs (across a sweep, or float32 versus float64) are free of Monte Carlo noise
(common random numbers). The standard error is that of the ``n_mc / 2`` antithetic pair means.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from . import model
from .config import Config

#: Seed of the fixed base points shared by every run (common random numbers).
MC_KEY = 0x5EED
#: Base points are pushed through in pieces of (at most) this many rows (cache-sized products).
MC_PIECE = 64


def base_points(n_mc: int, dim: int, dtype=jnp.float32) -> jax.Array:
    """Fixed standard normal points (n_mc, dim): rows ``k`` and ``k + n_mc/2`` are antithetic (z, -z).

    Drawn in float32 by numpy from :data:`MC_KEY` (a compile-time constant) and cast, so float32 and
    float64 runs use the same points.
    """
    z = jnp.asarray(_half_points(int(n_mc), int(dim))).astype(dtype)
    return jnp.concatenate([z, -z], axis=0)


@functools.lru_cache(maxsize=8)
def _half_points(n_mc: int, dim: int) -> np.ndarray:
    """The first half (n_mc/2, dim) float32 of :func:`base_points`, from numpy (no compile), cached."""
    if n_mc < 2 or n_mc % 2:
        raise ValueError(f"n_mc={n_mc!r} is invalid: allowed range is an even integer >= 2")
    z = np.random.default_rng(MC_KEY).standard_normal((n_mc // 2, dim), dtype=np.float32)
    z.setflags(write=False)
    return z


def noise_covariance(WWt: jax.Array, s: jax.Array, mu_norm: jax.Array, sigma_p: jax.Array, orthogonal: bool) -> jax.Array:
    """Covariance (2m, 2m) of ``(<w_{j,r}, xi>)`` flattened over (j, r).

    WWt: (2m, 2m) ``W W^T``; s: (2m,) ``W mu``; mu_norm, sigma_p: scalars. Orthogonal noise removes
    the signal direction ``W u = s / |mu|`` (skipped when ``|mu| = 0``, as the data sampler does).
    """
    cov = WWt
    if orthogonal:
        safe = jnp.where(mu_norm > 0, mu_norm, 1.0)
        wu = jnp.where(mu_norm > 0, s / safe, 0.0)
        cov = cov - jnp.outer(wu, wu)
    cov = 0.5 * (cov + cov.T)
    return jnp.asarray(sigma_p, cov.dtype) ** 2 * cov


def psd_factor(cov: jax.Array) -> jax.Array:
    """The symmetric PSD square root ``F = Q sqrt(L) Q^T`` (..., k, k) of symmetric PSD ``cov`` (..., k, k).

    Unlike a Cholesky or eigenvector factor it is unique and continuous in ``cov``, so two engines whose
    covariances agree to rounding map the base points to the same samples. Computed by ``eigh`` in
    float64 (rank-deficient covariances, e.g. ``d < 2m``, are fine: rounding negatives are clipped).
    """
    lam, Q = jnp.linalg.eigh(cov.astype(jnp.float64))
    F = (Q * jnp.sqrt(jnp.maximum(lam, 0.0))[..., None, :]) @ jnp.swapaxes(Q, -1, -2)
    return F.astype(cov.dtype)


def noise_readout(cfg: Config, F: jax.Array, a: jax.Array, b: jax.Array, z: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``g(u)`` at ``u = +F z_k`` and at ``u = -F z_k`` (the antithetic partner): two arrays (..., k).

    F: (..., 2m, 2m) covariance factors; a, b: (..., 2, m); z: (k, 2m) points. Leading batch axes are
    allowed (and vmap works). The points go through in pieces of :data:`MC_PIECE` as one
    ``(piece, 2m) @ (2m, batch * 2m)`` product each (working set in cache); the partner ``-u`` costs
    no product.
    """
    m = cfg.m
    lead = F.shape[:-2]
    Fc, bc = F.reshape(-1, 2 * m), b.reshape(-1, 2, m)
    w = ((1.0 if cfg.reduce == "sum" else 0.5) * model.signs(F.dtype)[:, None] * a).reshape(-1, 2, m)
    piece = math.gcd(z.shape[0], MC_PIECE)

    def one(zp):  # (piece, 2m) -> 2 x (piece, batch)
        u = (zp.astype(F.dtype) @ Fc.T).reshape(piece, -1, 2, m)
        return tuple(jnp.einsum("kbjr,bjr->kb", model.activation(cfg, v + bc), w) for v in (u, -u))

    def unpiece(g):  # (n_pieces, piece, batch) -> (..., k)
        return jnp.moveaxis(g.reshape(z.shape[0], -1), 0, -1).reshape(*lead, z.shape[0])

    g_plus, g_minus = jax.lax.map(one, z.reshape(-1, piece, 2 * m))
    return unpiece(g_plus), unpiece(g_minus)


def clean_error(cfg: Config, s: jax.Array, cov: jax.Array, a: jax.Array, b: jax.Array, n_mc: int | None = None) -> tuple[jax.Array, jax.Array]:
    """Estimated clean test error and its standard error, each of shape (...) (batch axes allowed).

    s: (..., 2, m) signal responses ``<w_{j,r}, mu>``; cov: (..., 2m, 2m) noise-response covariance
    (:func:`noise_covariance`); a, b: (..., 2, m) output layer and bias; n_mc: number of base points
    (default ``cfg.n_mc``, :func:`base_points`). Work: O(n_mc m^2) per run, nothing d-dimensional.
    """
    dtype = s.dtype
    n_mc = cfg.n_mc if n_mc is None else n_mc
    z = jnp.asarray(_half_points(int(n_mc), 2 * cfg.m)).astype(dtype)  # the first half; the rest is -z
    w = (1.0 if cfg.reduce == "sum" else 0.5) * model.signs(dtype)[:, None] * a
    c_pos = jnp.sum(w * model.activation(cfg, s + b), axis=(-2, -1))[..., None]
    c_neg = jnp.sum(w * model.activation(cfg, -s + b), axis=(-2, -1))[..., None]

    def err(g):  # y_hat = +1 errs when f <= 0, y_hat = -1 when f >= 0 (ties count, as on a test set)
        return 0.5 * ((c_pos + g <= 0).astype(dtype) + (c_neg + g >= 0).astype(dtype))

    g_plus, g_minus = noise_readout(cfg, psd_factor(cov), a, b, z)
    pairs = 0.5 * (err(g_plus) + err(g_minus))  # antithetic pair means: i.i.d.
    half = pairs.shape[-1]
    se = jnp.std(pairs, axis=-1, ddof=1) / np.sqrt(half) if half > 1 else jnp.zeros(pairs.shape[:-1], dtype)
    return jnp.mean(pairs, axis=-1), se.astype(dtype)


def clean_error_from_weights(cfg: Config, W: jax.Array, a: jax.Array, b: jax.Array, mu: jax.Array, sigma_p: jax.Array) -> tuple[jax.Array, jax.Array]:
    """:func:`clean_error` from explicit weights (the dense engine's entry point).

    W: (2, m, d); a, b: (2, m); mu: (d,) signal; sigma_p: scalar. Costs O(m^2 d) for ``W W^T`` plus
    the O(n_mc m^2) estimate.
    """
    m = cfg.m
    Wf = W.reshape(2 * m, -1)
    s = W @ mu  # (2, m)
    cov = noise_covariance(Wf @ Wf.T, s.reshape(-1), jnp.linalg.norm(mu), sigma_p, cfg.noise == "orthogonal")
    return clean_error(cfg, s, cov, a, b)


def noisy_error(p: jax.Array, clean: jax.Array, clean_se: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Test error with label noise ``p + (1 - 2p) clean`` and its standard error ``(1 - 2p) clean_se``."""
    return p + (1 - 2 * p) * clean, (1 - 2 * p) * clean_se


def binomial_se(clean: jax.Array, n_test: int) -> jax.Array:
    """Standard error ``sqrt(e (1 - e) / n_test)`` of a clean error ``e`` measured on ``n_test`` points."""
    return jnp.sqrt(jnp.maximum(clean * (1 - clean), 0.0) / n_test)
