"""Numerical contracts of the core simulator: gradients, conservation laws, determinism, precision."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from tolerances import assert_close

import benign
from benign.core import dense, model
from benign.core.config import make_config
from benign.core.dynamics import HYPER_FIELDS, Hyper
from benign.core.model import Params


@settings(deadline=None)
@given(
    activation=st.sampled_from(["relu", "leaky_relu", "poly_relu"]),
    loss=st.sampled_from(["logistic", "hinge", "exponential"]),
    reduce=st.sampled_from(["sum", "mean"]),
    bias=st.booleans(),
    train_output=st.booleans(),
    n=st.integers(1, 6),
    d=st.integers(2, 7),
    m=st.integers(1, 3),
    P=st.integers(2, 4),
    seed=st.integers(0, 2**20),
)
def test_gradients_match_float64_numpy_reference(activation, loss, reduce, bias, train_output, n, d, m, P, seed):
    cfg = make_config(activation=activation, loss=loss, reduce=reduce, bias=bias, train_output=train_output, n=n, d=d, m=m, n_patches=P, q=3.0,
                      **({} if train_output else {"output_value": 0.5}))
    rng = np.random.default_rng(seed)
    W, a, b = rng.normal(size=(2, m, d)), rng.normal(size=(2, m)), rng.normal(size=(2, m)) * bias
    X, y = rng.normal(size=(n, P, d)), rng.choice([-1.0, 1.0], size=n)
    loss_ref, dW, da, db = ref.loss_and_grads(W, a, b, X, y, activation, reduce, q=3.0, slope=cfg.leaky_slope, loss=loss)
    with jax.enable_x64(True):
        _gradient_check(cfg, W, a, b, X, y, loss_ref, dW, da, db)


def _gradient_check(cfg, W, a, b, X, y, loss_ref, dW, da, db):
    activation, reduce = cfg.activation, cfg.reduce
    prm = Params(jnp.asarray(W), jnp.asarray(a), jnp.asarray(b))
    # one compiled program per example (eager dispatch would compile every primitive for every new shape)
    value, g = jax.jit(jax.value_and_grad(lambda p: model.loss(cfg, p, jnp.asarray(X), jnp.asarray(y))))(prm)
    np.testing.assert_allclose(float(value), loss_ref, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g.W), dW, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(g.a), da, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(g.b), db, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(jax.jit(lambda p: model.forward(cfg, p, jnp.asarray(X)))(prm)), ref.forward(W, a, b, X, activation, reduce, 3.0, cfg.leaky_slope), rtol=1e-10, atol=1e-12)


def _one_step(cfg, seed):
    """One GD step in float64 from a random state; returns (params before, params after, grads), numpy."""
    rng = np.random.default_rng(seed)
    with jax.enable_x64(True):
        prm = Params(*(jnp.asarray(v) for v in (rng.normal(size=(2, cfg.m, cfg.d)) * 0.3, rng.normal(size=(2, cfg.m)), np.zeros((2, cfg.m)))))
        X = jnp.asarray(rng.normal(size=(cfg.n, 2, cfg.d)))
        y = jnp.asarray(rng.choice([-1.0, 1.0], size=cfg.n))
        hyper = Hyper(*(jnp.asarray(getattr(cfg, f), jnp.float64) for f in HYPER_FIELDS))
        _, _, g = dense.objective_and_grads(cfg, prm, X, y, hyper)
        new = dense.gd_update(cfg, prm, g, hyper)
        to_np = lambda p: Params(*(np.asarray(v) for v in p))  # noqa: E731
        return to_np(prm), to_np(new), to_np(g)


@settings(deadline=None)
@given(activation=st.sampled_from(["relu", "leaky_relu"]), eta=st.floats(1e-3, 0.5), seed=st.integers(0, 2**20))
def test_balancedness_drift_is_exactly_eta_squared_term(activation, eta, seed):
    """docs/science.md, "Conservation law": for 1-homogeneous activations, one GD step changes D = a^2 - |w|^2 by eta^2 (|ga|^2 - |gw|^2)."""
    cfg = make_config(activation=activation, n=5, d=6, m=3, eta=eta, precision="float64")
    p0, p1, g = _one_step(cfg, seed)
    D = lambda p: p.a**2 - np.sum(p.W**2, axis=-1)  # noqa: E731
    predicted = eta**2 * (g.a**2 - np.sum(g.W**2, axis=-1))
    np.testing.assert_allclose(D(p1) - D(p0), predicted, rtol=1e-7, atol=1e-13)
    # and the a*ga = <w, gw> identity behind it
    np.testing.assert_allclose(p0.a * g.a, np.sum(p0.W * g.W, axis=-1), rtol=1e-9, atol=1e-13)


def test_two_step_sizes_conserve_a2_over_eta_a_minus_w2_over_eta_w():
    """With eta_w != eta_a the per-step drift of a^2/eta_a - |w|^2/eta_w is (eta_a |ga|^2 - eta_w |gw|^2)."""
    cfg = make_config(n=5, d=6, m=3, eta_w=0.05, eta_a=0.2, precision="float64")
    p0, p1, g = _one_step(cfg, 7)
    Q = lambda p: p.a**2 / 0.2 - np.sum(p.W**2, axis=-1) / 0.05  # noqa: E731
    predicted = 0.2 * g.a**2 - 0.05 * np.sum(g.W**2, axis=-1)
    np.testing.assert_allclose(Q(p1) - Q(p0), predicted, rtol=1e-7, atol=1e-12)


def test_small_init_ratio_tends_to_sqrt_eta_ratio():
    """Small output init: both layers grow and |w|/|a| -> sqrt(eta_w/eta_a) (docs/science.md, "Conservation law")."""
    r = benign.simulate(snr=0.3, init_scale=1e-3, sigma_0=1e-4, eta_w=0.2, eta_a=0.05, steps=3000, n=20, d=100, m=5, precision="float64")
    assert r.train_error == 0.0
    assert r.conserved_drift < 0.05
    assert abs(r.ratio - 2.0) < 0.1, r.ratio
    assert abs(r.ratio - r.ratio_predicted) < 0.02


def test_large_init_output_layer_barely_moves_and_fixed_output_never_moves():
    r = benign.simulate(snr=0.3, init_scale=2.0, eta=0.02, steps=2000, n=20, d=100, m=5)
    a = np.abs(r.trajectory["a"])
    assert np.max(np.abs(a[-1] - a[0]) / a[0]) < 0.1
    assert r.w_norm > 2 * np.mean(r.trajectory["w_norm"][0])  # while the hidden layer grew over 2x
    f = benign.simulate(snr=0.3, train_output=False, steps=300, n=20, d=100, m=5)
    assert np.all(f.trajectory["a"] == np.float32(1 / 5))
    assert np.isnan(f.conserved_drift)


def test_benign_and_harmful_configurations():
    """Both interpolate; the high-SNR one generalises near p, the low-SNR one well above p."""
    kw = dict(n=50, d=500, m=20, p=0.1, init_scale=0.01, steps=1000)
    good = benign.simulate(snr=0.25, **kw)
    bad = benign.simulate(snr=0.03, **kw)
    assert good.train_error == 0.0 and bad.train_error == 0.0
    assert good.test_error < 0.1 + 0.03
    assert bad.test_error > 0.1 + 0.2


@pytest.mark.parametrize("precision", ["float32", pytest.param("float64", marks=pytest.mark.slow)])
def test_batch_equals_single(precision):
    """A run inside a batch of 100 has the same keys, data and init as alone: numbers equal to rounding."""
    steps = 150
    cfgs = [benign.make_config(snr=s, seed=k, init_scale=0.01, steps=steps, n=10, d=40, m=4, precision=precision) for s in np.linspace(0.05, 0.5, 10) for k in range(10)]
    batch = benign.simulate_batch(cfgs)
    for i in (0, 37, 99):
        alone = benign.simulate_batch([cfgs[i]])[0]
        tr = alone.trajectory
        for k, v in tr.items():
            # D = a^2 - |w|^2 - b^2 is computed by cancellation: judged against a^2 + |w|^2 + b^2
            scale = float(np.max(tr["a"] ** 2 + tr["w_norm"] ** 2 + tr["b"] ** 2)) if k == "D" else None
            assert_close(batch[i].trajectory[k], v, precision, steps=steps, scale=scale, err_msg=k)
        for k in ("test_error", "test_error_clean", "train_loss", "min_margin", "w_norm", "ratio"):
            assert_close(getattr(batch[i], k), getattr(alone, k), precision, steps=steps, err_msg=k)
        assert_close(batch[i].conserved_drift, alone.conserved_drift, precision, steps=steps, scale=1.0, err_msg="conserved_drift")
        assert batch[i].diverged == alone.diverged and batch[i].train_error == alone.train_error


def test_keys_depend_on_seed_and_draw_shape_only():
    a = benign.make_config(snr=0.1, seed=3)
    assert a.cell_hash() == benign.make_config(snr=0.1, seed=3, precision="float64").cell_hash()
    assert a.cell_hash() == benign.make_config(snr=0.2, init_scale=3.0, sigma_0=0.1, p=0.3, eta=0.01, seed=3, activation="leaky_relu").cell_hash()
    for other in (dict(n=51), dict(d=501), dict(m=21), dict(n_patches=3), dict(data="xor")):
        assert a.cell_hash() != benign.make_config(snr=0.1, seed=3, **other).cell_hash(), other
    r1 = benign.simulate(snr=0.1, seed=3, steps=10, n=5, d=20, m=2)
    r2 = benign.simulate(snr=0.1, seed=4, steps=10, n=5, d=20, m=2)
    assert not np.allclose(r1.trajectory["train_loss"], r2.trajectory["train_loss"])


def test_runs_with_the_same_seed_are_paired():
    """Same seed and shapes, different dynamic hyper-parameters: the same standard-normal noise, the same
    flip uniforms (nested flip sets), the same initial directions."""
    kw = dict(n=40, d=30, m=3, seed=11, steps=5)
    X1, y1, c1 = benign.sample_data(snr=0.1, sigma_p=1.0, p=0.1, **kw)
    X2, y2, c2 = benign.sample_data(snr=0.4, sigma_p=2.0, p=0.3, **kw)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_allclose(X2[:, 1:], 2.0 * X1[:, 1:], rtol=1e-6, atol=1e-6)  # the same draws, scaled by sigma_p
    flipped1, flipped2 = y1 != c1, y2 != c2
    assert np.all(flipped2[flipped1]) and flipped2.sum() > flipped1.sum()  # uniform < 0.1 implies uniform < 0.3
    kw.update(steps=1, eta=1e-9)  # one negligible step: the parameters are the initial ones
    r1 = benign.simulate(snr=0.1, init_scale=0.01, sigma_0=0.01, output_init="gaussian", return_params=True, **kw)
    r2 = benign.simulate(snr=0.3, init_scale=1.0, sigma_0=0.02, output_init="gaussian", return_params=True, **kw)
    np.testing.assert_allclose(r2.params["W"], 2.0 * r1.params["W"], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(r2.params["a"], 100.0 * r1.params["a"], rtol=1e-5, atol=1e-9)


def test_float32_agrees_with_float64():
    kw = dict(snr=0.2, init_scale=0.05, steps=400, n=20, d=200, m=5, seed=2)
    r32, r64 = benign.simulate(return_params=True, **kw), benign.simulate(precision="float64", return_params=True, **kw)
    assert r64.params["W"].dtype == np.float64 and r32.params["W"].dtype == np.float32
    np.testing.assert_allclose(r32.trajectory["train_loss"], r64.trajectory["train_loss"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(r32.params["W"], r64.params["W"], rtol=1e-3, atol=1e-5)
    assert abs(r32.test_error - r64.test_error) <= 2 / 2000


@pytest.mark.slow
def test_divergence_is_flagged_not_silent():
    r = benign.simulate(snr=1.0, init_scale=5.0, eta=1e4, steps=50, n=10, d=50, m=3)
    assert r.diverged and 0 <= r.diverged_step <= 50
    ok = benign.simulate(snr=0.2, steps=20, n=10, d=50, m=3)
    assert not ok.diverged and ok.diverged_step == -1


def test_published_model_options_run():
    """The Kou et al. code's model: bias, uniform init, mean over patches, fixed output 1, isotropic noise."""
    r = benign.simulate(mu_norm=5.0, d=200, n=20, m=10, bias=True, hidden_init="uniform", reduce="mean", train_output=False, output_value=1.0, noise="isotropic", eta=0.1, steps=100)
    assert np.all(r.trajectory["a"] == 1.0)
    assert np.any(r.trajectory["b"][-1] != r.trajectory["b"][0])  # the bias is trained
    assert r.train_error == 0.0


