"""Exact coefficient engine: gradient descent on signal/noise coefficients (docs/science.md, "The coefficient engine").

Every GD update of ``w_{j,r}`` is a combination of the training patches ``y_hat_i mu`` and ``xi_i``,
and weight decay only rescales, so at every step exactly

    w_{j,r}(t) = c(t) w_{j,r}(0) + C_{j,r,0}(t) mu + sum_i C_{j,r,i}(t) xi_i,     c(t) = (1 - eta_w wd)^t.

With the basis ``V = [mu; xi_1; ...; xi_n]`` (n+1, d), its Gram matrix ``G = V V^T`` and the
projections ``P0 = W(0) V^T``, every pre-activation is an entry of ``Z = c P0 + C G`` (2, m, n+1):
``<w_{j,r}, y_hat_i mu> = y_hat_i Z_{j,r,0}`` and ``<w_{j,r}, xi_i> = Z_{j,r,i}``. The loss depends on
W only through Z, so ``dL/dW = (dL/dZ) V`` and one GD step is ``C <- (1 - eta_w wd) C - eta_w dL/dZ``:
O(m n^2) per step, nothing d-dimensional inside the loop. d-dimensional work happens once (data,
``G``, ``P0``, ``W(0) W(0)^T``) and once more if the final ``W`` is asked for.

The proofs' coordinates (Kou et al. 2023 sign convention) are
``w_{j,r} = c w_{j,r}(0) + j gamma_{j,r} mu / |mu|^2 + sum_i rho_{j,r,i} xi_i / |xi_i|^2``, i.e.
``gamma = j C_0 |mu|^2`` (signal learning, > 0 when filter j aligns with j mu) and
``rho_i = C_i |xi_i|^2`` (noise memorisation), summarised per checkpoint in :data:`PROOF_KEYS`.

The data and the initialisation come from the same functions and keys as :func:`benign.core.dense.train`,
so both engines train the same network: results agree to rounding. Optax optimizers are not linear
in the gradient, so they need the dense engine (:func:`resolve_engine`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import data as data_mod
from . import keys, model, testerror
from .config import Config
from .dynamics import Hyper, checkpoint_steps, dtype_of, setup_run
from .model import Params

#: Checkpoint summaries of the proofs' coordinates, (K,) each (NaN in the dense engine).
PROOF_KEYS = ("gamma_max", "gamma_mean", "rho_pos_max", "rho_pos_mean", "rho_neg_min", "rho_neg_mean")
_NO_OPTIMIZER = "engine='coef' runs plain gradient descent exactly and cannot use an optax optimizer; use engine='dense' or 'auto'"


class Basis(NamedTuple):
    """Everything the loop needs about one run's data, with no d-dimensional array.

    G: (n+1, n+1) Gram of ``[mu; xi_1..xi_n]``; P0: (2, m, n+1) ``<w_{j,r}(0), v_k>``;
    N0: (2, m) ``|w_{j,r}(0)|^2``; M0: (2m, 2m) ``W(0) W(0)^T``; y, y_clean: (n,) labels.
    """

    G: jax.Array
    P0: jax.Array
    N0: jax.Array
    M0: jax.Array
    y: jax.Array
    y_clean: jax.Array


class CoefState(NamedTuple):
    """Loop state. c: () multiplier of ``w(0)``; C: (2, m, n+1) coefficients on the basis vectors;
    a, b: (2, m); step: () int32; first_bad: () int32 first step with a non-finite loss (-1 if none)."""

    c: jax.Array
    C: jax.Array
    a: jax.Array
    b: jax.Array
    step: jax.Array
    first_bad: jax.Array


def resolve_engine(cfg: Config, optimizer=None) -> str:
    """'dense' or 'coef' for ``cfg.engine`` (and whether an optax ``optimizer`` is used).

    'auto' picks 'coef' for plain GD when the basis is smaller than the ambient dimension
    (``d > n + 1``): a step then costs O(m n^2) instead of O(m n d). Raises ``ValueError`` for
    ``engine='coef'`` with an optimizer (its updates are not combinations of the training patches
    with known coefficients, so the coefficient engine cannot be exact).
    """
    if cfg.engine == "dense":
        return "dense"
    if optimizer is not None:
        if cfg.engine == "coef":
            raise ValueError(_NO_OPTIMIZER)
        return "dense"
    if cfg.engine == "coef":
        return "coef"
    return "coef" if cfg.d > cfg.n + 1 else "dense"


def gram_basis(W0: jax.Array, V: jax.Array, y: jax.Array, y_clean: jax.Array) -> Basis:
    """:class:`Basis` from ``W0`` (2, m, d), ``V = [mu; xi]`` (n+1, d) and labels (n,): O(m n d)."""
    two, m, d = W0.shape
    W0f = W0.reshape(two * m, d)
    return Basis(G=V @ V.T, P0=(W0f @ V.T).reshape(two, m, -1), N0=jnp.sum(W0**2, axis=-1), M0=W0f @ W0f.T, y=y, y_clean=y_clean)


def preacts(basis: Basis, c: jax.Array, C: jax.Array) -> jax.Array:
    """``Z = c P0 + C G`` (2, m, n+1): projections of every filter on every basis vector."""
    return c * basis.P0 + jnp.einsum("jrk,kl->jrl", C, basis.G)


def forward(cfg: Config, basis: Basis, Z: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
    """Network outputs f (n,) on the training set from projections Z (2, m, n+1)."""
    z_sig = basis.y_clean[:, None, None] * Z[None, :, :, 0] + b
    z_noise = jnp.moveaxis(Z[:, :, 1:], -1, 0) + b
    h = model.responses_from_preacts(cfg, jnp.stack([z_sig, z_noise], axis=1))  # (n, 2, m)
    return model.readout(Params(W=None, a=a, b=b), h)


def weight_sq_norms(basis: Basis, c: jax.Array, C: jax.Array, Z: jax.Array) -> jax.Array:
    """``|w_{j,r}|^2`` (2, m) = ``c^2 N0 + c <C, P0> + <C, Z>`` (uses ``C G C^T = (Z - c P0) C^T``)."""
    return c**2 * basis.N0 + c * jnp.sum(C * basis.P0, axis=-1) + jnp.sum(C * Z, axis=-1)


def coef_step(cfg: Config, basis: Basis, st: CoefState, hyper: Hyper) -> CoefState:
    """One full-batch GD step, the exact image of :func:`benign.core.dense.gd_step` (plain GD).

    ``W <- (1 - eta_w wd) W - eta_w dL/dW`` becomes ``c <- (1 - eta_w wd) c``,
    ``C <- (1 - eta_w wd) C - eta_w dL/dZ``; ``a -= eta_a (dL/da + wd a)``, ``b -= eta_w dL/db``.
    The chain rule is written out (about twice as fast as autodiff here); the activation's derivative
    comes from ``jax.jvp`` of :func:`benign.core.model.activation`, so kinks follow autodiff's convention.
    """
    wd, n = hyper.weight_decay, basis.y.shape[0]
    Z = preacts(basis, st.c, st.C)
    z_sig = basis.y_clean[:, None, None] * Z[None, :, :, 0] + st.b  # (n, 2, m)
    z_noise = jnp.moveaxis(Z[:, :, 1:], -1, 0) + st.b
    act = lambda z: model.activation(cfg, z)  # noqa: E731
    h_sig, dh_sig = jax.jvp(act, (z_sig,), (jnp.ones_like(z_sig),))
    h_noise, dh_noise = jax.jvp(act, (z_noise,), (jnp.ones_like(z_noise),))
    R = 1.0 if cfg.reduce == "sum" else 0.5
    sR = model.signs(Z.dtype)[:, None] * R  # (2, 1)
    h = h_sig + h_noise
    margins = basis.y * jnp.einsum("njr,jr->n", h, sR * st.a)
    g_f = -basis.y * jax.nn.sigmoid(-margins) / n  # dL/df_i
    g_sig = g_f[:, None, None] * dh_sig * (sR * st.a)  # dL/dz (n, 2, m)
    g_noise = g_f[:, None, None] * dh_noise * (sR * st.a)
    gZ = jnp.concatenate([jnp.einsum("njr,n->jr", g_sig, basis.y_clean)[..., None], jnp.moveaxis(g_noise, 0, -1)], axis=-1)
    if cfg.train_output:
        ga = jnp.einsum("njr,n->jr", h, g_f) * sR + wd * st.a
        reg = jnp.sum(st.a**2) + jnp.sum(weight_sq_norms(basis, st.c, st.C, Z))
    else:
        ga = jnp.zeros_like(st.a)
        reg = jnp.sum(weight_sq_norms(basis, st.c, st.C, Z))
    gb = jnp.sum(g_sig + g_noise, axis=0) if cfg.bias else jnp.zeros_like(st.b)
    value = model.logistic_loss(margins) + 0.5 * wd * reg  # the dense engine's loss value
    shrink = 1 - hyper.eta_w * wd
    bad = (st.first_bad < 0) & ~jnp.isfinite(value)
    return CoefState(
        c=shrink * st.c,
        C=shrink * st.C - hyper.eta_w * gZ,
        a=st.a - hyper.eta_a * ga,
        b=st.b - hyper.eta_w * gb,
        step=st.step + 1,
        first_bad=jnp.where(bad, st.step, st.first_bad),
    )


def proof_summaries(basis: Basis, C: jax.Array) -> dict[str, jax.Array]:
    """:data:`PROOF_KEYS` scalars from ``gamma_{j,r} = j C_{j,r,0} |mu|^2`` and ``rho_{j,r,i} = C_{j,r,i} |xi_i|^2``."""
    diag = jnp.diagonal(basis.G)
    gamma = model.signs(C.dtype)[:, None] * C[..., 0] * diag[0]
    rho = C[..., 1:] * diag[1:]
    pos, neg = jnp.maximum(rho, 0.0), jnp.minimum(rho, 0.0)
    return dict(gamma_max=jnp.max(gamma), gamma_mean=jnp.mean(gamma), rho_pos_max=jnp.max(pos), rho_pos_mean=jnp.mean(pos), rho_neg_min=jnp.min(neg), rho_neg_mean=jnp.mean(neg))


def gaussian_inputs(cfg: Config, basis: Basis, st: CoefState, Z: jax.Array, sigma_p: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(W mu, Cov)``: (2, m) and (2m, 2m), the inputs of :func:`benign.core.testerror.clean_error`, in O(m^2 n).

    ``W W^T = c^2 M0 + c (P0 C^T + C P0^T) + (Z - c P0) C^T`` and ``W mu = Z[..., 0]``.
    """
    two, m, k = st.C.shape
    Cf, P0f, Zf = st.C.reshape(two * m, k), basis.P0.reshape(two * m, k), Z.reshape(two * m, k)
    WWt = st.c**2 * basis.M0 + st.c * (P0f @ Cf.T + Cf @ P0f.T) + (Zf - st.c * P0f) @ Cf.T
    s = Z[..., 0]
    return s, testerror.noise_covariance(WWt, s.reshape(-1), jnp.sqrt(basis.G[0, 0]), sigma_p, cfg.noise == "orthogonal")


