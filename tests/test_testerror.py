"""The Gaussian test-error estimator (benign.core.testerror, docs/science.md, "The Gaussian test-error estimator") against explicit test sets."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

import benign
from benign.core import testerror
from benign.core.config import make_config


def explicit_clean_error(cfg, W, a, b, mu, n_test, seed, orthogonal):
    """Clean error of (W, a, b) on ``n_test`` fresh float64 test points, and its binomial standard error."""
    rng = np.random.default_rng(seed)
    W, a, b, mu = (np.asarray(v, np.float64) for v in (W, a, b, mu))
    two, m, d = W.shape
    u = mu / np.linalg.norm(mu)
    act = {"relu": lambda z: np.maximum(z, 0.0), "leaky_relu": lambda z: np.where(z > 0, z, cfg.leaky_slope * z)}[cfg.activation]
    R = 1.0 if cfg.reduce == "sum" else 0.5
    w = R * np.array([1.0, -1.0])[:, None] * a
    wrong = 0
    for start in range(0, n_test, 50_000):
        k = min(50_000, n_test - start)
        y = rng.choice([-1.0, 1.0], size=k)
        xi = rng.normal(size=(k, d)) * cfg.sigma_p
        if orthogonal:
            xi -= np.outer(xi @ u, u)
        z_sig = y[:, None, None] * (W @ mu)[None] + b
        z_noise = np.einsum("kd,jrd->kjr", xi, W) + b
        f = np.einsum("kjr,jr->k", act(z_sig) + act(z_noise), w)
        wrong += int(np.sum(y * f <= 0))
    e = wrong / n_test
    return e, np.sqrt(e * (1 - e) / n_test)


@pytest.fixture(scope="module")
def trained():
    """A benign (high SNR) and a harmful (low SNR) trained network, with their results."""
    kw = dict(n=20, d=200, m=5, p=0.1, init_scale=0.05, steps=300, n_checkpoints=2)
    return benign.simulate_batch(snr=[0.3, 0.04], seed=[1, 2], return_params=True, **kw)


@pytest.mark.parametrize("noise", ["orthogonal", "isotropic"])
def test_gaussian_estimator_matches_a_large_test_set(trained, noise):
    errors = []
    for r in trained:
        cfg = dataclasses.replace(r.config, noise=noise, n_mc=2**16)
        mu = np.zeros(cfg.d)
        mu[0] = cfg.mu_norm
        W, a, b = (jnp.asarray(r.params[k], jnp.float64) for k in ("W", "a", "b"))
        g, g_se = testerror.clean_error_from_weights(cfg, W, a, b, jnp.asarray(mu), cfg.sigma_p)
        t, t_se = explicit_clean_error(cfg, W, a, b, mu, 200_000, seed=7, orthogonal=noise == "orthogonal")
        assert abs(float(g) - t) <= 4 * np.hypot(float(g_se), t_se), (float(g), float(g_se), t, t_se)
        if t > 0:  # beats a test set of the same size (antithetic pairs, both labels)
            assert float(g_se) < np.sqrt(t * (1 - t) / cfg.n_mc)
        else:  # a perfect network: both estimates are exactly zero
            assert float(g) == 0.0 and float(g_se) == 0.0
        errors.append(t)
    assert errors[0] < 0.1 and errors[1] > 0.25  # one benign, one harmful network (clean errors)


def test_simulate_reports_the_gaussian_estimate_with_its_standard_error(trained):
    for r in trained:
        assert r.config.test_error_method == "gaussian" and r.config.n_mc == 4096
        se = r.trajectory["test_error_se"][-1]
        assert 0 <= se < 0.01
        mu = np.zeros(r.config.d)
        mu[0] = r.config.mu_norm
        t, t_se = explicit_clean_error(r.config, r.params["W"], r.params["a"], r.params["b"], mu, 100_000, seed=3, orthogonal=True)
        p = r.config.p
        assert abs(r.test_error - (p + (1 - 2 * p) * t)) <= 4 * np.hypot(se, (1 - 2 * p) * t_se) + 1e-6
        assert r.test_error == pytest.approx(p + (1 - 2 * p) * r.test_error_clean, abs=1e-6)


def test_exact_value_for_independent_responses():
    """m = 1, s = 0, b = 0, identity covariance: f = relu(u1) - relu(u2); errors are ties or wrong signs.

    y = +1 errs when relu(u1) <= relu(u2), y = -1 when relu(u1) >= relu(u2): mean (1 + P(tie)) / 2 = 5/8.
    """
    cfg = make_config(m=1, n_mc=2**16)
    e, se = testerror.clean_error(cfg, jnp.zeros((2, 1)), jnp.eye(2), jnp.ones((2, 1)), jnp.zeros((2, 1)))
    assert abs(float(e) - 0.625) <= 4 * float(se) and 0 < float(se) < 0.003
    batched = testerror.clean_error(cfg, jnp.zeros((3, 2, 1)), jnp.broadcast_to(jnp.eye(2), (3, 2, 2)), jnp.ones((3, 2, 1)), jnp.zeros((3, 2, 1)))
    np.testing.assert_allclose(np.asarray(batched[0]), float(e))


def test_rank_deficient_covariance_d_smaller_than_2m():
    rng = np.random.default_rng(0)
    cfg = make_config(d=3, m=4, bias=True, activation="leaky_relu", reduce="mean", n_mc=2**15, noise="orthogonal")
    W, a, b = rng.normal(size=(2, 4, 3)), np.abs(rng.normal(size=(2, 4))), rng.normal(size=(2, 4)) * 0.5
    mu = np.array([0.0, 0.8, 0.0])
    g, g_se = testerror.clean_error_from_weights(cfg, *(jnp.asarray(v) for v in (W, a, b, mu)), 1.0)
    t, t_se = explicit_clean_error(cfg, W, a, b, mu, 100_000, seed=1, orthogonal=True)
    assert np.isfinite(float(g)) and abs(float(g) - t) <= 4 * np.hypot(float(g_se), t_se)


def test_base_points_are_fixed_antithetic_and_precision_free():
    z32, z64 = testerror.base_points(1024, 6, jnp.float32), testerror.base_points(1024, 6, jnp.float64)
    np.testing.assert_array_equal(np.asarray(z32[:512]), -np.asarray(z32[512:]))
    np.testing.assert_array_equal(np.asarray(z32, np.float64), np.asarray(z64))
    np.testing.assert_array_equal(np.asarray(testerror.base_points(1024, 6)), np.asarray(z32))
    assert abs(float(jnp.std(z64)) - 1) < 0.05
    with pytest.raises(ValueError, match="n_mc"):
        testerror.base_points(7, 2)


def test_noisy_error_and_binomial_standard_error():
    e, se = testerror.noisy_error(0.1, jnp.asarray(0.25), jnp.asarray(0.01))
    assert float(e) == pytest.approx(0.1 + 0.8 * 0.25) and float(se) == pytest.approx(0.008)
    assert float(testerror.binomial_se(jnp.asarray(0.5), 100)) == pytest.approx(0.05)
