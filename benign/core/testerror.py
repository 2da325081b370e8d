"""Test error without a test set: a low-dimensional Gaussian estimator (docs/science.md, "The Gaussian test-error estimator").

For a fresh input with clean label ``y_hat`` the signal patch takes one of a few values (``y_hat mu``;
``+-(a+b)`` or ``+-(a-b)`` for XOR) and the filter responses to each noise patch,
``u_{j,r} = <w_{j,r}, xi>``, form a 2m-dimensional Gaussian ``N(0, C)`` with
``C = sigma_p^2 W Sigma W^T`` (``Sigma = I - Q^T Q`` for orthogonal noise, ``I`` for isotropic). With
``P - 1`` independent noise patches the clean test error is

    P(y_hat f(x) <= 0) = mean over signal types t of  P(y_t (c_t + g(u_1) + ... + g(u_{P-1})) <= 0),
    c_t = R sum_{j,r} s_j a_{j,r} sigma(<w_{j,r}, signal_t> + b_{j,r}),
    g(u) = R sum_{j,r} s_j a_{j,r} sigma(u_{j,r} + b_{j,r}),

(``R`` = 1 for sum, 1/P for mean over patches; ties count as errors, as on a test set): an
expectation over a low-dimensional Gaussian. It needs only the signal responses ``<w_{j,r}, u_t>``
(2, m, k) and the covariance ``C`` (2m, 2m), which the coefficient engine gets from Gram quantities
without d-dimensional work.

The expectation is estimated on ``n_mc`` fixed base points ``z ~ N(0, I)`` in antithetic pairs
``(z, -z)``, mapped through a Cholesky factor of ``C``. The base points come from one fixed seed
(:data:`MC_KEY`) shared by every run: a run's estimate never depends on its batch, and comparisons
between runs (across a sweep, or float32 versus float64) are free of Monte Carlo noise (common random
numbers). The standard error is that of the ``n_mc / 2`` antithetic pair means.

The factor is computed by :func:`factor`, a pivot-thresholded Cholesky written with plain array
operations: the compiled programs of this package contain no LAPACK call. (XLA:CPU runs jaxlib's
batched LAPACK kernels on its intra-op thread pool and blocks a pool thread while they fan out over the
same pool; two such kernels in flight at once on a two-thread pool deadlock the process.)
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import model
from .config import Config

#: Seed of the fixed base points shared by every run (common random numbers).
MC_KEY = 0x5EED
#: Base points are pushed through in pieces of (at most) this many rows (cache-sized products).
MC_PIECE = 64
#: Pivots below this fraction of the largest diagonal entry are treated as zero by :func:`factor`.
PIVOT_RTOL = 1e-10


@functools.lru_cache(maxsize=16)
def half_points(n_mc: int, dim: int) -> np.ndarray:
    """The first half (n_mc/2, dim) float32 of the base points (the second half is their negation),
    drawn by numpy from :data:`MC_KEY` (a compile-time constant, the same in float32 and float64)."""
    if n_mc < 2 or n_mc % 2:
        raise ValueError(f"n_mc={n_mc!r} is invalid: allowed range is an even integer >= 2")
    z = np.random.default_rng(MC_KEY).standard_normal((n_mc // 2, dim), dtype=np.float32)
    z.setflags(write=False)
    return z


def _factor_one(A: jax.Array) -> jax.Array:
    k = A.shape[-1]
    idx = jnp.arange(k)
    tol = PIVOT_RTOL * jnp.maximum(jnp.max(jnp.diagonal(A)), jnp.finfo(A.dtype).tiny)

    def body(j, L):
        v = A[:, j] - L @ L[j, :]
        piv = v[j]
        ok = piv > tol
        col = jnp.where(ok & (idx >= j), v / jnp.sqrt(jnp.where(ok, piv, 1.0)), 0.0)
        return L.at[:, j].set(col)

    return jax.lax.fori_loop(0, k, body, jnp.zeros_like(A))


def factor(cov: jax.Array) -> jax.Array:
    """A lower-triangular ``L`` (..., k, k) with ``L L^T = cov`` for symmetric PSD ``cov`` (..., k, k).

    Cholesky with pivots below :data:`PIVOT_RTOL` times the largest diagonal entry set to zero, so
    rank-deficient covariances (e.g. ``d < 2m``) are fine. Computed in float64 when 64-bit mode is on (cast back), with
    array operations only (no LAPACK call, see the module docstring). Unique and continuous for
    positive-definite ``cov``: two engines whose covariances agree to rounding map the base points to
    the same samples.
    """
    A = cov.astype(jnp.float64 if jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64 else cov.dtype)
    lead = A.shape[:-2]
    flat = A.reshape((-1,) + A.shape[-2:])
    L = jax.vmap(_factor_one)(flat).reshape(lead + A.shape[-2:])
    return L.astype(cov.dtype)


def noise_covariance(WWt: jax.Array, WQ: jax.Array | None, sigma_p: jax.Array) -> jax.Array:
    """Covariance (2m, 2m) of one noise patch's responses ``(<w_{j,r}, xi>)`` flattened over (j, r).

    WWt: (2m, 2m) ``W W^T``; WQ: (2m, k) ``W Q^T``, the filters' components on an orthonormal basis of
    the signal directions (orthogonal noise), or ``None`` (isotropic); sigma_p: scalar.
    """
    cov = WWt if WQ is None else WWt - WQ @ WQ.T
    cov = 0.5 * (cov + cov.T)
    return jnp.asarray(sigma_p, cov.dtype) ** 2 * cov


def signal_types(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """The equally likely signal patches of a fresh input: coordinates ``S_t`` (T, k) on the signal
    vectors and clean labels ``y_t`` (T,). ``signal_noise``: ``(+1, +1), (-1, -1)``; XOR: ``(s, s y)``."""
    if cfg.data == "xor":
        S = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
        return S, S[:, 0] * S[:, 1]
    return np.array([[1.0], [-1.0]]), np.array([1.0, -1.0])


def noise_readout(cfg: Config, F: jax.Array, a: jax.Array, b: jax.Array, z: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``sum_p g(u_p)`` at ``u_p = +F z_{k,p}`` and at ``u_p = -F z_{k,p}`` (the antithetic partner).

    F: (..., 2m, 2m) covariance factors; a, b: (..., 2, m); z: (K, (P-1) 2m) points. Returns two arrays
    (..., K). The points go through in pieces of :data:`MC_PIECE` as one
    ``(piece (P-1), 2m) @ (2m, batch 2m)`` product each; the partner ``-u`` costs no product.
    """
    m, P1 = cfg.m, cfg.n_patches - 1
    lead = F.shape[:-2]
    Fc, bc = F.reshape(-1, 2 * m), b.reshape(-1, 2, m)
    w = (model.patch_weight(cfg) * model.signs(F.dtype)[:, None] * a).reshape(-1, 2, m)
    piece = math.gcd(z.shape[0], MC_PIECE)

    def one(zp):  # (piece, (P-1) 2m) -> 2 x (piece, batch)
        u = (zp.reshape(piece * P1, 2 * m).astype(F.dtype) @ Fc.T).reshape(piece, P1, -1, 2, m)
        return tuple(jnp.einsum("kpbjr,bjr->kb", model.activation(cfg, v + bc), w) for v in (u, -u))

    def unpiece(g):  # (n_pieces, piece, batch) -> (..., K)
        return jnp.moveaxis(g.reshape(z.shape[0], -1), 0, -1).reshape(*lead, z.shape[0])

    g_plus, g_minus = jax.lax.map(one, z.reshape(-1, piece, P1 * 2 * m))
    return unpiece(g_plus), unpiece(g_minus)


