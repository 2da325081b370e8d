"""The Gram sampler (benign.core.gram) draws the explicit sampler's Gram quantities exactly in law."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tolerances import assert_close

import benign
from benign.core import coef, gram, keys
from benign.core import dynamics as dyn
from benign.core.config import make_config
from benign.run import batch


def _hyper(cfg, dtype: Any = np.float64):
    return dyn.Hyper(*(jnp.asarray(getattr(cfg, f), dtype) for f in dyn.HYPER_FIELDS))


def _bases(cfg, seeds, mu_dir=None):
    """``coef.init`` of ``cfg`` for each seed (vmapped), as numpy: the basis of each run."""
    with jax.enable_x64(True):
        hy = _hyper(cfg)
        h = jnp.uint32(cfg.cell_hash())
        f = jax.jit(jax.vmap(lambda s: coef.init(cfg, keys.run_key(s, h), hy, mu_dir).basis))
        return jax.tree_util.tree_map(np.asarray, f(jnp.asarray(seeds, jnp.uint32)))


def ks_pvalue(x, y) -> float:
    """Two-sample Kolmogorov-Smirnov p-value: scipy's if installed, else the asymptotic Kolmogorov law."""
    try:
        from scipy import stats
    except ImportError:
        x, y = np.sort(np.ravel(x)), np.sort(np.ravel(y))
        grid = np.concatenate([x, y])
        D = np.max(np.abs(np.searchsorted(x, grid, "right") / x.size - np.searchsorted(y, grid, "right") / y.size))
        lam = (np.sqrt(x.size * y.size / (x.size + y.size)) + 0.12 + 0.11 / np.sqrt(x.size * y.size / (x.size + y.size))) * D
        k = np.arange(1, 101)
        return float(np.clip(2 * np.sum((-1.0) ** (k - 1) * np.exp(-2 * k**2 * lam**2)), 0.0, 1.0))
    return float(stats.ks_2samp(x, y).pvalue)  # pyright: ignore[reportAttributeAccessIssue]


def test_ks_fallback_agrees_with_scipy():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=300), rng.normal(0.2, 1.0, size=400)
    import builtins

    real = builtins.__import__

    def no_scipy(name, *a, **k):
        if name.startswith("scipy"):
            raise ImportError(name)
        return real(name, *a, **k)

    builtins.__import__ = no_scipy
    try:
        approx = ks_pvalue(x, y)
    finally:
        builtins.__import__ = real
    assert abs(approx - ks_pvalue(x, y)) < 0.02


def _zscore(x, mean):
    x = np.asarray(x, float).ravel()
    return (x.mean() - mean) / (x.std(ddof=1) / np.sqrt(x.size))


def test_bartlett_moments():
    """``L L^T ~ Wishart(dof, I)``: mean ``dof I``, Var diag ``2 dof``, Var off-diag ``dof``."""
    dof, size, R = 9, 4, 6000
    with jax.enable_x64(True):
        ks = jax.random.split(jax.random.PRNGKey(3), R)
        L = np.asarray(jax.vmap(lambda k: gram.bartlett(k, size, dof, jnp.float64))(ks))
    Wm = L @ np.swapaxes(L, 1, 2)
    assert np.allclose(np.triu(L, 1), 0)
    diag, off = Wm[:, np.arange(size), np.arange(size)], Wm[:, 0, 1:]
    assert abs(_zscore(diag, dof)) < 4 and abs(_zscore(off, 0.0)) < 4
    assert abs(diag.var() / (2 * dof) - 1) < 0.1 and abs(off.var() / dof - 1) < 0.1
    # a 3-vector Wishart is a sum of outer products: E[W_00 W_11] = dof^2 (independent coordinates)
    assert abs(np.mean(Wm[:, 0, 0] * Wm[:, 1, 1]) / dof**2 - 1) < 0.05


@pytest.mark.parametrize("hidden_init,noise", [("gaussian", "orthogonal"), ("uniform", "isotropic"),
                                               pytest.param("gaussian", "isotropic", marks=pytest.mark.slow),
                                               pytest.param("uniform", "orthogonal", marks=pytest.mark.slow)])
