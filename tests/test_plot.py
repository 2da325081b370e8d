"""Plot functions write PNGs whose axes carry the swept values; boundary fits recover a known C.

The datasets are synthetic (no simulation), shaped like benign.sweep output."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import xarray as xr

from benign import plot as bp

ATTRS = dict(n=20, sigma_p=1.0, p=0.1, eta_w=0.1, eta_a=0.1, sigma_0=0.01, activation="relu")


def kou_like(C: float = 8.0, seeds: int = 3) -> xr.Dataset:
    """test error 0.1 where n|mu|^4/(sigma_p^4 d) >= C, 0.5 below (plus small seed noise)."""
    d = np.arange(100, 1001, 100)
    mu = np.round(np.arange(0.0, 6.01, 0.25), 2)
    phi = ATTRS["n"] * mu[None, :] ** 4 / d[:, None]
    base = np.where(phi >= C, 0.1, 0.5)
    rng = np.random.default_rng(0)
    err = base[..., None] + 0.01 * rng.standard_normal((len(d), len(mu), seeds))
    ds = xr.Dataset({"test_error": (("d", "mu_norm", "seed"), err),
                     "diverged": (("d", "mu_norm", "seed"), np.zeros(err.shape, bool))},
                    coords={"d": d, "mu_norm": mu, "seed": np.arange(seeds)}, attrs=ATTRS)
    return ds


def dynamics_like() -> xr.Dataset:
    init = np.array([0.001, 0.01, 0.1, 1.0])
    snr = np.array([0.01, 0.02, 0.05, 0.1, 0.2])
    steps = np.array([0, 1, 3, 10, 30, 100])
    s, i, t = np.meshgrid(snr, init, steps, indexing="ij")
    w = 0.1 + 0.05 * np.log1p(t)
    a = np.sqrt(i**2 + w**2 - 0.1**2)
    shape = (len(snr), len(init), 2, len(steps))
    rep = lambda x: np.broadcast_to(x[:, :, None, :], shape)  # noqa: E731
    boundary = 0.05 * (1 + (init >= 0.1))  # larger init: boundary at a larger snr
    err = np.where(snr[:, None] >= boundary[None, :], 0.1, 0.5)
    ds = xr.Dataset({
        "test_error": (("snr", "init_scale", "seed"), np.repeat(err[..., None], 2, -1)),
        "ratio_predicted": (("snr", "init_scale", "seed"), np.repeat((w / a)[..., -1:], 2, -1)),
        "traj_w_norm": (("snr", "init_scale", "seed", "step"), rep(w)),
        "traj_a_norm": (("snr", "init_scale", "seed", "step"), rep(a)),
        "traj_ratio": (("snr", "init_scale", "seed", "step"), rep(w / a)),
        "traj_gamma_max": (("snr", "init_scale", "seed", "step"), rep(s * t)),
        "traj_rho_pos_max": (("snr", "init_scale", "seed", "step"), rep(0.3 * np.sqrt(t))),
        "traj_rho_neg_min": (("snr", "init_scale", "seed", "step"), rep(-0.1 * np.sqrt(t))),
    }, coords={"snr": snr, "init_scale": init, "seed": [0, 1], "step": steps}, attrs={**ATTRS, "d": 400})
    return ds


def test_fit_threshold_separates():
    score = np.array([0.1, 1.0, 2.0, 4.0, 8.0, 16.0])
    benign = np.array([False, False, False, True, True, True])
    assert bp.fit_threshold(score, benign) == pytest.approx(math.sqrt(8.0))
    assert math.isnan(bp.fit_threshold(score, np.ones(6, bool)))
    noisy = benign.copy()
    noisy[0] = True  # one outlier does not move the best cut
    assert bp.fit_threshold(score, noisy) == pytest.approx(math.sqrt(8.0))


def test_phase_diagram_axes_and_boundary(tmp_path):
    ds = kou_like(C=8.0)
    path = tmp_path / "kou.png"
    fig = bp.phase_diagram(ds, "d", "mu_norm", threshold=0.2, path=path)
    assert path.exists() and path.stat().st_size > 10_000
    ax = fig.axes[0]
    assert ax.get_xlabel() == "d" and ax.get_ylabel() == "|μ|"
    lo, hi = ax.get_xlim()
    assert lo <= 100 and hi >= 1000
    lo, hi = ax.get_ylim()
    assert lo <= 0 and hi >= 6
    # the fitted C lies between the phi values around the true boundary
    assert 4.0 < fig.fitted_C < 16.0
    assert len(ax.collections) >= 2  # the mesh and the boundary contour
    matplotlib.pyplot.close(fig)


def test_heatmap_categorical_and_log_axes(tmp_path):
    ds = dynamics_like()
    ax = bp.heatmap(ds, "init_scale", "snr")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlim()[0] <= 0.001 and ax.get_xlim()[1] >= 1.0
    ds2 = ds.assign_coords(init_scale=["a", "b", "c", "d"])
    ax2 = bp.heatmap(ds2, "init_scale", "snr")
    assert [t.get_text() for t in ax2.get_xticklabels()] == ["a", "b", "c", "d"]


def test_dynamics_figures(tmp_path):
    ds = dynamics_like()
    fig = bp.layer_norms(ds, path=tmp_path / "norms.png")
    assert (tmp_path / "norms.png").exists()
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == 4 and "0.001" in labels[0]
    bp.gamma_rho(ds, path=tmp_path / "gr.png")
    assert (tmp_path / "gr.png").exists()
    fig = bp.boundary_vs_init(ds, threshold=0.2, reference=0.05, path=tmp_path / "b.png")
    inits, b = fig.boundary
    assert (tmp_path / "b.png").exists()
    assert 0.02 < b[0] < 0.05 and 0.05 < b[-1] < 0.1  # crossing between the last harmful and first benign snr
    with pytest.raises(ValueError, match="trajectories=True"):
        bp.layer_norms(kou_like())
    nan = ds.assign(traj_gamma_max=ds.traj_gamma_max * np.nan)
    with pytest.raises(ValueError, match="dense engine"):
        bp.gamma_rho(nan)


def test_plot_all_and_line(tmp_path):
    paths = bp.plot_all(dynamics_like(), tmp_path / "figs")
    names = sorted(p.name for p in paths)
    assert names == ["boundary_vs_init.png", "gamma_rho.png", "layer_norms.png", "phase_init_scale_snr.png"]
    assert all(p.exists() for p in paths)
    one = kou_like().isel(d=[0])
    fig = bp.line(one.squeeze("d", drop=True), "mu_norm", path=tmp_path / "line.png")
    assert (tmp_path / "line.png").exists() and fig.axes[0].get_xlabel() == "|μ|"


def test_crossing_interpolates():
    x = np.array([0.1, 0.2, 0.4, 0.8])
    err = np.array([0.5, 0.4, 0.1, 0.1])
    # between 0.2 (0.4) and 0.4 (0.1): level 0.25 is half way in log x
    assert bp.crossing(x, err, 0.25) == pytest.approx(math.sqrt(0.2 * 0.4))
    assert math.isnan(bp.crossing(x, np.full(4, 0.5), 0.2))
