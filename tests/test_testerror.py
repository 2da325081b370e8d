"""The Gaussian test-error estimator (benign.core.testerror, docs/science.md, "The Gaussian test-error estimator") against explicit test sets."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import benign
from benign.core import data as data_mod
from benign.core import testerror
from benign.core.config import make_config


def signal_vectors(cfg, mu_norm=None, angle=None):
    """Signal vectors U (k, d) float64 numpy: mu along e_1, or XOR's a, b."""
    with jax.enable_x64(True):
        return np.asarray(data_mod.signal_vectors(cfg, cfg.mu_norm if mu_norm is None else mu_norm,
                                                  cfg.xor_angle if angle is None else angle, None, jnp.float64))


def explicit_clean_error(cfg, W, a, b, U, n_test, seed):
    """Clean error of (W, a, b) on ``n_test`` fresh float64 test inputs drawn by numpy, written out:
    a random signal type, P - 1 noise patches (projected off the signal directions for orthogonal noise)."""
    rng = np.random.default_rng(seed)
    W, a, b, U = (np.asarray(v, np.float64) for v in (W, a, b, U))
    two, m, d = W.shape
    P = cfg.n_patches
    Q = np.linalg.qr(U.T)[0].T if np.linalg.norm(U) > 0 else np.zeros_like(U)
    acts = {"relu": lambda z: np.maximum(z, 0.0), "leaky_relu": lambda z: np.where(z > 0, z, cfg.leaky_slope * z),
            "poly_relu": lambda z: np.maximum(z, 0.0) ** cfg.q}
    act = acts[cfg.activation]
    R = 1.0 if cfg.reduce == "sum" else 1.0 / P
    w = R * np.array([1.0, -1.0])[:, None] * a
    wrong = 0
    for start in range(0, n_test, 20_000):
        k = min(20_000, n_test - start)
        y = rng.choice([-1.0, 1.0], size=k)
        if cfg.data == "xor":  # +-(a + b) for y = +1, +-(a - b) for y = -1
            sign = rng.choice([-1.0, 1.0], size=k)
            S = np.stack([sign, sign * y], axis=1)
        else:
            S = y[:, None]
        signal = S @ U
        h = act(np.einsum("kd,jrd->kjr", signal, W) + b)
        for _ in range(P - 1):
            xi = rng.normal(size=(k, d)) * cfg.sigma_p
            if cfg.noise == "orthogonal":
                xi -= (xi @ Q.T) @ Q
            h += act(np.einsum("kd,jrd->kjr", xi, W) + b)
        f = np.einsum("kjr,jr->k", h, w)
        wrong += int(np.sum(y * f <= 0))
    e = wrong / n_test
    return e, np.sqrt(e * (1 - e) / n_test)


# compiled once per configuration (eager dispatch would compile every primitive for every new shape)
clean_error = jax.jit(testerror.clean_error, static_argnames=("cfg", "n_mc"))


@functools.partial(jax.jit, static_argnames=("cfg", "n_mc"))
def _estimate(cfg, W, a, b, U, n_mc):
    sig, cov = testerror.gaussian_inputs(cfg, W, U, cfg.sigma_p)
    return testerror.clean_error(cfg, sig, cov, a, b, n_mc)


def estimate(cfg, W, a, b, U, n_mc):
    with jax.enable_x64(True):
        e, se = _estimate(cfg, *(jnp.asarray(v, jnp.float64) for v in (W, a, b, U)), n_mc=n_mc)
        return float(e), float(se)


@pytest.fixture(scope="module")
def trained():
    """A benign (high SNR) and a harmful (low SNR) trained network, with their results."""
    kw = dict(n=20, d=200, m=5, p=0.1, init_scale=0.05, steps=300, n_checkpoints=2)
    return benign.simulate_batch(snr=[0.3, 0.04], seed=[1, 2], return_params=True, **kw)