def test_set_clean_error(cfg: Config, st: CoefState, Z: jax.Array, test: tuple[jax.Array, jax.Array, jax.Array]) -> jax.Array:
    """Clean error on the dense engine's test set from its projections ``test = (y_hat, T0, TV)``.

    y_hat: (n_test,); T0: (n_test, 2m) ``xi W(0)^T``; TV: (n_test, n+1) ``xi V^T``.
    """
    y_hat, T0, TV = test
    two, m, k = st.C.shape
    z_noise = (st.c * T0 + TV @ st.C.reshape(two * m, k).T).reshape(-1, two, m) + st.b
    z_sig = y_hat[:, None, None] * Z[..., 0] + st.b
    h = model.responses_from_preacts(cfg, jnp.stack([z_sig, z_noise], axis=1))
    return jnp.mean((y_hat * model.readout(Params(None, st.a, st.b), h) <= 0).astype(Z.dtype))


def train_metrics(cfg: Config, basis: Basis, st: CoefState, Z: jax.Array) -> dict[str, jax.Array]:
    """Everything of :func:`checkpoint_metrics` but the test error, from projections Z."""
    margins = basis.y * forward(cfg, basis, Z, st.a, st.b)
    w_norm = jnp.sqrt(jnp.maximum(weight_sq_norms(basis, st.c, st.C, Z), 0.0))
    return dict(
        train_loss=model.logistic_loss(margins),
        train_error=jnp.mean((margins <= 0).astype(margins.dtype)),
        min_margin=jnp.min(margins),
        w_norm=w_norm,
        a=st.a,
        b=st.b,
        D=st.a**2 - w_norm**2 - st.b**2,
        **proof_summaries(basis, st.C),
    )