def clean_error(cfg: Config, sig: jax.Array, cov: jax.Array, a: jax.Array, b: jax.Array, n_mc: int) -> tuple[jax.Array, jax.Array]:
    """Estimated clean test error and its standard error, each of shape (...) (batch axes allowed).

    sig: (..., 2, m, k) signal responses ``<w_{j,r}, u_t>`` on the signal vectors; cov: (..., 2m, 2m)
    noise-response covariance (:func:`noise_covariance`); a, b: (..., 2, m) output layer and bias;
    n_mc: number of base points. Work: O(n_mc P m^2) per run, nothing d-dimensional.
    """
    dtype = sig.dtype
    z = jnp.asarray(half_points(int(n_mc), (cfg.n_patches - 1) * 2 * cfg.m)).astype(dtype)
    S_t, y_t = (jnp.asarray(v, dtype) for v in signal_types(cfg))
    w = model.patch_weight(cfg) * model.signs(dtype)[:, None] * a
    z_sig = jnp.einsum("...jrk,tk->...tjr", sig, S_t) + b[..., None, :, :]
    c = jnp.sum(w[..., None, :, :] * model.activation(cfg, z_sig), axis=(-2, -1))  # (..., T)

    def err(g):  # (..., K) -> (..., K): mean over the signal types of 1{y_t (c_t + g) <= 0}
        return jnp.mean((y_t * (c[..., None, :] + g[..., :, None]) <= 0).astype(dtype), axis=-1)

    g_plus, g_minus = noise_readout(cfg, factor(cov), a, b, z)
    pairs = 0.5 * (err(g_plus) + err(g_minus))  # antithetic pair means: i.i.d.
    half = pairs.shape[-1]
    se = jnp.std(pairs, axis=-1, ddof=1) / np.sqrt(half) if half > 1 else jnp.zeros(pairs.shape[:-1], dtype)
    return jnp.mean(pairs, axis=-1), se.astype(dtype)


def gaussian_inputs(cfg: Config, W: jax.Array, U: jax.Array, sigma_p: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(sig (2, m, k), cov (2m, 2m))`` of :func:`clean_error` from explicit filters W (2, m, d) and
    signal vectors U (k, d): the dense engine's path, O(m^2 d)."""
    from .data import orthonormal_rows

    Wf = W.reshape(2 * cfg.m, -1)
    sig = jnp.einsum("jrd,kd->jrk", W, U)
    WQ = Wf @ orthonormal_rows(U).T if cfg.noise == "orthogonal" else None
    return sig, noise_covariance(Wf @ Wf.T, WQ, sigma_p)


def noisy_error(p: ArrayLike, clean: ArrayLike, clean_se: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """Test error with label noise ``p + (1 - 2p) clean`` and its standard error ``(1 - 2p) clean_se``."""
    p, clean, clean_se = jnp.asarray(p), jnp.asarray(clean), jnp.asarray(clean_se)
    return p + (1 - 2 * p) * clean, (1 - 2 * p) * clean_se


def binomial_se(clean: jax.Array, n_test: int) -> jax.Array:
    """Standard error ``sqrt(e (1 - e) / n_test)`` of a clean error ``e`` measured on ``n_test`` points."""
    return jnp.sqrt(jnp.maximum(clean * (1 - clean), 0.0) / n_test)