def test_moments_match_the_explicit_law(hidden_init, noise):
    """First and second moments of G, P0, M0 equal the explicit sampler's closed forms (2000 runs, d = 12)."""
    d, sp, s0, mu = 12, 1.3, 0.7, 2.0
    cfg = make_config(n=2, d=d, m=1, mu_norm=mu, sigma_p=sp, sigma_0=s0, hidden_init=hidden_init, noise=noise,
                      sampler="gram", engine="coef")
    b = _bases(cfg, np.arange(2000))
    dxi = d - 1 if noise == "orthogonal" else d
    assert np.allclose(b.G[:, 0, 0], mu**2)
    assert abs(_zscore(b.G[:, 1, 1], sp**2 * dxi)) < 4 and abs(_zscore(b.G[:, 1, 2], 0.0)) < 4
    assert abs(np.var(b.G[:, 1, 1]) / (2 * sp**4 * dxi) - 1) < 0.15  # |xi|^2 / sp^2 ~ chi2_dxi
    if noise == "orthogonal":
        assert np.allclose(b.G[:, 0, 1:], 0)
    else:
        assert abs(np.var(b.G[:, 0, 1]) / (mu * sp) ** 2 - 1) < 0.15
    w2 = s0**2 if hidden_init == "gaussian" else 1.0 / (3 * d)  # per-coordinate variance of W(0)
    assert abs(_zscore(b.M0[:, 0, 0], w2 * d)) < 4 and abs(_zscore(b.M0[:, 0, 1], 0.0)) < 4
    assert abs(_zscore(b.P0[:, 0, 0, 1], 0.0)) < 4
    assert abs(np.mean(b.P0[:, 0, 0, 1] ** 2) / (w2 * sp**2 * dxi) - 1) < 0.15
    assert abs(np.mean(b.P0[:, 0, 0, 0] ** 2) / (w2 * mu**2) - 1) < 0.15
    assert np.allclose(b.N0.reshape(-1, 2), b.M0[:, [0, 1], [0, 1]])


@pytest.mark.slow
def test_uniform_init_keeps_the_explicit_filters():
    """For a non-Gaussian init W(0) is the explicit sampler's: M0 and the signal responses agree, as do the labels."""
    kw: dict[str, Any] = dict(n=3, d=40, m=2, mu_norm=1.5, hidden_init="uniform", noise="isotropic", engine="coef")
    g = _bases(make_config(**kw, sampler="gram"), np.arange(3))
    e = _bases(make_config(**kw, sampler="explicit"), np.arange(3))
    assert_close(g.M0, e.M0, "float64")
    assert_close(g.P0[..., 0], e.P0[..., 0], "float64")
    assert np.array_equal(g.y, e.y) and np.array_equal(g.S, e.S)


def test_paired_randomness():
    """Dynamic hyper-parameters only rescale the same standard draws."""
    base: dict[str, Any] = dict(n=4, d=50, m=2, noise="isotropic", sampler="gram", engine="coef", precision="float64")
    a = _bases(make_config(**base, mu_norm=1.0, sigma_p=1.0, sigma_0=0.1, p=0.0), [5])
    b = _bases(make_config(**base, mu_norm=3.0, sigma_p=2.0, sigma_0=0.5, p=0.2), [5])
    assert_close(b.G[:, 1:, 1:], 4.0 * a.G[:, 1:, 1:], "float64")
    assert_close(b.G[:, 0, 1:], 6.0 * a.G[:, 0, 1:], "float64")
    assert_close(b.P0[..., 1:], 10.0 * a.P0[..., 1:], "float64")
    assert_close(b.P0[..., 0], 15.0 * a.P0[..., 0], "float64")
    assert_close(b.M0, 25.0 * a.M0, "float64")
    assert np.array_equal(a.y_clean, b.y_clean)


def test_errors_before_compute():
    with pytest.raises(ValueError, match=r"d=25 is invalid with sampler='gram'.*d > k \+ n\(n_patches-1\) \+ 2m = 25"):
        make_config(n=10, d=25, m=7, sampler="gram")  # k + n + 2m = 1 + 10 + 14
    make_config(n=10, d=26, m=7, sampler="gram")
    make_config(n=10, d=26, m=7, sampler="auto")
    assert gram.resolve_sampler(make_config(n=10, d=26, m=7, sampler="auto")) == "explicit"
    assert gram.resolve_sampler(make_config(n=10, d=10**6, m=7, sampler="auto")) == "gram"
    with pytest.raises(ValueError, match="test_error_method"):
        make_config(d=10**4, sampler="gram", test_error_method="test_set")
    with pytest.raises(ValueError, match="engine='dense'"):
        make_config(d=10**4, sampler="gram", engine="dense")
    with pytest.raises(ValueError, match="sampler"):
        make_config(sampler="wishart")
    with pytest.raises(ValueError, match="return_params"):
        benign.simulate(n=4, d=10**9, m=2, steps=2, sampler="gram", return_params=True)
    with pytest.raises(ValueError, match="sample_data"):
        benign.sample_data(n=4, d=100, m=2, sampler="gram")


@pytest.mark.slow
def test_huge_d_is_d_free_and_precise():
    """d = 10^9 with theorem-scaled hyper-parameters: no d-sized buffer, float32 equals float64."""
    d = 10**9
    kw: dict[str, Any] = dict(n=6, d=d, m=3, snr=1.0, sigma_0=0.5 / np.sqrt(d), eta=0.5 / d, steps=50, n_checkpoints=2, sampler="gram", n_mc=512)
    cfg = make_config(**kw)
    assert batch.estimate_bytes(cfg, "coef") < 10**5
    with jax.enable_x64(True):
        hy = _hyper(cfg, np.float32)
        comp = jax.jit(lambda s: coef.init(cfg, keys.run_key(s, jnp.uint32(1)), hy).basis).lower(jnp.uint32(0)).compile()
        mem = comp.memory_analysis()
        if mem is not None:
            assert mem.temp_size_in_bytes + mem.output_size_in_bytes < 10**6
    r32, r64 = benign.simulate(**kw), benign.simulate(**kw, precision="float64")
    for name in ("train_loss", "test_error", "min_margin"):
        assert_close(getattr(r32, name), getattr(r64, name), "float32", steps=50)
    assert 0 < r64.train_loss < np.log(2) + 1e-6