def checkpoint_metrics(cfg: Config, basis: Basis, st: CoefState, hyper: Hyper, test=None) -> dict[str, jax.Array]:
    """The keys of :func:`benign.core.dense.checkpoint_metrics` plus :data:`PROOF_KEYS`, all O(m n^2 + n_mc m^2).

    test: the projected test set when ``test_error_method='test_set'`` (see :func:`test_set_clean_error`).
    """
    Z = preacts(basis, st.c, st.C)
    if cfg.test_error_method == "gaussian":
        clean, clean_se = testerror.clean_error(cfg, *gaussian_inputs(cfg, basis, st, Z, hyper.sigma_p), st.a, st.b)
    else:
        clean = test_set_clean_error(cfg, st, Z, test)
        clean_se = testerror.binomial_se(clean, cfg.n_test)
    test_error, test_error_se = testerror.noisy_error(hyper.p, clean, clean_se)
    return dict(test_error_clean=clean, test_error=test_error, test_error_se=test_error_se, **train_metrics(cfg, basis, st, Z))


def initial_state(basis: Basis, a: jax.Array, b: jax.Array) -> CoefState:
    """State at step 0: ``c = 1``, ``C = 0``."""
    dtype = basis.G.dtype
    C = jnp.zeros(basis.P0.shape, dtype)
    return CoefState(jnp.ones((), dtype), C, a, b, jnp.zeros((), jnp.int32), jnp.full((), -1, jnp.int32))


