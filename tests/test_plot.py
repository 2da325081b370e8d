"""The figures draw the theory (thresholds, band, bounds) and the measured boundary they are given, at
the right values; every mark has a legend entry; labels render; nothing is fitted inside benign.plot.

Most datasets are synthetic (no simulation), shaped like benign.sweep output; the one-run layer-norm
figure uses a tiny benign.simulate run."""

from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from benign import analysis as an
from benign import plot as bp
from benign import theory as th

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


def by_gid(ax, gid: str) -> list:
    return [a for a in (*ax.collections, *ax.lines, *ax.patches) if a.get_gid() == gid]


def texts(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    for leg in fig.legends:
        out += [t.get_text() for t in leg.get_texts()]
    return [t for t in out if t]


def assert_labels_render(fig) -> None:
    """TeX only inside $...$ (mathtext), and the figure draws (mathtext parses)."""
    for t in texts(fig):
        assert t.count("$") % 2 == 0, t
        outside = re.sub(r"\$[^$]*\$", "", t)
        assert "_{" not in outside and "\\" not in outside and "^{" not in outside, t
    fig.canvas.draw()


def legend_texts(fig) -> str:
    return " | ".join(t for t in texts(fig))


# ----------------------------------------------------------------------------- phase diagrams
def test_phase_diagram_draws_theory_and_measured_boundary(tmp_path):
    ds = kou_like(C=8.0, seeds=4)
    fits = an.figure_fits(ds)
    b = fits.boundary
    assert b.axis == "phi" and b.ci_low <= 8.0 <= b.ci_high
    path = tmp_path / "kou.png"
    fig = bp.phase_diagram(ds, "d", "mu_norm", boundary=b, path=path)  # default (uncalibrated) constants
    assert path.exists() and path.stat().st_size > 10_000
    assert not hasattr(fig, "fitted_C")
    harm, ben = th.thresholds("kou2023")
    for ax in fig.axes[:2]:  # both heat maps (the colour bars come after them)
        assert ax.get_xlabel() == bp.LABELS["d"] and ax.get_ylabel() == bp.LABELS["mu_norm"]
        assert ax.get_ylim()[0] == 0.0  # |mu| starts at 0: no negative cell edge
        (benign,) = by_gid(ax, "theory_benign")
        (harmful,) = by_gid(ax, "theory_harmful")
        (band,) = by_gid(ax, "theory_band")
        np.testing.assert_allclose(benign.levels, [math.log(ben)])
        np.testing.assert_allclose(harmful.levels, [math.log(harm)])
        np.testing.assert_allclose(band.levels, [math.log(harm), math.log(ben)])
        (measured,) = by_gid(ax, "measured_boundary")
        np.testing.assert_allclose(measured.levels, [math.log(b.estimate)])
        (ci,) = by_gid(ax, "measured_boundary_ci")
        np.testing.assert_allclose(ci.levels, [math.log(b.ci_low), math.log(b.ci_high)])
    text = legend_texts(fig)
    for needle in ("theory: benign", "theory: harmful", "undetermined", "default constants, uncalibrated",
                   "measured boundary", "95% CI"):
        assert needle in text, text
    assert_labels_render(fig)
    plt.close(fig)


def test_phase_diagram_uses_calibrated_constants():
    ds = kou_like(C=8.0, seeds=4)
    fits = an.figure_fits(ds)
    assert fits.calibrated and {"C1", "C3"} <= set(fits.constants)
    fig = bp.phase_diagram(ds, "d", "mu_norm", boundary=fits.boundary, constants=fits.constants, calibrated=True)
    ax = fig.axes[0]
    np.testing.assert_allclose(by_gid(ax, "theory_benign")[0].levels, [math.log(fits.constants["C1"])])
    np.testing.assert_allclose(by_gid(ax, "theory_harmful")[0].levels, [math.log(fits.constants["C3"])])
    assert "(calibrated)" in legend_texts(fig)
    plt.close(fig)
    # without a boundary nothing measured is drawn: the plot does not fit
    fig = bp.phase_diagram(ds, "d", "mu_norm")
    assert not by_gid(fig.axes[0], "measured_boundary") and by_gid(fig.axes[0], "theory_benign")
    plt.close(fig)


def test_fraction_benign_panel_and_boundary_table():
    ds = dynamics_like()
    fits = an.figure_fits(ds)
    table = fits.by_init
    assert list(table.init_scale) == [0.001, 0.01, 0.1, 1.0] and (table.axis == "snr").all()
    # planted: benign from snr 0.05 (small init) / 0.1 (large init): the estimate lies in the gap
    assert (table.estimate[:2] > 0.02).all() and (table.estimate[:2] < 0.05).all()
    assert (table.estimate[2:] > 0.05).all() and (table.estimate[2:] < 0.1).all()
    ax = bp.heatmap(ds, "init_scale", "snr", kind="benign", boundary_by=table)
    mesh = ax.collections[0]
    frac = bp.benign_fraction(ds, keep=("snr", "init_scale")).values
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(frac.shape), frac)
    assert set(np.unique(frac)) == {0.0, 1.0}
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    errorbar_y = ax.lines[0].get_ydata()
    np.testing.assert_allclose(errorbar_y, table.estimate)
    assert any("per" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close(ax.figure)


def test_heatmap_categorical_axes():
    ds = dynamics_like().assign_coords(init_scale=["a", "b", "c", "d"])
    ax = bp.heatmap(ds, "init_scale", "snr")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]
    plt.close(ax.figure)