@pytest.mark.slow
def test_mu_vector_and_isotropic_noise():
    d = 30
    mu = np.zeros(d)
    mu[3], mu[7] = 3.0, 4.0
    r = benign.simulate(mu=mu, d=d, n=10, m=3, steps=20)
    assert r.config.mu_norm == pytest.approx(5.0)
    X, y, y_clean = benign.sample_data(mu=mu, d=d, n=500, precision="float64")
    np.testing.assert_allclose(X[:, 1] @ mu, 0.0, atol=1e-10)  # noise orthogonal to mu
    np.testing.assert_allclose(X[:, 0], y_clean[:, None] * mu, atol=1e-6)
    X, y, y_clean = benign.sample_data(mu=mu, d=d, n=2000, sigma_p=2.0, p=0.25, noise="isotropic", precision="float64")
    assert np.std(X[:, 1] @ mu / 5.0) == pytest.approx(2.0, rel=0.1)
    assert np.mean(y != y_clean) == pytest.approx(0.25, abs=0.03)


@pytest.mark.slow
def test_optax_optimizer_and_weight_decay():
    import optax

    r = benign.simulate(snr=0.3, steps=100, n=10, d=50, m=3, optimizer=optax.adam(1e-2))
    assert np.isfinite(r.train_loss) and r.train_loss < r.trajectory["train_loss"][0]
    f = benign.simulate(snr=0.3, steps=100, n=10, d=50, m=3, train_output=False, optimizer=optax.adam(1e-2))
    assert np.all(f.trajectory["a"] == f.trajectory["a"][0])
    wd = benign.simulate(snr=0.3, steps=300, n=10, d=50, m=3, weight_decay=0.1)
    no = benign.simulate(snr=0.3, steps=300, n=10, d=50, m=3)
    assert wd.w_norm < no.w_norm


