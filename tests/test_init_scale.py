"""benign.analysis.init_scale on planted data: the per-a0 boundaries, the paired shift and the piecewise fit
recover what was planted, and their seed-jackknife intervals cover it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benign.analysis.init_scale import boundary_shift, boundary_table, fit_init_scale, piecewise_fit

INIT = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
SNR = np.geomspace(0.1, 1.0, 13)


def _star(a0: float, plateau: float = 0.4, kappa: float = -0.2, ac: float = 0.1) -> float:
    return plateau * (max(a0, ac) / ac) ** kappa


def _runs(seeds: int = 12, rng_seed: int = 0, star=_star, init_col: str = "init_scale") -> pd.DataFrame:
    """Benign iff snr > SNR*(a0) * exp(seed effect + run noise): test error p or p + 0.3."""
    rng = np.random.default_rng(rng_seed)
    effect = rng.normal(0, 0.08, seeds)
    rows = []
    for s in range(seeds):
        for a0 in INIT:
            for x in SNR:
                benign = math.log(x) > math.log(star(a0)) + effect[s] + rng.normal(0, 0.1)
                rows.append({"seed": s, init_col: a0, "snr": x, "p": 0.1, "test_error": 0.1 if benign else 0.4})
    return pd.DataFrame(rows)


def test_piecewise_fit_recovers_a_planted_curve_exactly():
    a0 = np.geomspace(1e-4, 1e2, 13)
    y = np.log([_star(a, 0.3, -0.5, 0.05) for a in a0])
    b, kappa, lc = piecewise_fit(a0, y)
    assert b == pytest.approx(math.log(0.3), abs=1e-9)
    assert kappa == pytest.approx(-0.5, abs=1e-6)
    assert lc == pytest.approx(math.log(0.05), abs=1e-5)


def test_fit_init_scale_interval_covers_the_planted_exponent():
    fit = fit_init_scale(_runs(), sigma_0=0.01, d=100)  # sigma_0 sqrt(d) = 0.1 = planted a_c
    assert fit["n_init"] == len(INIT)
    assert fit["kappa_low"] < -0.2 < fit["kappa_high"]
    assert fit["plateau_low"] < 0.4 < fit["plateau_high"]
    assert fit["kappa_high"] < 0  # the planted slope is resolved


def test_boundary_shift_covers_the_planted_ratio_and_detects_no_shift():
    df = _runs()
    sh = boundary_shift(df, 1e-3, 100.0)
    planted = _star(100.0) / _star(1e-3)
    assert sh["ratio_low"] < planted < sh["ratio_high"] and sh["ratio_high"] < 1
    same = boundary_shift(df, [1e-4, 1e-3], [1e-2])  # all on the plateau
    assert same["ratio_low"] < 1 < same["ratio_high"]
    with pytest.raises(ValueError, match="large"):
        boundary_shift(df, 1e-3, 5.0)


def test_boundary_table_pairs_the_fixed_runs_by_output_value():
    tr = _runs(rng_seed=1)
    fx = _runs(rng_seed=1, init_col="output_value").assign(init_scale=0.1)  # identical labels, init_scale constant
    tab = boundary_table(tr, fx)
    assert set(tab.model) == {"trainable", "fixed"} and len(tab) == 2 * len(INIT)
    t = tab[tab.model == "trainable"]
    np.testing.assert_allclose(t["log_ratio_fixed"], 0.0, atol=1e-9)  # same runs: no shift, zero-width interval
    np.testing.assert_allclose(t["estimate"].to_numpy(), tab[tab.model == "fixed"]["estimate"].to_numpy())
    assert ((t["frac_benign"] > 0) & (t["frac_benign"] < 1)).all()


def test_ratio_table_medians_and_quartiles_per_init_scale_leave_out_diverged_runs():
    rng = np.random.default_rng(3)
    rows = []
    for a0 in (1e-3, 10.0):
        for s in range(9):
            r = rng.uniform(1, 2) if a0 < 1 else rng.uniform(0.1, 0.3)
            rows.append({"init_scale": a0, "seed": s, "ratio": r, "ratio_predicted": r * 1.01, "w_norm": r, "a_norm": 1.0,
                         "diverged": False})
        rows.append({"init_scale": a0, "seed": 99, "ratio": 1e6, "ratio_predicted": 0.0, "w_norm": 1e6, "a_norm": 1.0,
                     "diverged": True})
    df = pd.DataFrame(rows)
    from benign.analysis.init_scale import ratio_table

    t = ratio_table(df).set_index("init_scale")
    for a0 in (1e-3, 10.0):
        r = df[(df.init_scale == a0) & ~df.diverged]["ratio"].to_numpy()
        assert t.loc[a0, "ratio_median"] == pytest.approx(np.median(r))
        assert t.loc[a0, "ratio_q25"] == pytest.approx(np.quantile(r, 0.25))
        assert t.loc[a0, "ratio_rel_err_median"] == pytest.approx(0.01)