def train(cfg: Config, key: jax.Array, hyper: Hyper, mu_dir: jax.Array | None = None, optimizer=None, return_params: bool = False) -> dict[str, jax.Array]:
    """Drop-in replacement for :func:`benign.core.dense.train` (plain GD only), same outputs plus :data:`PROOF_KEYS`.

    Samples the same data and initialisation from ``key``, reduces them to a :class:`Basis`, runs
    ``cfg.steps`` coefficient steps in one ``lax.scan`` over the checkpoint segments, and rebuilds the
    final ``W = c W(0) + C V`` (2, m, d) only if ``return_params``.
    """
    if optimizer is not None:
        raise ValueError(_NO_OPTIMIZER)
    mu, ds, params, hyper, test_set = setup_run(cfg, key, hyper, mu_dir)
    V = jnp.concatenate([mu[None, :], ds.X[:, 1]], axis=0)
    basis = gram_basis(params.W, V, ds.y, ds.y_clean)
    test = None
    if test_set is not None:
        y_hat, xi = test_set
        test = (y_hat, xi @ params.W.reshape(2 * cfg.m, cfg.d).T, xi @ V.T)
    out, st = run_checkpoints(cfg, basis, initial_state(basis, params.a, params.b), hyper, test)
    if return_params:
        out.update(W=st.c * params.W + jnp.einsum("jrk,kd->jrd", st.C, V), a_final=st.a, b_final=st.b)
    return out


