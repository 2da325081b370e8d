"""The settings beyond signal-plus-noise with logistic loss: XOR data, more patches, hinge and
exponential losses. End to end: the engines agree, and the science behaves as the papers say."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from tolerances import assert_close

import benign
from benign.core.config import make_config
from benign.run.batch import run_group


@pytest.mark.parametrize("kw", [
    dict(data="xor", mu_norm=2.0, xor_angle=1.2),
    pytest.param(dict(n_patches=4, snr=0.2, reduce="mean"), marks=pytest.mark.slow),
    pytest.param(dict(loss="hinge", activation="leaky_relu", snr=0.2, stop="interpolation"), marks=pytest.mark.slow),
    pytest.param(dict(loss="exponential", snr=0.2, bias=True), marks=pytest.mark.slow),
])
def test_engines_agree_end_to_end(kw):
    """Same keys, data and initialisation: the coefficient engine trains the dense engine's network."""
    cfg = make_config(n=8, d=60, m=3, steps=40, n_checkpoints=5, precision="float64", n_mc=256, n_mc_traj=256, seed=4, **kw)
    dense = run_group([dataclasses.replace(cfg, engine="dense")], return_params=True)
    fast = run_group([dataclasses.replace(cfg, engine="coef")], return_params=True)
    for k in ("W", "a_final", "b_final", "train_loss", "min_margin", "w_norm", "test_error"):
        assert_close(fast[k], dense[k], "float64", err_msg=k, steps=cfg.steps)
    for k in ("first_bad", "stopped", "first_interp"):
        assert np.array_equal(fast[k], dense[k]), k


def test_xor_data_is_learned_only_with_enough_signal():
    """XOR labels are not linearly separable, yet the CNN learns them at a large |a| and overfits
    harmfully at a small one (n = 40, d = 200, m = 20, p = 0.1, 3 paired seeds)."""
    rs = benign.simulate_batch(data="xor", mu_norm=[1.0] * 3 + [6.0] * 3, seed=[0, 1, 2] * 2, n=40, d=200, m=20, steps=2000)
    weak, strong = [r.test_error for r in rs[:3]], [r.test_error for r in rs[3:]]
    assert all(r.train_error == 0 for r in rs)
    assert max(strong) < 0.1 + 0.03 and min(weak) > 0.1 + 0.2, (weak, strong)


def test_xor_data_has_the_four_signal_patches():
    X, y, y_clean = benign.sample_data(data="xor", mu_norm=2.0, xor_angle=math.pi / 3, n=400, d=10, precision="float64")
    a = np.array([2.0] + [0.0] * 9)
    b = 2.0 * np.array([math.cos(math.pi / 3), math.sin(math.pi / 3)] + [0.0] * 8)
    sig = X[:, 0]
    plus = np.isclose(sig, a + b).all(1) | np.isclose(sig, -a - b).all(1)
    minus = np.isclose(sig, a - b).all(1) | np.isclose(sig, b - a).all(1)
    assert np.all(plus | minus) and np.all(y_clean[plus] == 1) and np.all(y_clean[minus] == -1)
    assert 0.2 < plus.mean() < 0.8
    np.testing.assert_allclose(X[:, 1] @ a, 0.0, atol=1e-10)  # orthogonal noise removes both directions
    np.testing.assert_allclose(X[:, 1] @ b, 0.0, atol=1e-10)


@pytest.mark.slow
def test_more_patches_dilute_the_signal():
    """With P - 1 noise patches per input the same SNR is harder: the test error at P = 4 is above P = 2."""
    rs = benign.simulate_batch(n_patches=[2, 4] * 3, seed=[0, 0, 1, 1, 2, 2], snr=0.15, n=40, d=200, m=10, steps=1000)
    two, four = np.mean([r.test_error for r in rs[::2]]), np.mean([r.test_error for r in rs[1::2]])
    assert four > two + 0.03, (two, four)
    X, _, _ = benign.sample_data(n_patches=4, n=5, d=30)
    assert X.shape == (5, 4, 30)


def test_hinge_loss_stops_by_itself_at_margin_one():
    """Hinge loss has zero gradient once every margin is >= 1: GD stops moving there."""
    r = benign.simulate(loss="hinge", activation="leaky_relu", snr=0.3, n=40, d=100, m=10, steps=3000, n_checkpoints=20)
    assert r.train_loss == 0.0 and r.min_margin >= 1.0
    w = r.trajectory["w_norm"]
    k = np.flatnonzero(r.trajectory["train_loss"] == 0)[0]
    np.testing.assert_allclose(w[k:], np.broadcast_to(w[-1], w[k:].shape), rtol=1e-6)


def test_new_arguments_are_validated():
    bad = [dict(steps=2**31), dict(snr=1e308), dict(snr=0.1, sigma_p=0.0), dict(output_value=0.5),
           dict(data="xor", mu=np.ones(500)), dict(data="xor", d=1), dict(n_patches=1), dict(loss="square"),
           dict(stop="early"), dict(stop_loss=0.0), dict(xor_angle=0.0), dict(xor_angle=4.0), dict(n_mc_traj=3),
           dict(stop_margin=-1.0), dict(seed=2**31)]
    for kw in bad:
        with pytest.raises(ValueError) as e:
            make_config(**kw)
        assert next(iter(kw)) in str(e.value) or "snr" in str(e.value), (kw, str(e.value))
    assert make_config(steps=2**31 - 1).steps == 2**31 - 1
    assert make_config(mu_norm=1.0, sigma_p=0.0).mu_norm == 1.0


@pytest.mark.parametrize("data, P", [("xor", 2), ("signal_noise", 3), ("xor", 4)])
def test_auto_engine_counts_every_signal_vector_and_noise_patch(data, P):
    """'auto' takes the coefficient engine exactly when d exceeds the basis size k + n (P - 1)
    (k = 2 signal vectors for XOR), where that engine is exact and cheaper."""
    from benign.core.coef import resolve_engine

    n, k = 6, 2 if data == "xor" else 1
    basis = k + n * (P - 1)
    at = make_config(data=data, n_patches=P, n=n, d=basis, mu_norm=1.0)
    above = make_config(data=data, n_patches=P, n=n, d=basis + 1, mu_norm=1.0)
    assert resolve_engine(at) == "dense" and resolve_engine(above) == "coef"
