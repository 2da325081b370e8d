"""Tests for benign.theory: bound properties, regime partition, validation, layer dynamics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benign import theory as th

SETTINGS = settings(deadline=None)  # examples: the hypothesis profile (tests/conftest.py)
ORDER = {"harmful": 0, "undetermined": 1, "benign": 2}

ns = st.integers(1, 10_000)
ds = st.integers(1, 100_000)
mus = st.floats(0.0, 50.0, allow_nan=False)
sps = st.floats(0.01, 10.0, allow_nan=False)
ps = st.floats(0.0, 0.49, allow_nan=False)
consts = st.fixed_dictionaries({
    "C1": st.floats(0.1, 100.0), "C2": st.floats(0.01, 100.0),
    "C3_frac": st.floats(0.001, 1.0), "C4": st.floats(0.0, 2.0)})


def _kou_c(c):
    return {"C1": c["C1"], "C2": c["C2"], "C3": c["C1"] * c["C3_frac"], "C4": c["C4"]}


def _in_range(pred, p):
    for b in (pred.lower, pred.upper):
        b = np.asarray(b, dtype=float)
        ok = np.isnan(b) | ((b >= np.asarray(p) - 1e-15) & (b <= 1.0))
        assert ok.all(), (b, p)


@SETTINGS
@given(n=ns, d=ds, mu=mus, sp=sps, p=ps, c=consts)
def test_kou_meng_bounds_in_range_and_regime_partition(n, d, mu, sp, p, c):
    cc = _kou_c(c)
    for f, scale in ((th.kou2023, 1.0), (th.meng2024, 4.0)):  # XOR patches +-(a+-b) have |mu|^2 = 2 mu_norm^2
        pred = f(n, d, mu, sp, p, **cc)
        _in_range(pred, p)
        phi = scale * n * mu**4 / (sp**4 * d)
        assert pred.phi == pytest.approx(phi, rel=1e-12)
        expected = ("benign" if phi >= cc["C1"] else "harmful" if phi <= cc["C3"]
                    else "undetermined")
        assert pred.regime == expected
        # a bound is given exactly in its regime
        assert math.isnan(pred.upper) == (expected != "benign")
        assert math.isnan(pred.lower) == (expected != "harmful")
        if not (math.isnan(pred.lower) or math.isnan(pred.upper)):
            assert pred.lower <= pred.upper


@SETTINGS
@given(n=ns, snr=st.floats(0.0, 10.0), q=st.floats(2.01, 6.0), p=ps,
       C1=st.floats(1.0, 100.0), C3=st.floats(1.0, 100.0), C2=st.floats(1.0, 1e4))
def test_cao_bounds_and_partition(n, snr, q, p, C1, C3, C2):
    pred = th.cao2022(n, snr, q, p=p, C1=C1, C2=C2, C3=C3)
    _in_range(pred, p)
    phi = n * snr**q
    if phi >= C1:
        assert pred.regime == "benign" and not math.isnan(pred.upper)
    elif 1.0 / phi >= C3 if phi > 0 else True:
        assert pred.regime == "harmful"
    else:
        assert pred.regime == "undetermined"
    assert math.isnan(pred.lower)  # the harmful theorem bounds the loss, not the error
    assert pred.conditions["no_label_noise"] == (p == 0)


@SETTINGS
@given(n=ns, d=ds, mu=mus, sp=sps, p=ps, c=consts, k=st.floats(1.0, 10.0))
def test_monotonicity(n, d, mu, sp, p, c, k):
    """Upper bounds do not increase with n, |mu|; do not decrease with d, sigma_p; the regime
    moves towards benign with n, |mu| and towards harmful with d, sigma_p."""
    cc = _kou_c(c)
    base = th.kou2023(n, d, mu, sp, p, **cc)
    more = {"n": th.kou2023(int(n * k), d, mu, sp, p, **cc),
            "mu": th.kou2023(n, d, mu * k, sp, p, **cc),
            "d": th.kou2023(n, int(d * k), mu, sp, p, **cc),
            "sp": th.kou2023(n, d, mu, sp * k, p, **cc)}
    for name, pred in more.items():
        up = name in ("n", "mu")
        if not (math.isnan(pred.upper) or math.isnan(base.upper)):
            assert (pred.upper <= base.upper) if up else (pred.upper >= base.upper)
        r0, r1 = ORDER[base.regime], ORDER[pred.regime]
        assert (r1 >= r0) if up else (r1 <= r0)
    # Cao: upper bound does not increase with n
    a, b = th.cao2022(n, 1.0, 3), th.cao2022(int(n * k), 1.0, 3)
    if not (math.isnan(a.upper) or math.isnan(b.upper)):
        assert b.upper <= a.upper


def test_known_values_and_arrays():
    pred = th.kou2023(20, 500, 3.0, 1.0, 0.1)
    assert pred.phi == pytest.approx(20 * 81 / 500)
    assert pred.regime == "benign"
    assert pred.upper == pytest.approx(0.1 + math.exp(-3.24 / th.DEFAULTS["kou2023"]["C2"]))
    arr = th.kou2023(20, np.array([[100], [1000]]), np.array([0.5, 2.0, 5.0]), 1.0, 0.1)
    assert arr.phi.shape == arr.regime.shape == arr.upper.shape == (2, 3)
    assert list(arr.regime[0]) == ["harmful", "benign", "benign"]
    assert th.kou2023(1, 1, 0.0, 0.0, 0.0).regime == "undetermined"  # 0/0
    assert th.kou2023(1, 1, 1.0, 0.0, 0.0).upper == 0.0  # phi = inf
    assert th.thresholds("kou2023") == (0.5, 2.0)
    assert th.thresholds("cao2022", C3=4.0) == (0.25, 2.0)


def test_kou_conditions_only_when_inputs_given():
    assert set(th.kou2023(20, 500, 3.0, 1.0, 0.1).conditions) == {"p_small"}
    full = th.kou2023(20, 10**6, 3.0, 1.0, 0.1, m=10, sigma_0=1e-6, eta=1e-9, T=100, C=1.0)
    assert set(full.conditions) == {"p_small", "n_vs_log_m", "m_vs_log_n", "d_large",
                                    "sigma_0_small", "eta_small"}
    assert all(full.conditions.values())
    bad = th.kou2023(20, 100, 3.0, 1.0, 0.1, m=10, sigma_0=1.0, eta=10.0, T=100, C=1.0)
    assert not bad.conditions["sigma_0_small"] and not bad.conditions["eta_small"]
    assert not bad.conditions["d_large"]
    assert not th.kou2023(20, 500, 3.0, 1.0, 0.4, C=10.0).conditions["p_small"]


def test_shang_large_init_equals_kou_and_shift():
    kw = dict(n=20, d=400, mu_norm=np.array([1.0, 2.0, 3.0]), sigma_p=1.0, p=0.1)
    kou = th.kou2023(**kw)
    big = th.shang2024(**kw, init_scale=1.0, sigma_0=0.01, eta_w=0.1, eta_a=0.4)
    assert list(big.regime) == list(kou.regime)
    assert np.all(big.extra["init_regime"] == "large")
    assert np.allclose(big.extra["limiting_ratio"], 0.5)
    small = th.shang2024(**kw, init_scale=1e-3, sigma_0=0.01, small_init_shift=100.0)
    assert np.all(small.extra["init_regime"] == "small")
    assert np.all(small.regime == "harmful")  # boundary moved up a factor 100


@pytest.mark.parametrize("call,name", [
    (lambda: th.kou2023(0, 10, 1, 1, 0.1), "n"),
    (lambda: th.kou2023(2.5, 10, 1, 1, 0.1), "n"),
    (lambda: th.kou2023(10, 0, 1, 1, 0.1), "d"),
    (lambda: th.kou2023(10, 10, -1, 1, 0.1), "mu_norm"),
    (lambda: th.kou2023(10, 10, np.inf, 1, 0.1), "mu_norm"),
    (lambda: th.kou2023(10, 10, 1, np.nan, 0.1), "sigma_p"),
    (lambda: th.kou2023(10, 10, 1, 1, 0.5), "p"),
    (lambda: th.kou2023(10, 10, 1, 1, -0.1), "p"),
    (lambda: th.kou2023(10, 10, 1, 1, 0.1, m=0), "m"),
    (lambda: th.kou2023(10, 10, 1, 1, 0.1, eta=0.0), "eta"),
    (lambda: th.kou2023(10, 10, 1, 1, 0.1, C1=1.0, C3=2.0), "C3"),
    (lambda: th.kou2023(10, 10, 1, 1, 0.1, C2=0.0), "C2"),
    (lambda: th.meng2024(10, 10, 1, "x", 0.1), "sigma_p"),
    (lambda: th.cao2022(10, 1.0, 2.0), "q"),
    (lambda: th.cao2022(10, -1.0, 3.0), "snr"),
    (lambda: th.cao2022(10, 1.0, 3.0, C1=1.0, C3=0.5), "C3"),
    (lambda: th.shang2024(10, 10, 1, 1, 0.1, init_scale=1.0, sigma_0=-1.0), "sigma_0"),
    (lambda: th.limiting_ratio(0.0, 1.0), "eta_w"),
    (lambda: th.predicted_ratio(1.0, 0.0, 1.0, -1.0), "eta_a"),
    (lambda: th.conserved_quantity(1.0, -1.0), "w_norm"),
    (lambda: th.predicted_output_norm_large_init(1.0, 1.0, np.nan), "w0_norm"),
    (lambda: th.regime_of_init(1.0, 0.1, 0), "d"),
    (lambda: th.predict({"n": 1}, theory="nope"), "theory"),
])
def test_bad_input_names_parameter(call, name):
    with pytest.raises(ValueError, match=rf"(^|\W){name}="):
        call()


# ----------------------------------------------------------------------------- dynamics
@SETTINGS
@given(a=st.floats(1e-3, 10.0), w=st.floats(0.0, 10.0), ew=st.floats(1e-3, 1.0),
       ea=st.floats(1e-3, 1.0))
def test_predicted_ratio_inverts_conservation(a, w, ew, ea):
    q0 = th.conserved_quantity(a, w, ew, ea)
    assert q0 == pytest.approx(a**2 / ea - w**2 / ew)
    assert th.predicted_ratio(a, q0, ew, ea) == pytest.approx(w / a, rel=1e-6, abs=1e-6)
    # the ratio tends to the limiting ratio once a^2 >> |Q0|
    big = 1e4 * (1.0 + math.sqrt(abs(q0) * ea))
    assert th.predicted_ratio(big, q0, ew, ea) == pytest.approx(
        th.limiting_ratio(ew, ea), rel=1e-6)


@SETTINGS
@given(a0=st.floats(-5.0, 5.0), w0=st.floats(0.0, 5.0), w=st.floats(0.0, 5.0))
def test_output_norm_large_init_conserves_D(a0, w0, w):
    a = th.predicted_output_norm_large_init(a0, w, w0)
    if a0**2 + w**2 - w0**2 < 0:
        assert math.isnan(a)
    else:
        assert th.conserved_quantity(a, w) == pytest.approx(
            th.conserved_quantity(a0, w0), abs=1e-9)


def test_science_md_ratio_example():
    """docs/science.md, "Conservation law": sigma_0 = 0.01, d = 400, a(0) = 0.001 -> ratio near 1.25 later."""
    w0 = 0.01 * math.sqrt(400)
    d0 = 0.001**2 - w0**2
    a_late = 0.3
    r = th.predicted_ratio(a_late, d0)
    assert 1.1 < r < 1.4 and r == pytest.approx(math.sqrt(1 - d0 / a_late**2))
    assert th.regime_of_init(0.001, 0.01, 400) == "small"
    assert th.regime_of_init(1.0, 0.01, 400) == "large"
    assert list(th.regime_of_init(np.array([0.1, 0.3]), 0.01, 400)) == ["small", "large"]


# ----------------------------------------------------------------------------- predict
def test_predict_dataframe_matches_elementwise():
    df = pd.DataFrame({"n": [20, 20, 40], "d": [100, 900, 400], "mu_norm": [3.0, 1.0, 2.0],
                       "sigma_p": 1.0, "p": 0.1, "m": 10, "eta_w": 0.1,
                       "sigma_0": [0.01, np.nan, 0.01]}, index=[5, 6, 7])
    out = th.predict(df, "kou2023", C1=3.0)
    assert list(out.index) == [5, 6, 7]
    assert "cond_eta_small" in out and "cond_sigma_0_small" not in out  # NaN -> skipped
    for i, row in df.iterrows():
        one = th.kou2023(row.n, row.d, row.mu_norm, row.sigma_p, row.p, C1=3.0)
        assert out.loc[i, "phi"] == pytest.approx(one.phi)
        assert out.loc[i, "regime_theory"] == one.regime
    cao = th.predict(df.assign(q=3.0), "cao2022")  # snr derived from mu_norm
    snr = df.mu_norm / (df.sigma_p * np.sqrt(df.d))
    assert np.allclose(cao.phi, df.n * snr**3)
    with pytest.raises(ValueError, match="init_scale"):
        th.predict(df, "shang2024")


def test_predict_mapping_and_dataset():
    pred = th.predict({"n": 20, "d": 500, "mu_norm": 3.0, "sigma_p": 1.0, "p": 0.1})
    assert isinstance(pred, th.Prediction) and pred.regime == "benign"
    xr = pytest.importorskip("xarray")
    ds = xr.Dataset(coords={"mu_norm": [0.5, 3.0], "d": [100, 400, 900]},
                    attrs={"n": 20, "sigma_p": 1.0, "p": 0.1})
    out = th.predict(ds)
    assert out.phi.dims == ("mu_norm", "d")
    assert float(out.phi.sel(mu_norm=3.0, d=400)) == pytest.approx(20 * 81 / 400)


@SETTINGS
@given(mu=st.floats(0.01, 10.0), ang=st.floats(0.05, math.pi - 0.05))
def test_meng_uses_the_project_xor_patch_geometry(mu, ang):
    """The patches a+b and a-b of the project's XOR data, built here as vectors: their norms are what
    xor_patches says, they are orthogonal, and meng2024's phi uses the smaller one."""
    a = mu * np.array([1.0, 0.0])
    b = mu * np.array([math.cos(ang), math.sin(ang)])
    plus, minus = th.xor_patches(mu, ang)
    assert plus == pytest.approx(np.linalg.norm(a + b), rel=1e-9)
    assert minus == pytest.approx(np.linalg.norm(a - b), rel=1e-9)
    assert abs((a + b) @ (a - b)) <= 1e-9 * mu**2
    pred = th.meng2024(50, 400, mu, 1.0, 0.1, ang)
    assert pred.phi == pytest.approx(50 * min(plus, minus) ** 4 / 400, rel=1e-9)
    assert pred.conditions["paper_geometry"] == (abs(ang - math.pi / 2) < 1e-9)


def test_karhadkar_regimes_and_conditions():
    snr = np.array([0.01, 0.1, 1.0])
    pred = th.karhadkar2024(100, np.array([50, 100, 400]), snr, 0.1)
    assert list(pred.regime) == ["undetermined"] * 3  # thresholds unknown by default
    assert np.isnan(pred.lower).all() and np.isnan(pred.upper).all()
    assert list(pred.conditions["d_moderate"]) == [False, True, True]
    fitted = th.karhadkar2024(100, 400, snr, 0.1, C1=0.5, C3=0.05)
    assert list(fitted.regime) == ["harmful", "undetermined", "benign"]
    np.testing.assert_array_equal(fitted.phi, snr)
    with pytest.raises(ValueError, match="C3"):
        th.karhadkar2024(100, 400, 0.1, C1=0.1, C3=0.5)
    with pytest.raises(ValueError, match="snr"):
        th.karhadkar2024(100, 400, -0.1)
    assert all(math.isnan(x) for x in th.thresholds("karhadkar2024"))