def test_theory_grid_matches_theory_at_the_cells():
    ds = kou_like()
    D, M = np.meshgrid(ds.d.values.astype(float), ds.mu_norm.values)
    pred = bp.theory_grid(ds, {"d": D, "mu_norm": M})
    ref = th.kou2023(n=20, d=D.astype(int), mu_norm=M, sigma_p=1.0, p=0.1)
    np.testing.assert_allclose(pred.phi, ref.phi)
    assert bp.theory_grid(ds.expand_dims(n=[10, 20]), {"d": D, "mu_norm": M}) is None  # n swept, not plotted


# ----------------------------------------------------------------------------- 1-D slices
def test_line_draws_bounds_thresholds_and_boundary(tmp_path):
    one = kou_like(seeds=5).sel(d=400, drop=True).assign_attrs(d=400)
    constants = {"C1": 10.0, "C3": 4.0, "C2": 3.0, "C4": 0.3}
    fit = an.boundary(one, "phi")
    fig = bp.line(one, "mu_norm", boundary=fit, constants=constants, calibrated=True, path=tmp_path / "line.png")
    ax = fig.axes[0]
    (upper,) = by_gid(ax, "theory_upper")
    (lower,) = by_gid(ax, "theory_lower")
    mu, up = upper.get_xdata(), upper.get_ydata()
    phi = 20 * mu**4 / 400
    on = phi >= 10.0
    np.testing.assert_allclose(up[on], 0.1 + np.exp(-phi[on] / 3.0))
    assert np.isnan(up[~on]).all()
    lo = lower.get_ydata()
    np.testing.assert_allclose(lo[phi <= 4.0], 0.1 + 0.3)
    assert np.isnan(lo[phi > 4.0]).all()
    (benign,) = by_gid(ax, "theory_benign")
    assert benign.get_xdata()[0] == pytest.approx((10.0 * 400 / 20) ** 0.25, rel=1e-3)
    (harmful,) = by_gid(ax, "theory_harmful")
    assert harmful.get_xdata()[0] == pytest.approx((4.0 * 400 / 20) ** 0.25, rel=1e-3)
    (measured,) = by_gid(ax, "measured_boundary")
    assert measured.get_xdata()[0] == pytest.approx((fit.estimate * 400 / 20) ** 0.25, rel=1e-3)
    assert by_gid(ax, "measured_boundary_ci") and by_gid(ax, "theory_band")
    # the seed mean as the line, the seed spread as the inter-quartile band
    np.testing.assert_allclose(ax.lines[0].get_ydata(), one.test_error.mean("seed").values)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    q25, q75 = one.test_error.quantile([0.25, 0.75], "seed").values
    assert np.isclose(band.min(), q25.min()) and np.isclose(band.max(), q75.max())
    text = legend_texts(fig)
    for needle in ("upper bound", "lower bound", "label-noise floor", "inter-quartile", "measured boundary", "threshold"):
        assert needle in text, text
    assert_labels_render(fig)
    plt.close(fig)


# ----------------------------------------------------------------------------- layer norms
@pytest.fixture(scope="module")
def run_result():
    import benign

    return benign.simulate(n=10, d=40, m=4, steps=60, n_checkpoints=6, init_scale=0.01, eta_w=0.2, eta_a=0.05,
                           sigma_0=0.02, seed=3, precision="float64")