def run_checkpoints(cfg: Config, basis: Basis, st: CoefState, hyper: Hyper, test=None) -> tuple[dict[str, jax.Array], CoefState]:
    """Run ``cfg.steps`` steps from ``st``, recording :func:`checkpoint_metrics` at the dense engine's checkpoints.

    Returns (dict of (K, ...) arrays plus ``diverged_step`` () int32, final state). d-free: compiled once
    for every ``d``.
    """
    # a first segment of length 0 records step 0 (metrics are compiled once, inside the scan)
    segments = jnp.asarray(np.diff(checkpoint_steps(cfg.steps, cfg.n_checkpoints), prepend=0), jnp.int32)

    def segment(s, length):
        s = jax.lax.fori_loop(0, length, lambda _, q: coef_step(cfg, basis, q, hyper), s)
        return s, checkpoint_metrics(cfg, basis, s, hyper, test)

    st, out = jax.lax.scan(segment, st, segments)
    final_bad = (st.first_bad < 0) & ~jnp.isfinite(out["train_loss"][-1])
    out["diverged_step"] = jnp.where(final_bad, cfg.steps, st.first_bad)
    return out, st


# ---------------------------------------------------------------------------------------------
# Many runs that differ in d: final metrics with one compiled program (the published heat map).
# ---------------------------------------------------------------------------------------------


def _bits_at(key: jax.Array, counts: jax.Array) -> jax.Array:
    """``jax.random.bits(key, shape)`` at flat indices ``counts`` (uint32) of ``shape`` (partitionable threefry)."""
    from jax.extend.random import threefry2x32_p

    key = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    b1, b2 = threefry2x32_p.bind(key[0], key[1], jnp.zeros_like(counts), counts)
    return b1 ^ b2


def _uniform_at(key: jax.Array, counts: jax.Array, lo: jax.Array, hi: jax.Array) -> jax.Array:
    """float32 ``jax.random.uniform(key, shape, minval=lo, maxval=hi)`` at flat indices ``counts``."""
    bits = jax.lax.shift_right_logical(_bits_at(key, counts), jnp.uint32(9)) | jnp.uint32(np.float32(1.0).view(np.uint32))
    floats = jax.lax.bitcast_convert_type(bits, jnp.float32) - jnp.float32(1.0)
    return jnp.maximum(lo, floats * (hi - lo) + lo)


def _normal_at(key: jax.Array, counts: jax.Array) -> jax.Array:
    """float32 ``jax.random.normal(key, shape)`` at flat indices ``counts``."""
    lo = np.nextafter(np.float32(-1.0), np.float32(0.0), dtype=np.float32)
    return np.float32(np.sqrt(2)) * jax.lax.erf_inv(_uniform_at(key, counts, lo, np.float32(1.0)))


