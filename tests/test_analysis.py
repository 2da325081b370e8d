"""Tests for benign.analysis on synthetic results with planted boundaries and exponents."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import pytest

from benign import analysis as an
from benign import theory as th

P = 0.1


def synth(*, mus, ds=(400,), ns=(20,), sps=(1.0,), slopes=(0.25, -0.25, 1.0), phi_star=3.0,
          k=8.0, seeds=1, rng=0, extra=None) -> pd.DataFrame:
    """Runs whose regime is benign with probability ``sigmoid(k (log mu - log mu_crit))``,
    ``log mu_crit = log(phi_star)/4 + s_d log d + s_n log n + s_sp log sigma_p`` (so with the Kou
    slopes, ``benign iff Phi * logistic noise > phi_star``).  Benign test error p + 0.01,
    harmful p + 0.25."""
    rng = np.random.default_rng(rng)
    g = np.array(np.meshgrid(mus, ds, ns, sps, np.arange(seeds), indexing="ij")).reshape(5, -1)
    mu, d, n, sp, seed = g
    log_crit = math.log(phi_star) / 4 + slopes[0] * np.log(d) + slopes[1] * np.log(n) \
        + slopes[2] * np.log(sp)
    prob = 0.5 * (1.0 + np.tanh(0.5 * k * (np.log(mu) - log_crit)))  # sigmoid, no overflow
    benign = rng.random(mu.size) < prob
    df = pd.DataFrame({"n": n.astype(int), "d": d.astype(int), "mu_norm": mu, "sigma_p": sp,
                       "p": P, "m": 10, "seed": seed.astype(int),
                       "test_error": P + np.where(benign, 0.01, 0.25),
                       "train_error": 0.0})
    for key, val in (extra or {}).items():
        df[key] = val
    return df


def _cells(df: pd.DataFrame, tol=0.05, gap=0.1) -> pd.DataFrame:
    table = an.cell_table(df)
    table["regime_empirical"] = an.empirical_regime(table.test_error, table.p, tol, gap)
    table["phi"] = table.n * table.mu_norm**4 / (table.sigma_p**4 * table.d)
    return table


# ----------------------------------------------------------------------------- logistic fit
def test_logistic_regression_recovers_coefficients():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20_000, 2)) * [1.0, 3.0] + [5.0, 10.0]  # eta ~ -0.5 +- 3.6
    true = np.array([0.5, 2.0, -1.0])
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-(true[0] + X @ true[1:])))).astype(float)
    coef = an.logistic_regression(X, y, l2=0.0)
    assert np.allclose(coef, true, atol=0.1)
    # separable data stays finite thanks to the ridge term; boundary lands in the gap
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    c = an.logistic_regression(x[:, None], (x > 2.5).astype(float))
    assert np.all(np.isfinite(c)) and 2.0 < -c[0] / c[1] < 3.0


# ----------------------------------------------------------------------------- boundary
@pytest.mark.parametrize("phi_star", [3.0, 40.0])
def test_boundary_recovers_planted_phi_star(phi_star):
    df = synth(mus=np.geomspace(0.5, 8, 40), ds=(100, 300, 900), ns=(10, 40),
               phi_star=phi_star, rng=1)
    fit = an.boundary(df, "phi", cluster="run")  # synthetic runs are independent of each other
    assert fit.ci_low <= phi_star <= fit.ci_high, fit
    assert fit.ci_high / fit.ci_low < 2.0, fit  # informative, so the test can fail
    assert fit.estimate == pytest.approx(phi_star, rel=0.3)
    assert fit.slope == pytest.approx(8.0 / 4, rel=0.5)  # k per log mu = k/4 per log phi
    assert not fit.ci_low <= 2 * phi_star <= fit.ci_high
    assert fit.axis == "phi" and fit.n_runs == len(df) and fit.cluster == "run"


def test_compare_boundary_with_seeds_recovers_phi_star():
    df = synth(mus=np.geomspace(0.5, 8, 16), ds=(100, 200, 400, 800), ns=(10, 20, 40),
               seeds=8, rng=2, k=10.0, phi_star=1.3**4)
    c = an.compare(df)
    assert c.boundary.cluster == "seed" and c.boundary.n_clusters == 8
    assert c.boundary.ci_low <= 1.3**4 <= c.boundary.ci_high
    assert c.boundary.ci_high / c.boundary.ci_low < 1.6
    # the same fit as the figures get: one method
    same = an.boundary(df, "phi")
    assert same.estimate == pytest.approx(c.boundary.estimate, rel=1e-12)
    assert same.ci_low == pytest.approx(c.boundary.ci_low, rel=1e-12)


def test_boundary_is_scale_equivariant():
    df = synth(mus=np.geomspace(0.5, 8, 30), ds=(100, 900), rng=4, seeds=4)
    df["phi"] = df.n * df.mu_norm**4 / (df.sigma_p**4 * df.d)
    a = an.boundary(df, "phi")
    b = an.boundary(df.assign(phi=7.0 * df.phi), "phi")
    assert b.estimate == pytest.approx(7.0 * a.estimate, rel=1e-6)
    assert b.ci_low == pytest.approx(7.0 * a.ci_low, rel=1e-6)
    none = an.boundary(df.assign(test_error=P), "phi")
    assert math.isnan(none.estimate) and "both" in none.note
    one = an.boundary(df.assign(seed=0), "phi")  # one seed: an estimate but no interval
    assert np.isfinite(one.estimate) and math.isnan(one.ci_low) and "seed" in one.note


def test_fit_boundary_validates_and_reverses():
    with pytest.raises(ValueError, match="ci="):
        an.fit_boundary([1.0, 2.0], [0, 1], ci=1.5)
    with pytest.raises(ValueError, match="same length"):
        an.fit_boundary([1.0, 2.0], [0, 1, 1])
    with pytest.raises(ValueError, match="0, 1 or NaN"):
        an.fit_boundary([1.0, 2.0], [0, 0.5])
    with pytest.raises(ValueError, match="tol="):
        an.is_benign([0.1], 0.1, tol=-0.1)
    x = np.repeat(np.geomspace(1, 100, 8), 4)
    rev = an.fit_boundary(x, (x < 10).astype(float), np.tile(np.arange(4), 8))
    assert math.isnan(rev.estimate) and "reversed" in rev.note


def _planted(rng, model, k, cells=12, seeds=8, span=4.0):
    """Runs on ``cells`` log-spaced x values (x* e^{+-log span}) times ``seeds`` seeds with a known
    boundary x* (P(benign | x) = sigmoid(k (log x - log x*))). ``"independent"``: every run draws its
    own label; ``"paired"``: every seed has its own threshold, log x* + Logistic/k (the runs of one seed
    are dependent, as when cells with one seed share data)."""
    log_star = rng.uniform(-0.3, 0.3)  # the boundary moves relative to the grid
    u = np.linspace(-math.log(span), math.log(span), cells)[:, None]
    if model == "independent":
        benign = rng.random((cells, seeds)) < 1 / (1 + np.exp(-k * (u - log_star)))
    else:
        xi = rng.logistic(size=seeds) / k if np.isfinite(k) else np.zeros(seeds)
        benign = u > log_star + xi[None, :]
    x = np.broadcast_to(np.exp(u), benign.shape)
    seed = np.broadcast_to(np.arange(seeds)[None, :], benign.shape)
    return x.ravel(), benign.ravel().astype(float), seed.ravel(), math.exp(log_star)


@pytest.mark.parametrize("model,k", [("independent", 4.0), ("paired", 4.0), ("paired", 10.0)])
def test_boundary_interval_covers_planted_boundary(model, k):
    """Coverage of the nominal 95% interval over 200 planted replications (8 seeds, 12 cells) lies
    within 3 binomial standard deviations of 0.95 (a percentile bootstrap over cells or seeds measured
    0.30-0.87 on such data)."""
    rng = np.random.default_rng({"independent": 11, "paired": 12}[model] + int(k))
    reps, hits, widths = 200, 0, []
    for _ in range(reps):
        x, benign, seed, star = _planted(rng, model, k)
        fit = an.fit_boundary(x, benign, seed, axis="x")
        hits += fit.ci_low <= star <= fit.ci_high
        widths.append(math.log(fit.ci_high / fit.ci_low))
    cover, tol = hits / reps, 3 * math.sqrt(0.95 * 0.05 / reps)
    print(f"coverage {model} k={k}: {cover:.3f} (median log-width {np.median(widths):.3f})")
    assert abs(cover - 0.95) <= tol, cover
    assert np.median(widths) < 1.5  # not covering by being uninformative (the grid spans log 16 = 2.8)


def test_separated_labels_are_bracketed():
    """A deterministic boundary (every seed flips at the same x): the jackknife spread is 0, and the
    interval is the gap between the last non-benign and the first benign grid value."""
    rng = np.random.default_rng(13)
    for _ in range(20):
        x, benign, seed, star = _planted(rng, "paired", math.inf)
        fit = an.fit_boundary(x, benign, seed)
        assert fit.separated and fit.ci_low <= star <= fit.ci_high
        assert fit.ci_low == pytest.approx(x[benign == 0].max()) and fit.ci_high == pytest.approx(x[benign == 1].min())


def test_one_step_jackknife_matches_exact(monkeypatch):
    """Beyond EXACT_JACKKNIFE clusters the leave-one-out fits are one Newton step: the interval agrees
    with exact refits to 2%."""
    from benign.analysis import fits

    rng = np.random.default_rng(14)
    x = np.repeat(np.geomspace(0.25, 4, 12), 100)
    benign = (rng.random(x.size) < 1 / (1 + x**-3)).astype(float)
    groups = np.tile(np.arange(100), 12)
    one_step = an.fit_boundary(x, benign, groups)
    monkeypatch.setattr(fits, "EXACT_JACKKNIFE", 1000)
    exact = an.fit_boundary(x, benign, groups)
    assert one_step.estimate == exact.estimate
    assert math.log(one_step.ci_high / one_step.ci_low) == pytest.approx(math.log(exact.ci_high / exact.ci_low), rel=0.02)


def test_t_quantile_matches_reference():
    from benign.analysis import fits

    assert fits._t_quantile(0.975, 7) == pytest.approx(2.364624, rel=1e-6)
    assert fits._t_quantile(0.975, 1000) == pytest.approx(1.962339, rel=1e-6)


# ----------------------------------------------------------------------------- scaling
# k = 4 keeps the labels overlapping between grid points. Runs are independent (one seed), so the
# clusters are the runs.
GRID = dict(mus=np.geomspace(0.1, 100, 36), ds=(100, 300, 1000), ns=(10, 30, 90),
            sps=(0.3, 1.0, 3.0), k=4.0)


def test_scaling_recovers_kou_slopes():
    df = synth(**GRID, slopes=(0.25, -0.25, 1.0), rng=1)
    s = an.fit_scaling(df, cluster="run")
    assert list(s.index) == ["d", "n", "sigma_p"]
    for v, planted in {"d": 0.25, "n": -0.25, "sigma_p": 1.0}.items():
        assert s.ci_low[v] <= planted <= s.ci_high[v], s
        assert s.slope[v] == pytest.approx(planted, abs=0.15)
    assert s.kou2023_in_ci.all()
    assert not s.cao2022_in_ci["d"]  # +1/2 is excluded: the fit discriminates


def test_scaling_recovers_cao_slopes():
    df = synth(**GRID, slopes=(0.5, -1 / 3, 1.0), rng=6, extra={"q": 3.0})
    c = an.compare(df, theory="cao2022", cluster="run")
    s = c.scaling
    for v, planted in {"d": 0.5, "n": -1 / 3, "sigma_p": 1.0}.items():
        assert s.ci_low[v] <= planted <= s.ci_high[v], s
    assert s.cao2022["n"] == pytest.approx(-1 / 3)
    assert s.cao2022_in_ci.all()
    assert not s.kou2023_in_ci["d"]


def test_scaling_fits_only_varying_variables():
    df = synth(mus=np.geomspace(0.5, 8, 30), ds=(100, 300, 900), rng=7)
    s = an.fit_scaling(df, cluster="run")
    assert list(s.index) == ["d"]
    assert s.ci_low["d"] <= 0.25 <= s.ci_high["d"]


# ----------------------------------------------------------------------------- calibration
def test_calibrate_recovers_planted_constants():
    c2, phi_star = 1.5, 8.0
    table = _cells(synth(mus=np.geomspace(0.5, 8, 40), ds=(100, 400), k=1e6,
                         phi_star=phi_star, rng=8))
    benign = table.phi >= phi_star
    table["test_error"] = np.where(benign, P + np.exp(-table.phi / c2), P + 0.3)
    table["regime_empirical"] = an.empirical_regime(table.test_error, table.p)
    cal = an.calibrate(table)
    assert cal["C2"] == pytest.approx(c2, rel=1e-4)
    assert cal["C4"] == pytest.approx(0.3)
    assert cal["benign_at"] == pytest.approx(table.phi[benign].min())
    assert cal["harmful_at"] == pytest.approx(table.phi[~benign].max())
    loose = an.calibrate(table, c2_quantile=0.5)
    assert loose["C2"] <= cal["C2"]


def test_compare_agreement_and_calibrated_bounds():
    df = synth(mus=np.geomspace(0.5, 8, 30), ds=(100, 400, 1600), k=1e6, phi_star=4.0, rng=9)
    good = an.compare(df, C1=4.0, C3=4.0)
    assert good.agreement == 1.0 and good.n_compared == len(good.table)
    bad = an.compare(df, C1=400.0, C3=400.0)
    assert bad.agreement < 0.8
    t = good.table
    assert {"regime_empirical", "regime_theory", "phi", "lower_bound", "upper_bound", "agree",
            "calibrated_lower", "calibrated_upper"} <= set(t.columns)
    ok = t.calibrated_upper.notna()
    assert ok.any() and (t.test_error[ok] <= t.calibrated_upper[ok] + 1e-12).all()
    ok = t.calibrated_lower.notna()
    assert ok.any() and (t.test_error[ok] >= t.calibrated_lower[ok] - 1e-12).all()


# ----------------------------------------------------------------------------- inputs
@dataclass
class FakeResult:
    n: int
    d: int
    mu_norm: float
    sigma_p: float
    p: float
    seed: int
    test_error: float
    diverged: bool

    def to_dict(self):  # like the simulator's Result: config fields (some non-numeric) + metrics
        return {**asdict(self), "output_init": "constant", "output_value": None, "bias": False,
                "mu_vec": [1.0, 0.0], "diverged_step": -1, "test_error_clean": 0.0}


def test_inputs_list_dataset_and_dataframe_agree():
    xr = pytest.importorskip("xarray")
    df = synth(mus=np.geomspace(0.5, 8, 12), ds=(100, 900), seeds=2, rng=10)
    df["diverged"] = False
    objs = [FakeResult(**{k: r[k] for k in FakeResult.__annotations__}) for _, r in
            df.iterrows()]
    ds = xr.Dataset(
        {"test_error": (("mu_norm", "d", "seed"),
                        df.set_index(["mu_norm", "d", "seed"]).test_error.to_numpy()
                        .reshape(12, 2, 2)),
         "diverged": (("mu_norm", "d", "seed"), np.zeros((12, 2, 2), dtype=int))},
        coords={"mu_norm": np.geomspace(0.5, 8, 12), "d": [100, 900], "seed": [0, 1]},
        attrs={"n": 20, "sigma_p": 1.0, "p": P})
    tables = [an.compare(x).table for x in (df, objs, ds)]
    assert len(tables[1]) == 24 and (tables[1].n_runs == 2).all()
    cols = ["n", "d", "mu_norm", "test_error", "phi", "regime_empirical", "regime_theory"]
    ref = tables[0][cols].sort_values(["d", "mu_norm"]).reset_index(drop=True)
    for t in tables[1:]:
        pd.testing.assert_frame_equal(
            t[cols].sort_values(["d", "mu_norm"]).reset_index(drop=True), ref,
            check_dtype=False)
    assert an.to_frame(ds).diverged.dtype == bool
    # a sweep frame that already carries per-cell predictions (benign.theory.predict) still works
    again = an.compare(df.join(th.predict(df))).table
    assert len(again) == 24 and (again.regime_theory == tables[0].regime_theory).all()


def test_diverged_runs_are_excluded_and_counted():
    df = synth(mus=[2.0], seeds=4, rng=11)
    df["diverged"] = [False, False, False, True]
    df.loc[3, "test_error"] = 0.9
    t = an.cell_table(df)
    assert t.n_runs.iloc[0] == 4 and t.n_diverged.iloc[0] == 1
    assert t.test_error.iloc[0] == pytest.approx(df.test_error[:3].mean())


def test_cell_table_reports_seed_fractions_and_spread():
    df = pd.DataFrame({"snr": np.repeat([0.1, 0.2], 5), "p": 0.1, "seed": np.tile(np.arange(5), 2),
                       "test_error": [0.12, 0.14, 0.3, 0.5, 0.13, 0.1, 0.11, 0.12, 0.13, 0.9],
                       "diverged": [False] * 9 + [True]})
    t = an.cell_table(df, tol=0.05, gap=0.1).set_index("snr")
    assert t.frac_benign[0.1] == pytest.approx(3 / 5) and t.frac_harmful[0.1] == pytest.approx(2 / 5)
    assert t.frac_benign[0.2] == 1.0 and t.frac_harmful[0.2] == 0.0  # the diverged run is left out
    assert t.test_error_median[0.1] == pytest.approx(0.14)
    q25, q75 = np.quantile([0.12, 0.14, 0.3, 0.5, 0.13], [0.25, 0.75])
    assert t.test_error_iqr[0.1] == pytest.approx(q75 - q25) and t.test_error_q25[0.1] == pytest.approx(q25)
    assert t.test_error_median[0.2] == pytest.approx(0.115)


def test_missing_optional_columns_skip_with_notes():
    df = synth(mus=[1.0], ds=(100, 400), rng=12)[["n", "d", "mu_norm", "sigma_p", "test_error"]]
    c = an.compare(df)
    text = c.report()
    assert c.trainable is None and c.dynamics is None and c.scaling is None
    assert any("p = 0" in n for n in c.notes) and "skipped" in text and str(c) == text
    with pytest.raises(ValueError, match="test_error"):
        an.compare(df.drop(columns="test_error"))
    with pytest.raises(ValueError, match="cluster="):
        an.compare(df.assign(test_error=[0.1, 0.5]), cluster="grid")
    with pytest.raises(ValueError, match="tol="):
        an.empirical_regime([0.1], 0.1, tol=0.2, gap=0.1)


# ----------------------------------------------------------------------------- trainable output
def test_trainable_table_measures_boundary_shift():
    mus, kw = np.geomspace(0.3, 12, 40), dict(ds=(100, 300, 900), ns=(10, 40))
    frames = [synth(mus=mus, phi_star=3.0, rng=13,
                    extra={"train_output": False, "init_scale": np.nan}, **kw),
              synth(mus=mus, phi_star=3.0, rng=14,
                    extra={"train_output": True, "init_scale": 1.0}, **kw),
              synth(mus=mus, phi_star=30.0, rng=15,
                    extra={"train_output": True, "init_scale": 1e-3}, **kw)]
    df = pd.concat(frames, ignore_index=True).assign(sigma_0=0.01)
    c = an.compare(df, cluster="run")
    tt = c.trainable.set_index(["output", "init_scale"], drop=False)
    assert list(tt.output) == ["fixed", "trainable", "trainable"]
    small, large = tt.iloc[1], tt.iloc[2]
    assert small.init_scale == 1e-3 and small.frac_large_init == 0.0
    assert large.frac_large_init == 1.0
    assert small.ci_low <= 30.0 <= small.ci_high and large.ci_low <= 3.0 <= large.ci_high
    assert 5.0 < small.shift_vs_fixed < 20.0 and 0.5 < large.shift_vs_fixed < 2.0
    assert "init_scale" in c.report()


# ----------------------------------------------------------------------------- dynamics
def test_dynamics_summary():
    rng = np.random.default_rng(16)
    pred = rng.uniform(1.0, 1.3, 40)
    df = pd.DataFrame({"train_output": True, "eta_w": 0.1, "eta_a": 0.1,
                       "init_scale": np.repeat([1e-3, 1.0], 20), "ratio_predicted": pred,
                       "ratio": pred * (1 + rng.uniform(-0.01, 0.01, 40)),
                       "conserved_drift": rng.uniform(-1e-4, 1e-4, 40)})
    s = an.dynamics_summary(df)
    assert len(s) == 2 and (s.n_runs == 20).all()
    assert (s.rel_err_max <= 0.01 / 0.99).all() and (s.rel_err_max > 0).all()
    assert (s.drift_max <= 1e-4).all()
    assert an.dynamics_summary(df.drop(columns=["ratio", "conserved_drift"])) is None
    only = an.dynamics_summary(df[["conserved_drift"]])
    assert list(only.columns) == ["drift_median", "drift_max", "n_runs"]
