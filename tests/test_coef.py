"""The coefficient engine (benign.core.coef) is the dense engine, to float64 rounding (docs/science.md, "The coefficient engine")."""

from __future__ import annotations

import dataclasses
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import benign
from benign.core import coef, testerror
from benign.core import data as data_mod
from benign.core import dense as dn
from benign.core import dynamics as dyn
from benign.core.config import make_config
from benign.core.data import Dataset
from benign.core.model import Params
from benign.protocols import kou2023
from benign.run.final import run_final

sim = importlib.import_module("benign.run.batch")

RTOL = 1e-8


def _close(x, y, rtol=RTOL, what="", atol=1e-14):
    """Error <= rtol times the largest finite entry (so tiny entries do not blow it up) + atol (for
    quantities that are exactly zero in exact arithmetic, e.g. a noise covariance with no room left).

    Non-finite entries must match exactly (an overflowed exponential loss is ``inf`` in both engines)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    fin = np.isfinite(x) & np.isfinite(y)
    assert np.all(fin | (x == y) | (np.isnan(x) & np.isnan(y))), f"{what}: non-finite entries differ: {x} vs {y}"
    x, y = x[fin], y[fin]
    if x.size == 0:
        return
    scale = max(np.max(np.abs(x)), np.max(np.abs(y)), 1e-300)
    assert np.max(np.abs(x - y)) <= rtol * scale + atol, f"{what}: {np.max(np.abs(x - y)) / scale:.3g} > {rtol} (scale {scale:.3g})"


@pytest.mark.slow  # every example runs new shapes eagerly; the fast tier keeps the end-to-end engine comparisons
@settings(deadline=None)
@given(
    activation=st.sampled_from(["relu", "leaky_relu", "poly_relu"]),
    loss=st.sampled_from(["logistic", "hinge", "exponential"]),
    reduce=st.sampled_from(["sum", "mean"]),
    bias=st.booleans(),
    train_output=st.booleans(),
    orthogonal=st.booleans(),
    data=st.sampled_from(["signal_noise", "xor"]),
    shape=st.sampled_from([(3, 2, 1, 2), (5, 9, 3, 2), (4, 13, 2, 3)]),  # (n, d, m, P), incl. d < k + n (P-1)
    steps=st.integers(1, 10),
    stop=st.sampled_from(["none", "interpolation", "loss"]),
    mu_norm=st.sampled_from([0.0, 0.5, 2.0]),
    weight_decay=st.sampled_from([0.0, 0.3]),
    eta_w=st.floats(0.01, 0.5),
    eta_a=st.floats(0.01, 0.5),
    seed=st.integers(0, 2**20),
)
@example(activation="relu", loss="exponential", reduce="sum", bias=False, train_output=True, orthogonal=False, data="signal_noise",
         shape=(5, 9, 3, 2), steps=1, stop="none", mu_norm=0.0, weight_decay=0.0, eta_w=0.5, eta_a=0.5,
         seed=82)  # the exponential loss overflows to inf in both engines
@example(activation="relu", loss="logistic", reduce="sum", bias=False, train_output=False, orthogonal=True, data="xor",
         shape=(3, 2, 1, 2), steps=1, stop="none", mu_norm=0.5, weight_decay=0.0, eta_w=0.5, eta_a=0.5,
         seed=0)  # d = 2 leaves orthogonal noise no room: the covariance is zero up to rounding
def test_coef_steps_equal_dense_steps(activation, loss, reduce, bias, train_output, orthogonal, data, shape, steps, stop, mu_norm,
                                      weight_decay, eta_w, eta_a, seed):
    """Every option: activations, losses, bias, fixed/trainable output, noise, XOR data, more patches,
    the stopping rule, weight decay, two step sizes, d smaller than the basis.

    Runs eagerly (no compile per example) on random data and parameters (float64); the glue (data,
    keys, dispatch) is tested end to end below.
    """
    n, d, m, P = shape
    cfg = make_config(activation=activation, loss=loss, reduce=reduce, bias=bias, train_output=train_output, n=n, d=d, m=m, n_patches=P,
                      q=3.0, data=data, stop=stop, noise="orthogonal" if orthogonal else "isotropic", precision="float64", n_mc=64,
                      **({} if train_output else {"output_value": 0.7}))
    rng = np.random.default_rng(seed)
    with jax.enable_x64(True):
        hyper = dyn.Hyper(*(jnp.asarray(v, jnp.float64) for v in
                            (mu_norm, 0.1, 1.0, 0.2, 0.01, eta_w, eta_a, weight_decay, 0.5, 0.3, 1.1)))
        U = data_mod.signal_vectors(cfg, hyper.mu_norm, hyper.xor_angle, jnp.asarray(rng.normal(size=d) / np.sqrt(d)) if data == "signal_noise" else None,
                                    jnp.float64)
        U = U / jnp.maximum(jnp.linalg.norm(U, axis=1, keepdims=True), 1e-300) * mu_norm
        xi = rng.normal(size=(n, P - 1, d))
        if orthogonal:
            Q = np.asarray(data_mod.orthonormal_rows(U))
            xi -= (xi @ Q.T) @ Q
        y_clean = rng.choice([-1.0, 1.0], size=n)
        y = np.where(rng.random(n) < 0.2, -y_clean, y_clean)
        S = np.stack([y_clean, y_clean * rng.choice([-1.0, 1.0], size=n)], axis=1) if data == "xor" else y_clean[:, None]
        X = np.concatenate([(S @ np.asarray(U))[:, None, :], xi], axis=1)
        ds = Dataset(*(jnp.asarray(v) for v in (X, y, y_clean, S)))
        W0 = rng.normal(size=(2, m, d)) * rng.choice([0.05, 0.5])
        a0 = rng.normal(size=(2, m)) if train_output else np.full((2, m), 0.7)
        b0 = rng.normal(size=(2, m)) * 0.3 * bias
        prm = Params(*(jnp.asarray(v) for v in (W0, a0, b0)))
        dst = dn.DenseState(U, ds, None, hyper, prm, (), dyn.start())
        basis, V = coef.gram_basis(cfg, prm.W, U, ds)
        cst = coef.initial_state(basis, None, hyper, prm.a, prm.b)
        for _ in range(steps):
            dst = dn.step(cfg, dst)
            cst = coef.step(cfg, cst)
        W = float(cst.c) * W0 + np.einsum("jrk,kd->jrd", np.asarray(cst.C), np.asarray(V))
        # a run that left the floating-point range (exponential loss or cubic activation with large steps)
        # has no numbers to compare: where each engine overflows is rounding; divergence flags are tested
        # in test_driver.py
        assume(np.all(np.isfinite(W)) and bool(np.all(np.isfinite(np.asarray(dst.params.W))))
               and bool(np.all(np.isfinite(np.asarray(dst.params.a)))))
        _close(W, dst.params.W, what="W")
        _close(cst.a, dst.params.a, what="a")
        _close(cst.b, dst.params.b, what="b")
        assert all(int(x) == int(y) for x, y in zip(dst.prog, cst.prog)), (dst.prog, cst.prog)
        dst, md = dn.record(cfg, dst)
        cst, mc = coef.record(cfg, cst)
        assert all(int(x) == int(y) for x, y in zip(dst.prog, cst.prog))
        for k in ("train_loss", "min_margin", "w_norm", "D", "gauss_sig", "gauss_cov"):
            _close(mc[k], md[k], what=k)
        moderate = np.max(np.abs(W)) < 100  # blown-up runs (cubic activation, large steps): cov is too ill-conditioned for MC parity
        if moderate:
            e_c = testerror.clean_error(cfg, mc["gauss_sig"], mc["gauss_cov"], mc["a"], mc["b"], 64)[0]
            e_d = testerror.clean_error(cfg, md["gauss_sig"], md["gauss_cov"], md["a"], md["b"], 64)[0]
            _close(e_c, e_d, what="test_error")
    # the proofs' coordinates are the least-squares coefficients of w - c w(0) on (u, xi)
    Vn = np.asarray(V)
    if mu_norm > 0 and data == "signal_noise" and np.linalg.matrix_rank(Vn) == Vn.shape[0]:
        C = np.linalg.solve(Vn @ Vn.T, Vn @ (np.asarray(dst.params.W) - float(cst.c) * W0).reshape(2 * m, d).T).T.reshape(2, m, -1)
        gamma = np.array([1.0, -1.0])[:, None] * C[..., 0] * mu_norm**2
        rho = C[..., 1:] * np.sum(Vn[1:] ** 2, axis=1)
        want = dict(gamma_max=gamma.max(), gamma_mean=gamma.mean(), rho_pos_max=np.maximum(rho, 0).max(), rho_neg_min=np.minimum(rho, 0).min())
        for k, v in want.items():
            assert abs(float(mc[k]) - v) <= 1e-6 * (1 + np.abs(C).max() * (mu_norm**2 + np.sum(Vn[1:] ** 2, axis=1).max())), k


def _both(cfg, **kw):
    dense = sim.run_group([dataclasses.replace(cfg, engine="dense")], **kw)
    fast = sim.run_group([dataclasses.replace(cfg, engine="coef")], **kw)
    return dense, fast


def test_engines_agree_end_to_end():
    """simulate's glue (keys, data, init, checkpoints, final W, finite test set) is the same in both engines."""
    mu = np.linspace(-1.0, 2.0, 50)
    cfg = make_config(mu=mu, d=50, n=8, m=3, bias=True, hidden_init="uniform", reduce="mean", activation="leaky_relu", noise="isotropic",
                      output_init="gaussian", init_scale=0.5, weight_decay=0.05, eta_w=0.3, eta_a=0.1, steps=40, n_checkpoints=6,
                      precision="float64", test_error_method="test_set", n_test=300, seed=5)
    dense = sim.run_group([dataclasses.replace(cfg, engine="dense")], return_params=True)
    fast = sim.run_group([dataclasses.replace(cfg, engine="coef")], return_params=True)
    assert set(dense) == set(fast)
    for k in ("W", "a_final", "b_final", "train_loss", "min_margin", "w_norm", "a", "b", "D", "test_error", "test_error_se"):
        _close(fast[k], dense[k], what=k)
    assert np.array_equal(fast["test_error_clean"], dense["test_error_clean"])
    for k in ("first_bad", "stopped", "first_interp"):
        assert np.array_equal(fast[k], dense[k]), k
    assert np.all(np.isnan(dense["gamma_max"])) and np.all(np.isfinite(fast["gamma_max"]))
    assert fast["gamma_max"][0, -1] > 0 and fast["rho_pos_max"][0, -1] > 0 and fast["rho_neg_min"][0, -1] < 0


