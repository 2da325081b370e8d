"""Training on the user's own arrays: ``simulate(data=(X, y), test_data=(X_test, y_test))``."""

from __future__ import annotations

import numpy as np
import pytest
import reference
from tolerances import assert_close

import benign
from benign.core.coef import resolve_engine

KW = dict(n=10, d=40, m=3, steps=60, n_checkpoints=6, seed=3, precision="float64")


@pytest.mark.parametrize("extra", [dict(), pytest.param(dict(activation="leaky_relu", loss="hinge", n_patches=3, bias=True), marks=pytest.mark.slow)])
def test_sampled_data_as_custom_data_reproduces_the_run(extra):
    """The arrays of sample_data, fed back as custom data, train the simulated run's network: same W(0)
    (paired randomness), same data, so the whole trajectory agrees to rounding on the dense engine."""
    kw = {**KW, "snr": 0.3, **extra}
    X, y, _ = benign.sample_data(**kw)
    Xt, yt, _ = benign.sample_data(**{**kw, "n": 25, "seed": 11, "p": 0.0})
    ref = benign.simulate(**kw, engine="dense", return_params=True)
    own_kw = {k: v for k, v in kw.items() if k not in ("snr", "n", "n_patches")}
    own = benign.simulate(data=(X, y), test_data=(Xt, yt), **own_kw, return_params=True)
    assert own.config.data == "custom" and own.config.p == 0.0 and own.config.n_test == 25
    assert own.config.n_patches == X.shape[1]
    for k in ("train_loss", "train_error", "min_margin", "w_norm", "a"):
        assert_close(own.trajectory[k], ref.trajectory[k], "float64", err_msg=k, steps=KW["steps"])
    assert_close(own.params["W"], ref.params["W"], "float64", steps=KW["steps"])
    assert own.steps_to_interpolation == ref.steps_to_interpolation


def test_test_error_is_the_error_on_the_given_test_set():
    """The reported test error is the 0-1 error of the trained network on (X_test, y_test), computed here
    with the slow reference forward pass; and with the test set equal to the training set it is the
    training error at every checkpoint."""
    rng = np.random.default_rng(0)
    n, P, d = 16, 2, 30
    X = rng.normal(size=(n, P, d))
    y = rng.choice([-1, 1], size=n)
    Xt = rng.normal(size=(40, P, d))
    yt = rng.choice([-1.0, 1.0], size=40)
    r = benign.simulate(data=(X, y), test_data=(Xt, yt), m=4, steps=200, n_checkpoints=8, precision="float64", return_params=True, seed=1)
    f = reference.forward(r.params["W"], r.params["a"], r.params["b"], Xt)
    assert r.test_error == pytest.approx(np.mean(yt * f <= 0), abs=1e-12)
    same = benign.simulate(data=(X, y), test_data=(X, y), m=4, steps=200, n_checkpoints=8, precision="float64", seed=1)
    np.testing.assert_allclose(same.trajectory["test_error"], same.trajectory["train_error"], atol=1e-12)
    assert np.all(np.isfinite(same.trajectory["test_error"])) and same.trajectory["test_error"].shape == same.steps.shape


def _ok():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 2, 8)), np.array([1, -1] * 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(data=(np.zeros((6, 8)), np.ones(6))), "data X"),
    (dict(data=(np.full((6, 2, 8), np.nan), np.ones(6))), "data X"),
    (dict(data=(_ok()[0], np.array([0, 1] * 3))), "data y"),
    (dict(data=(_ok()[0], np.ones(5))), "data y"),
    (dict(data=_ok()[0]), "data="),
    (dict(data=_ok()), "test_data=None"),
    (dict(data=_ok(), test_data=(np.zeros((3, 2, 7)), np.ones(3))), "test_data X"),
    (dict(data=_ok(), test_data=(np.zeros((3, 2, 8)), np.array([1, 2, 1]))), "test_data y"),
    (dict(data=_ok(), test_data=_ok(), engine="coef"), "engine"),
    (dict(data="custom"), "data='custom'"),
    (dict(test_data=_ok()), "test_data"),
])
def test_bad_custom_data_is_rejected_before_compute(kwargs, match):
    with pytest.raises(ValueError, match=match):
        benign.simulate(m=2, steps=5, **kwargs)


def test_custom_config_without_arrays_is_rejected():
    with pytest.raises(ValueError, match="test_error_method"):
        benign.make_config(data="custom")
    with pytest.raises(ValueError, match="engine"):
        benign.make_config(data="custom", test_error_method="test_set", engine="coef")
    cfg = benign.make_config(data="custom", test_error_method="test_set")
    assert resolve_engine(cfg) == "dense"  # 'auto' never routes your own arrays to the coefficient engine
    with pytest.raises(ValueError, match="data='custom'"):
        benign.simulate_batch([cfg])