@pytest.mark.slow
def test_gram_and_explicit_agree_in_law():
    """Two-sample KS on Gram entries and final metrics: d = 400, n = 20, m = 5, 1000 runs per sampler."""
    R = 1000
    kw: dict[str, Any] = dict(n=20, d=400, m=5, snr=0.15, sigma_0=0.05, eta=0.2, steps=150, n_checkpoints=2, n_mc=1024, engine="coef")
    cfgs = {s: make_config(**kw, sampler=s) for s in ("explicit", "gram")}
    bases = {s: _bases(c, np.arange(R)) for s, c in cfgs.items()}
    pick = dict(G_diag=lambda b: b.G[:, 3, 3], G_off=lambda b: b.G[:, 2, 7], P0=lambda b: b.P0[:, 1, 2, 5],
                P0_sig=lambda b: b.P0[:, 0, 1, 0], M0=lambda b: b.M0[:, 4, 4], M0_off=lambda b: b.M0[:, 1, 8])
    res = {s: benign.simulate_batch([benign.core.config.replace(c, seed=i) for i in range(R)]) for s, c in cfgs.items()}
    metric = dict(test_error=lambda rs: [r.test_error for r in rs], gamma=lambda rs: [r.trajectory["gamma_max"][-1] for r in rs],
                  rho=lambda rs: [r.trajectory["rho_pos_max"][-1] for r in rs])
    samples = {k: (f(bases["explicit"]), f(bases["gram"])) for k, f in pick.items()}
    samples |= {k: (np.asarray(f(res["explicit"])), np.asarray(f(res["gram"]))) for k, f in metric.items()}
    for k, (x, y) in samples.items():
        p = ks_pvalue(x, y)
        se = np.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        assert p > 1e-3, f"{k}: KS p = {p:.3g}"
        assert abs(x.mean() - y.mean()) <= 3 * se + 1e-12, f"{k}: means {x.mean():.4g} vs {y.mean():.4g} (se {se:.3g})"


@pytest.mark.slow
def test_theorem_scaled():
    """sigma_0 = s0 / (sigma_p sqrt d), eta = e0 / (sigma_p^2 d); runs at d = 10^9 interpolate and stop there."""
    t = benign.theorem_scaled(10**8, s0=0.2, e0=0.4, sigma_p=2.0)
    assert t["sigma_0"] == pytest.approx(0.2 / (2.0 * 1e4)) and t["eta"] == pytest.approx(0.4 / (4.0 * 1e8))
    with pytest.raises(ValueError, match="s0=0"):
        benign.theorem_scaled(100, s0=0)
    with pytest.raises(ValueError, match="d=0"):
        benign.theorem_scaled(0)
    kw: dict[str, Any] = {k: v for k, v in benign.theorem_scaled(10**9).items() if k not in ("s0", "e0")}
    rs = benign.simulate_batch([make_config(**kw, n=10, m=10, snr=0.05, steps=2000, stop="interpolation", n_checkpoints=3,
                                            sampler="gram", n_mc=256, seed=s) for s in range(4)])
    interp = [r.steps_to_interpolation for r in rs]
    assert sum(s >= 0 for s in interp) >= 3, interp
    for r in rs:
        if r.steps_to_interpolation >= 0:
            assert r.train_error == 0.0 and r.stopped_step >= r.steps_to_interpolation


def _same_moments(a, b, what):
    """Every entry's mean agrees within 4.5 standard errors and its standard deviation within 12%."""
    a, b = (np.asarray(x, float).reshape(x.shape[0], -1) for x in (a, b))
    se = np.sqrt(a.var(0, ddof=1) / a.shape[0] + b.var(0, ddof=1) / b.shape[0])
    live = se > 1e-9
    assert np.all(np.abs(a.mean(0) - b.mean(0))[live] <= 4.5 * se[live]), what
    assert np.allclose(a.std(0)[live], b.std(0)[live], rtol=0.12), what
    assert np.allclose(a[:, ~live], b[:, ~live], atol=1e-6), what


def test_xor_matches_the_explicit_sampler_entry_by_entry():
    """XOR data (two signal directions at an angle), orthogonal noise: every entry of G, P0, M0 has the
    explicit sampler's mean and spread (3000 runs each, d = 10)."""
    kw: dict[str, Any] = dict(n=2, d=10, m=1, data="xor", xor_angle=1.0, mu_norm=1.5, sigma_p=1.2, sigma_0=0.8, engine="coef")
    g = _bases(make_config(**kw, sampler="gram"), np.arange(3000))
    e = _bases(make_config(**kw, sampler="explicit"), np.arange(3000))
    for name in ("G", "P0", "M0", "Qs"):
        _same_moments(getattr(g, name), getattr(e, name), name)