def test_auto_engine_choice_and_optimizer_rules():
    import optax

    big, small = make_config(n=20, d=500), make_config(n=50, d=30)
    assert coef.resolve_engine(big) == "coef" and coef.resolve_engine(small) == "dense"
    assert coef.resolve_engine(big, optax.sgd(0.1)) == "dense"  # auto falls back: optax updates are not exact in coef
    assert coef.resolve_engine(dataclasses.replace(big, engine="dense")) == "dense"
    with pytest.raises(ValueError, match="optax"):
        benign.simulate(engine="coef", n=5, d=20, m=2, steps=3, optimizer=optax.adam(1e-2))
    with pytest.raises(ValueError, match="test_error_method"):
        make_config(test_error_method="exact")
    with pytest.raises(ValueError, match="n_mc"):
        make_config(n_mc=1001)


def test_run_final_equals_run_group():
    """run_final's one-compile data step (any d, one block loop) reproduces simulate's runs.

    The data and W(0) are drawn in float32 and cast (the same draws at either precision), so two
    different compiled programs agree to float32 rounding of the draws, not to float64 rounding."""
    kw = dict(n=6, m=2, steps=25, hidden_init="gaussian", sigma_0=0.1, noise="orthogonal", precision="float64", n_mc=256, n_checkpoints=2)
    cfgs = [make_config(d=d, mu_norm=mu, seed=s, **kw) for d in (45, 7) for mu in (0.0, 1.5) for s in (0, 1)]
    res = run_final(cfgs, chunk_size=3, block=16)  # chunks mix d values; 45 = 2 full blocks + a partial one
    ref = sim.run_group(cfgs[:4])
    for k in ("train_loss", "w_norm", "a", "test_error", "gamma_max", "rho_pos_mean"):
        _close(res[k][:4], ref[k][:, -1], rtol=1e-7, what=k)
    assert np.all(np.isfinite(res["test_error"])) and res["test_error"].shape == (8,)


def test_heatmap_kou2023_shape_and_cells():
    res = kou2023.heatmap(mu_norms=[0.5, 6.0], ds=[30, 57], seeds=[0, 1], steps=20, n=6, m=3, n_mc=512)
    assert res["test_error"].shape == (2, 2, 2) and list(res["d"]) == [30, 57] and list(res["mu_norm"]) == [0.5, 6.0]
    assert np.all((res["test_error"] >= 0.1 - 1e-6) & (res["test_error"] <= 0.9 + 1e-6)) and np.all(res["test_error_se"] >= 0)
    cfgs = [make_config(n=6, d=57, m=3, steps=20, eta=0.1, p=0.1, n_mc=512, mu_norm=mu, seed=s, bias=True, hidden_init="uniform", reduce="mean",
                        noise="isotropic", train_output=False, output_value=1.0, n_checkpoints=2) for mu in (0.5, 6.0) for s in (0, 1)]
    ref = sim.run_group(cfgs)
    np.testing.assert_allclose(res["train_loss"][1].ravel(), ref["train_loss"][:, -1], rtol=1e-4)
    np.testing.assert_allclose(res["test_error"][1].ravel(), ref["test_error"][:, -1], atol=3 / 512)