def test_result_export():
    r = benign.simulate(snr=0.2, steps=20, n=5, d=20, m=2)
    d = r.to_dict()
    for k in ("snr", "mu_norm", "init_scale", "test_error", "test_error_clean", "train_loss", "train_error", "diverged"):
        assert k in d
    frame = r.trajectory_frame()
    assert list(frame["step"]) == list(r.steps) and r.steps[0] == 0 and r.steps[-1] == 20
    with pytest.raises(AttributeError):
        r.no_such_metric  # noqa: B018


def test_final_metrics_use_the_law_of_the_activation_degree():
    """A trained ReLU^3 run: the drift of q a^2/eta_a - |w|^2/eta_w (q = 3) is small; the ReLU law
    (q = 1) applied to the same trajectory drifts over 20 times more."""
    r = benign.simulate(activation="poly_relu", q=3, n=10, d=60, snr=0.3, init_scale=0.1, sigma_0=0.05, steps=500, eta=0.05)
    assert r.train_error == 0.0 and r.conserved_drift < 0.01
    a, w = np.abs(r.trajectory["a"]), r.trajectory["w_norm"]
    wrong = a**2 / 0.05 - w**2 / 0.05
    wrong_drift = np.max(np.abs(wrong[-1] - wrong[0]) / (a[-1] ** 2 / 0.05 + w[-1] ** 2 / 0.05))
    assert wrong_drift > 20 * r.conserved_drift
    assert r.ratio_limit == pytest.approx(np.sqrt(3.0)) and r.ratio_predicted == pytest.approx(r.ratio, rel=0.01)


def test_init_scale_and_snr_leave_the_noise_and_labels_unchanged():
    """Paired randomness across the main job's axes: runs that differ only in the output init scale or the
    SNR train on the same noise patches and the same (noisy) labels."""
    kw = dict(n=30, d=40, m=4, seed=5, p=0.2)
    X1, y1, c1 = benign.sample_data(snr=0.1, init_scale=1e-4, **kw)
    X2, y2, c2 = benign.sample_data(snr=0.1, init_scale=100.0, **kw)
    X3, y3, c3 = benign.sample_data(snr=0.6, init_scale=1.0, **kw)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(X1[:, 1:], X3[:, 1:])  # noise patches identical; only the signal patch scales
    np.testing.assert_allclose(X3[:, 0], 6.0 * X1[:, 0], rtol=1e-6)
    for y, c in ((y2, c2), (y3, c3)):
        np.testing.assert_array_equal(y, y1)
        np.testing.assert_array_equal(c, c1)
    assert np.any(y1 != c1)  # some labels are flipped, identically