def blocked_basis(cfg: Config, key: jax.Array, hyper: Hyper, d: jax.Array, lim: jax.Array, n_blocks: jax.Array, block: int = 64) -> tuple[Basis, jax.Array, jax.Array]:
    """The :class:`Basis` and ``(a(0), b(0))`` of :func:`train` for a *traced* ``d``: one compile for every d.

    The training noise and ``W(0)`` are generated ``block`` columns at a time at the flat indices
    ``row * d + col`` that ``jax.random`` uses for shape ``(rows, d)`` (threefry is counter-based),
    and only their Gram quantities are accumulated, so memory is O((n + m) block) per run. Needs
    ``mu = |mu| e_1`` (no ``mu_vec``). d: () int32; lim: () float32 ``1/sqrt(d)`` (computed on the
    host, as the dense engine's constant folding does); n_blocks: () int32 >= ceil(d / block).
    """
    dtype = dtype_of(cfg)
    n, m = cfg.n, cfg.m
    k = keys.split_run(key)
    k_lab, k_noise = keys.data_keys(k.data)
    y, y_clean = data_mod.sample_labels(k_lab, n, hyper.p, dtype)
    kw, _, kb = keys.init_keys(k.init)
    a0, b0 = model.init_params(k.init, dataclasses.replace(cfg, d=1), hyper.init_scale, hyper.sigma_0, dtype)[1:]  # d-free
    if cfg.bias and cfg.hidden_init == "uniform":  # the only d-dependent part: the range 1/sqrt(d)
        b0 = jax.random.uniform(kb, (2, m), jnp.float32, -lim, lim).astype(dtype)
    mu_norm, sigma_p, sigma_0 = (jnp.asarray(v, dtype) for v in (hyper.mu_norm, hyper.sigma_p, hyper.sigma_0))
    orth_cut = (cfg.noise == "orthogonal") & (mu_norm > 0)  # orthogonal noise: column 0 (= mu's) removed
    du = d.astype(jnp.uint32)
    rows_xi, rows_w = jnp.arange(n, dtype=jnp.uint32)[:, None] * du, jnp.arange(2 * m, dtype=jnp.uint32)[:, None] * du

    def body(t, acc):
        G, P, M = acc
        col = (t * block + jnp.arange(block)).astype(jnp.uint32)
        valid = col < du
        g = jnp.where(valid & ~(orth_cut & (col == 0)), _normal_at(k_noise, rows_xi + col), 0.0).astype(dtype)
        xi = sigma_p * g
        if cfg.hidden_init == "gaussian":
            w = _normal_at(kw, rows_w + col).astype(dtype) * sigma_0
        else:
            w = _uniform_at(kw, rows_w + col, -lim, lim).astype(dtype)
        w = jnp.where(valid, w, 0.0)
        V = jnp.concatenate([jnp.where(col == 0, mu_norm, 0.0)[None, :].astype(dtype), xi], axis=0)
        return G + V @ V.T, P + w @ V.T, M + w @ w.T

    z = jnp.zeros
    G, P, M = jax.lax.fori_loop(0, n_blocks, body, (z((n + 1, n + 1), dtype), z((2 * m, n + 1), dtype), z((2 * m, 2 * m), dtype)))
    return Basis(G=G, P0=P.reshape(2, m, n + 1), N0=jnp.diagonal(M).reshape(2, m), M0=M, y=y, y_clean=y_clean), a0, b0


@functools.partial(jax.jit, static_argnames=("cfg", "block"))
def final_chunk(cfg: Config, seeds, hashes, hyper: Hyper, d, lim, n_blocks, block: int = 64) -> dict[str, jax.Array]:
    """Final metrics (:func:`checkpoint_metrics` at ``cfg.steps``) of a chunk of runs with per-run ``d``."""
    dtype = dtype_of(cfg)

    def one(seed, h, hy, dd, ll):
        basis, a0, b0 = blocked_basis(cfg, keys.run_key(seed, h), hy, dd, ll, n_blocks, block)
        hy = Hyper(*(jnp.asarray(v, dtype) for v in hy))
        st = jax.lax.fori_loop(0, cfg.steps, lambda _, q: coef_step(cfg, basis, q, hy), initial_state(basis, a0, b0))
        Z = preacts(basis, st.c, st.C)
        out = train_metrics(cfg, basis, st, Z)
        final_bad = (st.first_bad < 0) & ~jnp.isfinite(out["train_loss"])
        out["diverged_step"] = jnp.where(final_bad, cfg.steps, st.first_bad)
        return out, gaussian_inputs(cfg, basis, st, Z, hy.sigma_p)

    out, (s, cov) = jax.vmap(one)(seeds, hashes, hyper, d, lim)
    clean, clean_se = testerror.clean_error(cfg, s, cov, out["a"], out["b"])  # batched: one product per piece
    out["test_error"], out["test_error_se"] = testerror.noisy_error(hyper.p.astype(dtype), clean, clean_se)
    out["test_error_clean"] = clean
    return out