@pytest.mark.parametrize("noise", ["orthogonal", pytest.param("isotropic", marks=pytest.mark.slow)])
def test_gaussian_estimator_matches_a_large_test_set(trained, noise):
    errors = []
    for r in trained:
        cfg = dataclasses.replace(r.config, noise=noise, n_mc=2**16)
        U = signal_vectors(cfg)
        W, a, b = (r.params[k] for k in ("W", "a", "b"))
        g, g_se = estimate(cfg, W, a, b, U, cfg.n_mc)
        t, t_se = explicit_clean_error(cfg, W, a, b, U, 200_000, seed=7)
        assert abs(g - t) <= 4 * np.hypot(g_se, t_se), (g, g_se, t, t_se)
        if t > 0:  # beats a test set of the same size (antithetic pairs, both labels)
            assert g_se < np.sqrt(t * (1 - t) / cfg.n_mc)
        else:  # a perfect network: both estimates are exactly zero
            assert g == 0.0 and g_se == 0.0
        errors.append(t)
    assert errors[0] < 0.1 and errors[1] > 0.25  # one benign, one harmful network (clean errors)


@settings(max_examples=8, deadline=None)  # each example draws 60,000 explicit test inputs
@given(data=st.sampled_from(["signal_noise", "xor"]), P=st.integers(2, 4), activation=st.sampled_from(["relu", "leaky_relu", "poly_relu"]),
       reduce=st.sampled_from(["sum", "mean"]), noise=st.sampled_from(["orthogonal", "isotropic"]), seed=st.integers(0, 2**20))
def test_estimator_matches_explicit_test_sets_for_every_data_model(data, P, activation, reduce, noise, seed):
    """Random networks on XOR data and on more patches: the estimate is within 4 standard errors."""
    rng = np.random.default_rng(seed)
    m, d = 3, 12
    cfg = make_config(data=data, n_patches=P, activation=activation, reduce=reduce, noise=noise, m=m, d=d, mu_norm=1.3, bias=True,
                      xor_angle=1.2, n_mc=2**14)
    W, a, b = rng.normal(size=(2, m, d)) * 0.5, rng.normal(size=(2, m)), rng.normal(size=(2, m)) * 0.3
    U = signal_vectors(cfg)
    g, g_se = estimate(cfg, W, a, b, U, cfg.n_mc)
    t, t_se = explicit_clean_error(cfg, W, a, b, U, 60_000, seed=seed)
    assert abs(g - t) <= 4 * np.hypot(g_se, t_se) + 1e-9, (g, g_se, t, t_se)


def test_simulate_reports_the_gaussian_estimate_with_its_standard_error(trained):
    for r in trained:
        assert r.config.test_error_method == "gaussian" and r.config.n_mc == 4096
        se = r.trajectory["test_error_se"][-1]
        assert 0 <= se < 0.01
        t, t_se = explicit_clean_error(r.config, r.params["W"], r.params["a"], r.params["b"], signal_vectors(r.config), 100_000, seed=3)
        p = r.config.p
        assert abs(r.test_error - (p + (1 - 2 * p) * t)) <= 4 * np.hypot(se, (1 - 2 * p) * t_se) + 1e-6
        assert r.test_error == pytest.approx(p + (1 - 2 * p) * r.test_error_clean, abs=1e-6)


def test_intermediate_checkpoints_use_fewer_points_with_their_standard_error():
    r = benign.simulate(snr=0.1, n=20, d=100, m=4, steps=50, n_checkpoints=5, n_mc=4096, n_mc_traj=256)
    se = r.trajectory["test_error_se"]
    assert np.all(se[:-1] > 0) and np.all(np.isfinite(se))
    # the final estimate uses 16x the points: its standard error is about 4x smaller than it would be at 256 points
    r2 = benign.simulate(snr=0.1, n=20, d=100, m=4, steps=50, n_checkpoints=5, n_mc=256, n_mc_traj=256)
    assert se[-1] < 0.5 * r2.trajectory["test_error_se"][-1]
    np.testing.assert_allclose(r.trajectory["test_error"][:-1], r2.trajectory["test_error"][:-1], rtol=1e-6)