def test_layer_norms_of_one_run(run_result, tmp_path):
    r = run_result
    fig = bp.layer_norms(r, path=tmp_path / "one.png")
    assert (tmp_path / "one.png").exists()
    hidden_ax, _, ratio_ax = fig.axes
    w = r.trajectory["w_norm"].reshape(len(r.steps), -1)
    a = np.abs(r.trajectory["a"]).reshape(len(r.steps), -1)
    assert len(hidden_ax.lines) >= w.shape[1] + 1  # per-neuron thin lines and the mean
    (measured_line,) = by_gid(ratio_ax, "ratio_measured")
    measured = measured_line.get_ydata()
    np.testing.assert_allclose(measured, w.mean(1) / a.mean(1))  # ratio of mean norms ...
    assert not np.allclose(measured[1:], (w / a).mean(1)[1:])  # ... not a mean of per-neuron ratios
    (law,) = by_gid(ratio_ax, "law_ratio")
    q0 = a[0] ** 2 / 0.05 - w[0] ** 2 / 0.2  # per neuron at step 0 (no bias)
    pred_w = a * np.sqrt(0.2 / 0.05 - 0.2 * q0 / a**2)
    np.testing.assert_allclose(law.get_ydata(), pred_w.mean(1) / a.mean(1), rtol=1e-10)
    # the law is a prediction from step 0, and GD follows it closely at these step sizes
    np.testing.assert_allclose(law.get_ydata(), measured, rtol=0.05)
    (lim,) = by_gid(ratio_ax, "limiting_ratio")
    assert lim.get_ydata()[0] == pytest.approx(2.0)
    assert "mean of the" not in legend_texts(fig)
    assert_labels_render(fig)
    plt.close(fig)


def test_layer_norms_of_a_sweep(tmp_path):
    ds = dynamics_like()
    fig = bp.layer_norms(ds, path=tmp_path / "norms.png")
    assert (tmp_path / "norms.png").exists()
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == 4 and "0.001" in labels[0]
    ratio_ax = fig.axes[2]
    one = ds.sel(init_scale=0.01)
    w = one.traj_w_norm.mean("snr").isel(seed=0).values
    a = one.traj_a_norm.mean("snr").isel(seed=0).values
    measured = by_gid(ratio_ax, "ratio_measured")
    assert len(measured) == 4
    np.testing.assert_allclose(measured[1].get_ydata(), w / a)  # ratio of mean norms, not traj_ratio
    laws = by_gid(ratio_ax, "law_ratio")
    assert len(laws) == 4
    q0 = a[0] ** 2 / 0.1 - w[0] ** 2 / 0.1
    np.testing.assert_allclose(laws[1].get_ydata(), np.sqrt(1 - 0.1 * q0 / a**2), rtol=1e-12)
    assert "conservation law" in legend_texts(fig)
    assert_labels_render(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="trajectories=True"):
        bp.layer_norms(kou_like())


# ----------------------------------------------------------------------------- other figures
def test_gamma_rho_and_boundary_vs_init(tmp_path):
    ds = dynamics_like()
    fig = bp.gamma_rho(ds, path=tmp_path / "gr.png")
    assert (tmp_path / "gr.png").exists()
    assert "max $|\\rho^-|$" in legend_texts(fig)
    assert_labels_render(fig)
    nan = ds.assign(traj_gamma_max=ds.traj_gamma_max * np.nan)
    with pytest.raises(ValueError, match="dense engine"):
        bp.gamma_rho(nan)
    table = an.boundaries(ds, "snr", "init_scale")
    ref = an.BoundaryFit(0.05, 0.04, 0.06, 3.0, axis="snr")
    fig = bp.boundary_vs_init({"trainable": table}, reference=ref, init_line=0.2, path=tmp_path / "b.png")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), table.estimate)
    assert by_gid(ax, "reference")[0].get_ydata()[0] == 0.05
    assert by_gid(ax, "init_line")[0].get_xdata()[0] == 0.2
    assert ax.get_ylabel() == f"boundary {bp.LABELS['snr']}"
    text = legend_texts(fig)
    assert "trainable" in text and "fixed output layer" in text and "sigma_0" in text
    assert_labels_render(fig)
    plt.close("all")


def test_plot_all(tmp_path):
    ds = dynamics_like()
    paths = bp.plot_all(ds, tmp_path / "figs", fits=an.figure_fits(ds))
    names = sorted(p.name for p in paths)
    assert names == ["boundary_vs_init.png", "gamma_rho.png", "layer_norms.png", "phase_init_scale_snr.png"]
    assert all(p.exists() for p in paths)
    bare = bp.plot_all(ds, tmp_path / "bare")  # without fits: theory only, no measured boundary
    assert sorted(p.name for p in bare) == ["gamma_rho.png", "layer_norms.png", "phase_init_scale_snr.png"]
    line = bp.plot_all(kou_like().isel(d=[0]).squeeze("d", drop=True).assign_attrs(d=100), tmp_path / "line")
    assert [p.name for p in line] == ["test_error_mu_norm.png"]


def test_edges_never_negative():
    e = bp._edges(np.array([0.0, 1.0, 2.0]), log=False)
    assert e[0] == 0.0 and e[-1] == 2.5
    assert bp._edges(np.array([-1.0, 0.0, 1.0]), log=False)[0] == -1.5  # signed quantities keep their edges


def test_legend_labels_have_no_raw_tex():
    assert all(t.count("$") % 2 == 0 for t in bp.LABELS.values())
