"""The conservation law of the layer dynamics for every activation, against autodiff (float64).

For an activation positively homogeneous of degree q (ReLU, leaky ReLU: q = 1; polynomial ReLU
``max(0, z)^q``: q), every neuron satisfies ``q a dL/da = <w, dL/dw>`` (w with its bias appended),
so one GD step changes ``Q = q a^2/eta_a - |w|^2/eta_w`` by exactly
``q eta_a |dL/da|^2 - eta_w |dL/dw|^2``, and gradient flow conserves it.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tolerances import assert_close

from benign.core import model
from benign.core.config import make_config
from benign.core.model import Params
from benign.theory import laws


@pytest.fixture(autouse=True)
def _float64():
    """These checks build float64 JAX arrays directly: 64-bit mode on for each test only."""
    with jax.enable_x64(True):
        yield


CASES = [("relu", 1.0), ("leaky_relu", 1.0), ("poly_relu", 3.0), ("poly_relu", 2.5)]
ETA_W, ETA_A = 0.02, 0.05


def _problem(activation: str, q: float, bias: bool, reduce: str, seed: int):
    cfg = make_config(activation=activation, q=q if activation == "poly_relu" else 3.0, bias=bias, reduce=reduce,
                      n=8, d=6, m=3, eta_w=ETA_W, eta_a=ETA_A, precision="float64")
    rng = np.random.default_rng(seed)
    prm = Params(jnp.asarray(rng.normal(size=(2, 3, 6)) * 0.5), jnp.asarray(rng.normal(size=(2, 3))),
                 jnp.asarray(rng.normal(size=(2, 3)) * 0.3 * bias))
    X = jnp.asarray(rng.normal(size=(8, 2, 6)))
    y = jnp.asarray(rng.choice([-1.0, 1.0], size=8))
    grad = jax.jit(jax.grad(lambda p: model.loss(cfg, p, X, y)))
    return prm, grad


def _Q(p: Params, q: float, lr: float = 1.0) -> np.ndarray:
    wb = np.sqrt(np.sum(np.asarray(p.W) ** 2, axis=-1) + np.asarray(p.b) ** 2)
    return np.asarray(laws.conserved_quantity(np.asarray(p.a), wb, lr * ETA_W, lr * ETA_A, q=q))


def _step(p: Params, g: Params, lr: float = 1.0) -> Params:
    """One GD step with step sizes ``lr * (ETA_W, ETA_A)``."""
    return Params(p.W - lr * ETA_W * g.W, p.a - lr * ETA_A * g.a, p.b - lr * ETA_W * g.b)


@pytest.mark.parametrize("activation, q", CASES)
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_homogeneity_identity_and_one_step_drift(activation, q, bias, reduce):
    prm, grad = _problem(activation, q, bias, reduce, seed=3)
    g = grad(prm)
    # q a dL/da = <w, dL/dw> + b dL/db, per neuron
    lhs = q * np.asarray(prm.a * g.a)
    rhs = np.asarray(jnp.sum(prm.W * g.W, axis=-1) + prm.b * g.b)
    assert np.max(np.abs(lhs)) > 1e-6  # the identity is not 0 = 0
    assert_close(lhs, rhs, "float64", err_msg="q a ga = <w, gw>")
    # one GD step changes Q by exactly q eta_a |ga|^2 - eta_w |gw|^2
    p1 = _step(prm, g)
    drift = _Q(p1, q) - _Q(prm, q)
    gw2 = np.asarray(jnp.sum(g.W**2, axis=-1) + g.b**2)
    predicted = q * ETA_A * np.asarray(g.a) ** 2 - ETA_W * gw2
    terms = q * np.asarray(prm.a) ** 2 / ETA_A + np.asarray(jnp.sum(prm.W**2, axis=-1) + prm.b**2) / ETA_W
    assert_close(drift, predicted, "float64", scale=float(np.max(terms)), err_msg="one-step drift of Q")


@pytest.mark.parametrize("activation, q", CASES)
def test_the_law_of_each_activation_is_conserved_and_another_is_not(activation, q):
    """200 GD steps at a tenth of the step sizes (close to gradient flow): Q with the activation's q
    moves by the second-order terms only; Q with a wrong degree moves at first order, > 30x more."""
    prm, grad = _problem(activation, q, bias=False, reduce="sum", seed=5)
    wrong, lr = (2.0 if q == 1.0 else 1.0), 0.1
    p = prm
    for _ in range(200):
        p = _step(p, grad(p), lr)
    scale = float(np.max(q * np.asarray(p.a) ** 2 / ETA_A + np.sum(np.asarray(p.W) ** 2, axis=-1) / ETA_W)) / lr
    right = np.max(np.abs(_Q(p, q, lr) - _Q(prm, q, lr))) / scale
    bad = np.max(np.abs(_Q(p, wrong, lr) - _Q(prm, wrong, lr))) / scale
    assert right < 1e-3, right
    assert bad > 30 * right, (right, bad)


@settings(deadline=None)
@given(a=st.floats(1e-3, 10.0), w=st.floats(0.0, 10.0), ew=st.floats(1e-3, 1.0), ea=st.floats(1e-3, 1.0),
       q=st.sampled_from([1.0, 2.0, 3.0, 4.5]))
def test_predicted_ratio_inverts_the_law_for_every_degree(a, w, ew, ea, q):
    q0 = laws.conserved_quantity(a, w, ew, ea, q=q)
    assert q0 == pytest.approx(q * a**2 / ea - w**2 / ew)
    assert laws.predicted_ratio(a, q0, ew, ea, q=q) == pytest.approx(w / a, rel=1e-6, abs=1e-6)
    big = 1e4 * (1.0 + math.sqrt(abs(q0) * ea))
    assert laws.predicted_ratio(big, q0, ew, ea, q=q) == pytest.approx(laws.limiting_ratio(ew, ea, q=q), rel=1e-6)
    assert laws.limiting_ratio(ew, ea, q=q) == pytest.approx(math.sqrt(q * ew / ea))


@pytest.mark.parametrize("call", [
    lambda: laws.conserved_quantity(1.0, 1.0, q=0.0),
    lambda: laws.limiting_ratio(1.0, 1.0, q=-1.0),
    lambda: laws.predicted_ratio(1.0, 0.0, q=float("nan")),
])
def test_bad_degree_names_q(call):
    with pytest.raises(ValueError, match=r"(^|\W)q="):
        call()


@pytest.mark.parametrize("activation, q", [("relu", 1.0), pytest.param("poly_relu", 3.0, marks=pytest.mark.slow)])
def test_fixed_output_scale_is_an_effective_step_and_init(activation, q):
    """The fixed-output model at a = a0 with (eta, sigma_0) follows, step for step, the one at a = 1/m with
    the (eta, sigma_0) of fixed_output_equivalent: same losses, same test errors, W scaled by (m a0)^(1/q)."""
    import benign

    m, a0, eta, s0 = 3, 0.7, 0.05, 0.05
    eta_eff, s0_eff = laws.fixed_output_equivalent(a0, eta, s0, target=1.0 / m, q=q)
    c = (m * a0) ** (1.0 / q)
    assert_close(eta_eff, eta * c**2, "float64")
    assert_close(s0_eff, s0 * c, "float64")
    kw = dict(activation=activation, q=q, n=12, d=40, m=m, snr=0.3, steps=30, seed=4, train_output=False,
              precision="float64", n_checkpoints=6, n_test=256, n_mc=256, n_mc_traj=256, return_params=True)
    r0 = benign.simulate(output_value=a0, eta=eta, sigma_0=s0, **kw)
    r1 = benign.simulate(output_value=1.0 / m, eta=float(eta_eff), sigma_0=float(s0_eff), **kw)
    np.testing.assert_allclose(r1.trajectory["train_loss"], r0.trajectory["train_loss"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r1.trajectory["test_error"], r0.trajectory["test_error"], atol=1e-12)
    np.testing.assert_allclose(r1.params["W"], c * r0.params["W"], rtol=1e-9, atol=1e-12)
    assert r0.trajectory["train_loss"][-1] < r0.trajectory["train_loss"][0]  # it trained


def test_fixed_output_equivalent_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="output_value"):
        laws.fixed_output_equivalent(0.0, 0.1, 0.01)
    with pytest.raises(ValueError, match="eta_w"):
        laws.fixed_output_equivalent(1.0, -0.1, 0.01)
    with pytest.raises(ValueError, match="target"):
        laws.fixed_output_equivalent(1.0, 0.1, 0.01, target=0.0)


def test_expected_conserved_quantity_is_the_mean_over_the_initial_draw():
    """The configuration-only Q0 against the measured Q0 of a run's initial parameters (paired draw)."""
    import benign

    kw = dict(n=5, d=400, m=50, steps=1, eta=1e-12, init_scale=0.05, sigma_0=0.02, eta_w=0.3, eta_a=0.1,
              precision="float64", return_params=True, n_checkpoints=2, n_test=64, n_mc=64, n_mc_traj=64)
    r = benign.simulate(**kw)
    w0 = np.linalg.norm(np.asarray(r.params["W"]), axis=-1)  # (2, m) after a negligible step
    q0 = laws.conserved_quantity(np.abs(np.asarray(r.params["a"])), w0, 0.3, 0.1)
    expected = laws.expected_conserved_quantity(0.05, 0.02, 400, 0.3, 0.1)
    assert expected == pytest.approx(0.05**2 / 0.1 - 0.02**2 * 400 / 0.3, rel=1e-12)
    se = np.std(w0**2 / 0.3) / np.sqrt(w0.size)  # Monte Carlo error of the mean over 100 neurons
    assert abs(np.mean(q0) - expected) < 4 * se
    lim = laws.predicted_ratio(1e3, expected, 0.3, 0.1)  # large |a|: the limit sqrt(eta_w/eta_a)
    assert lim == pytest.approx(math.sqrt(3.0), rel=1e-6)