def test_exact_value_for_independent_responses():
    """m = 1, s = 0, b = 0, identity covariance: f = relu(u1) - relu(u2); errors are ties or wrong signs.

    y = +1 errs when relu(u1) <= relu(u2), y = -1 when relu(u1) >= relu(u2): mean (1 + P(tie)) / 2 = 5/8.
    """
    cfg = make_config(m=1)
    e, se = clean_error(cfg, jnp.zeros((2, 1, 1)), jnp.eye(2), jnp.ones((2, 1)), jnp.zeros((2, 1)), 2**16)
    assert abs(float(e) - 0.625) <= 4 * float(se) and 0 < float(se) < 0.003
    batched = clean_error(cfg, jnp.zeros((3, 2, 1, 1)), jnp.broadcast_to(jnp.eye(2), (3, 2, 2)), jnp.ones((3, 2, 1)), jnp.zeros((3, 2, 1)), 2**16)
    np.testing.assert_allclose(np.asarray(batched[0]), float(e))


def test_rank_deficient_covariance_d_smaller_than_2m():
    rng = np.random.default_rng(0)
    cfg = make_config(d=3, m=4, bias=True, activation="leaky_relu", reduce="mean", noise="orthogonal", mu_norm=0.8)
    W, a, b = rng.normal(size=(2, 4, 3)), np.abs(rng.normal(size=(2, 4))), rng.normal(size=(2, 4)) * 0.5
    U = np.array([[0.0, 0.8, 0.0]])
    g, g_se = estimate(cfg, W, a, b, U, 2**15)
    t, t_se = explicit_clean_error(cfg, W, a, b, U, 100_000, seed=1)
    assert np.isfinite(g) and abs(g - t) <= 4 * np.hypot(g_se, t_se)


@settings(deadline=None)
@given(k=st.integers(1, 12), rank=st.integers(0, 12), seed=st.integers(0, 2**20))
def test_factor_is_a_cholesky_factor_of_psd_matrices_of_any_rank(k, rank, seed):
    """L L^T = C for random PSD C of every rank (float64), L lower triangular; no LAPACK call involved."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(k, min(rank, k))) * rng.uniform(0.1, 10)
    C = A @ A.T
    with jax.enable_x64(True):
        L = np.asarray(jax.jit(testerror.factor)(jnp.asarray(C)))
    assert np.allclose(np.triu(L, 1), 0.0)
    scale = max(np.max(np.abs(C)), 1e-300)
    assert np.max(np.abs(L @ L.T - C)) <= 1e-8 * scale
    if rank >= k:  # positive definite: the Cholesky factor itself
        np.testing.assert_allclose(L, np.linalg.cholesky(C), rtol=1e-7, atol=1e-9 * np.sqrt(scale))


def test_base_points_are_fixed_antithetic_and_precision_free():
    z = testerror.half_points(1024, 6)
    assert z.dtype == np.float32 and z.shape == (512, 6) and not z.flags.writeable
    np.testing.assert_array_equal(z, testerror.half_points(1024, 6))  # a fixed seed: common random numbers
    assert abs(float(np.std(z)) - 1) < 0.05
    with pytest.raises(ValueError, match="n_mc"):
        testerror.half_points(7, 2)


def test_noisy_error_and_binomial_standard_error():
    e, se = testerror.noisy_error(0.1, jnp.asarray(0.25), jnp.asarray(0.01))
    assert float(e) == pytest.approx(0.1 + 0.8 * 0.25) and float(se) == pytest.approx(0.008)
    assert float(testerror.binomial_se(jnp.asarray(0.5), 100)) == pytest.approx(0.05)
