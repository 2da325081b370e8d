"""Numbers in the docs, regenerated from the saved experiment data.

Every measured number quoted in ``docs/*.md`` lives between two markers, with the sentence that
quotes it written once, as a template, inside the opening marker::

    <!-- numbers: n_mu
    The fitted boundary is `C = {C:.3g}` (exponent of n {compare.slope.n.slope:.2f}).
    -->

    The fitted boundary is `C = 5.51` (exponent of n -0.31).

    <!-- /numbers -->

``n_mu`` names the summary ``experiments/data/n_mu.summary.json``; the template is a Python format
string over that summary's ``values`` (dotted names reach into nested tables: ``{compare.slope.n.ci_low:.2f}``,
``{per_init.0.crossing:.3f}``, ``{by_init[0.001].ratio:.2f}``). The text between the markers is generated: never edit it by hand.

A summary is a small JSON file computed from saved data files only (``experiments/data/*.nc``,
``*.json``, ``*.csv``), never by re-running a simulation. It records the SHA-256 of every input, so a
stale summary is detected. The experiment scripts refresh their summaries when they save new data
(``_common.run`` calls :func:`refresh`).

    python experiments/report.py              # recompute every summary from the saved data, then rewrite the docs blocks
    python experiments/report.py --docs-only  # rewrite the docs blocks from the existing summaries
    python experiments/report.py --check      # exit 1 if a summary or a docs block is out of date (tests/test_docs.py)
    python experiments/report.py NAME ...     # recompute only these summaries (then rewrite the docs)

To add an experiment: write ``summarize_<name>()`` returning a dict of JSON-ready values, register it
in :data:`SUMMARIES` with the data files it reads, and quote its values in the docs through a block.
See ``docs/contributing.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

DATA = ROOT / "experiments" / "data"
DOCS = ROOT / "docs"
THRESHOLD = 0.2  # test-error level of the thresholded maps (the published threshold)

BLOCK = re.compile(r"<!-- numbers: (?P<name>[A-Za-z0-9_.-]+)(?P<template>.*?)-->\n(?P<body>.*?)<!-- /numbers -->", re.S)


# ------------------------------------------------------------------------------------------ summaries


@dataclass(frozen=True)
class Summary:
    """A registered summary: ``inputs`` (file names under experiments/data) and the function that reads them."""

    name: str
    inputs: tuple[str, ...]
    compute: Callable[[], dict[str, Any]]
    script: str


SUMMARIES: dict[str, Summary] = {}


def summary(name: str, inputs: Iterable[str], script: str):
    """Register ``fn`` as the summary ``name``, computed from ``inputs`` (files in experiments/data)."""

    def deco(fn: Callable[[], dict[str, Any]]):
        SUMMARIES[name] = Summary(name, tuple(inputs), fn, script)
        return fn

    return deco


def _open(name: str):
    import xarray as xr

    with xr.open_dataset(DATA / name) as ds:
        return ds.load()


def _cell_mean(ds, var: str = "test_error"):
    return ds[var].mean("seed") if "seed" in ds[var].dims else ds[var]


def _fitted_C(ds, phi) -> float:
    """The cut ``C`` on ``phi`` between cells with mean test error <= THRESHOLD and the rest (the dashed curve).

    The boundary fit of :func:`benign.analysis.fits.fit_boundary` on the thresholded per-cell map (cells
    as the independent units), so the number is the one the figures draw.
    """
    import numpy as np

    from benign.analysis.fits import fit_boundary

    err = _cell_mean(ds)
    phi, err = (np.asarray(a, float).ravel() for a in np.broadcast_arrays(np.asarray(phi, float), np.asarray(err, float)))
    ok = np.isfinite(err)
    return fit_boundary(phi[ok], err[ok] <= THRESHOLD, axis="phi", tol=THRESHOLD).estimate


def _crossing(x, err, level: float = THRESHOLD) -> float:
    """Where the per-cell mean test error ``err`` crosses ``level`` along ``x`` (same fit as :func:`_fitted_C`)."""
    import numpy as np

    from benign.analysis.fits import fit_boundary

    x, err = np.asarray(x, float).ravel(), np.asarray(err, float).ravel()
    ok = np.isfinite(err)
    return fit_boundary(x[ok], err[ok] <= level, tol=level).estimate


def _phi(ds):
    """Kou et al.'s Phi = n |mu|^4 / (sigma_p^4 d) per cell, from coordinates and attrs."""
    import xarray as xr

    def get(k):
        if k in ds.coords:
            return ds[k]
        if k in ds.attrs:
            return float(ds.attrs[k])
        if k == "mu_norm" and "snr" in ds.coords:
            return ds["snr"] * get("sigma_p") * math.sqrt(float(get("d")))
        raise KeyError(k)

    return xr.DataArray(get("n") * get("mu_norm") ** 4 / (get("sigma_p") ** 4 * get("d")))


def _compare(ds, theory: str | None = None) -> dict[str, Any]:
    """The headline numbers of benign.analysis.compare on ``ds`` (default settings, fixed bootstrap seed)."""
    from benign.analysis.compare import compare_dataset

    c = compare_dataset(ds, theory)
    conf = c.confusion
    out: dict[str, Any] = {
        "agreement": c.agreement,
        "n_compared": c.n_compared,
        "n_cells": len(c.table),
        "n_disagree": int(round(c.n_compared * (1 - c.agreement))) if c.n_compared else 0,
        "theory_benign_empirical_harmful": int(conf.loc["benign", "harmful"]) if "benign" in conf.index and "harmful" in conf.columns else 0,
        "theory_harmful_empirical_benign": int(conf.loc["harmful", "benign"]) if "harmful" in conf.index and "benign" in conf.columns else 0,
    }
    if c.boundary is not None:
        b = c.boundary
        out["phi_star"] = {"value": b.estimate, "ci_low": b.ci_low, "ci_high": b.ci_high}
    if c.dynamics is not None and len(c.dynamics) == 1:  # one (eta_w, eta_a, init_scale) group: medians over its runs
        r = c.dynamics.iloc[0]
        out["dynamics"] = {k: float(r[k]) for k in ("ratio", "ratio_predicted", "rel_err_median", "rel_err_max", "drift_max") if k in r}
    if c.scaling is not None and not c.scaling.empty:
        out["slope"] = {v: {"slope": r.slope, "ci_low": r.ci_low, "ci_high": r.ci_high} for v, r in c.scaling.iterrows()}
    return out


def _range(values) -> dict[str, float]:
    import numpy as np

    v = np.asarray(values, float)
    return {"min": float(np.nanmin(v)), "max": float(np.nanmax(v))}


@summary("kou2023", ["kou2023.nc"], "python experiments/kou_heatmap.py --full")
def summarize_kou2023() -> dict[str, Any]:
    """The published heat map (100 x 100 cells, 10 seeds)."""
    ds = _open("kou2023.nc")
    n = float(ds.attrs["n"])
    C = _fitted_C(ds, ds["phi"] if "phi" in ds else _phi(ds))
    err = _cell_mean(ds)
    return {
        "runs": int(ds["test_error"].size),
        "C": C,
        "mu_crit_d100": (C * 100 / n) ** 0.25,
        "mu_crit_d1000": (C * 1000 / n) ** 0.25,
        "interpolated_fraction": float((ds["train_error"] == 0).mean()),
        "test_error_at_mu0": float(err.sel(mu_norm=0.0).mean()),
        "mu_max": float(ds["mu_norm"].max()),
        "test_error_at_mu_max": float(err.sel(mu_norm=float(ds["mu_norm"].max())).mean()),
        "compare": _compare(ds, "kou2023"),
        "d_values": {"min": int(ds["d"].min()), "max": int(ds["d"].max()), "count": int(ds.sizes["d"])},
        "level_slopes": _level_slopes(ds, err),
    }


def _level_slopes(ds, err) -> dict[str, dict[str, float]]:
    """Least-squares slope of log |mu|* on log d, |mu|* the crossing of the per-cell mean error at a level.

    For the levels 0.15, 0.2, 0.25 and two ranges of ``d``: all of it, and ``d >= n^2``.
    """
    import numpy as np

    d = np.asarray(ds["d"].values, float)
    mu = np.asarray(ds["mu_norm"].values, float)
    n = float(ds.attrs["n"])
    out: dict[str, dict[str, float]] = {}
    for level in (0.15, 0.2, 0.25):
        star = np.array([_crossing(mu[mu > 0], err.sel(d=di).values[mu > 0], level) for di in ds["d"].values])
        row = {}
        for name, keep in (("all", d > 0), ("d_ge_n2", d >= n * n)):
            k = keep & np.isfinite(star)
            row[name] = float(np.polyfit(np.log(d[k]), np.log(star[k]), 1)[0])
        out[f"e{round(level * 100)}"] = row
    return out


@summary("n_mu", ["n_mu.nc"], "python experiments/n_mu.py")
def summarize_n_mu() -> dict[str, Any]:
    """n x |mu| map of the Kou et al. network at d = 400."""
    ds = _open("n_mu.nc")
    C = _fitted_C(ds, _phi(ds))
    d = float(ds.attrs["d"])
    n_lo, n_hi = int(ds["n"].min()), int(ds["n"].max())
    return {
        "runs": int(ds["test_error"].size),
        "C": C,
        "n_min": n_lo,
        "n_max": n_hi,
        "mu_crit_n_min": (C * d / n_lo) ** 0.25,
        "mu_crit_n_max": (C * d / n_hi) ** 0.25,
        "compare": _compare(ds, "kou2023"),
    }


@summary("scaling_fit", ["scaling_fit.json", "scaling_fit.csv"], "python experiments/scaling_fit.py")
def summarize_scaling_fit() -> dict[str, Any]:
    """The joint fit of the boundary's exponents in d, n and sigma_p (saved by the script)."""
    import pandas as pd

    raw = json.loads((DATA / "scaling_fit.json").read_text())
    runs = pd.read_csv(DATA / "scaling_fit.csv")
    slope = {r["variable"]: {k: r[k] for k in ("slope", "ci_low", "ci_high", "kou2023", "cao2022", "kou2023_in_ci", "cao2022_in_ci")}
             for r in raw["fit"]}
    return {
        "runs": int(raw["runs"]),
        "runs_in_csv": len(runs),
        "interpolated_fraction": float(raw["interpolated_fraction"]),
        "seconds": float(raw["seconds"]),
        "slope": slope,
        "n_values": sorted(int(v) for v in runs["n"].unique()),
        "d_values": sorted(int(v) for v in runs["d"].unique()),
        "sigma_p_values": sorted(float(v) for v in runs["sigma_p"].unique()),
        "factor": {k: float(runs[k].max() / runs[k].min()) for k in ("d", "n", "sigma_p")},
    }


def _fixed_frame(fx):
    """The fixed-output runs, one row per run, with the output value as ``init_scale``."""
    from benign.analysis.compare import to_frame

    return to_frame(fx).drop(columns=["init_scale"], errors="ignore").rename(columns={"output_value": "init_scale"})


@summary("main", ["main.nc", "main_fixed.nc"], "python experiments/main.py --docs")
def summarize_main() -> dict[str, Any]:
    """The main job: SNR x output init scale a0 for the trainable network, beside the fixed-output network at a = a0."""
    import numpy as np

    from benign.analysis.compare import cell_table, to_frame
    from benign.analysis.init_scale import boundary_shift, boundary_table, fit_init_scale, ratio_table
    from benign.theory import laws

    tr, fx = _open("main.nc"), _open("main_fixed.nc")
    d, s0 = int(tr.attrs["d"]), float(tr.attrs["sigma_0"])
    tab = boundary_table(tr, fx)
    rt = ratio_table(tr).set_index("init_scale")
    cells = cell_table(to_frame(tr))
    by_init: dict[str, Any] = {}
    for r in tab[tab.model == "trainable"].itertuples():
        f = tab[(tab.model == "fixed") & (tab.init_scale == r.init_scale)].iloc[0]
        rr = rt.loc[r.init_scale]
        by_init[f"{r.init_scale:g}"] = {
            "snr_star": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high, "frac_benign": r.frac_benign,
            "fixed_snr_star": float(f.estimate), "fixed_ci_low": float(f.ci_low), "fixed_ci_high": float(f.ci_high),
            "ratio_to_fixed": math.exp(r.log_ratio_fixed), "ratio_to_fixed_low": math.exp(r.log_ratio_low),
            "ratio_to_fixed_high": math.exp(r.log_ratio_high),
            "norm_ratio": float(rr.ratio_median), "norm_ratio_q25": float(rr.ratio_q25), "norm_ratio_q75": float(rr.ratio_q75),
            "norm_ratio_law": float(rr.ratio_predicted_median), "law_rel_err": float(rr.ratio_rel_err_median),
            "a_norm": float(rr.a_norm_median), "w_norm": float(rr.w_norm_median),
            "steps_median": float(tr["steps_to_interpolation"].sel(init_scale=r.init_scale).median()),
            "fixed_steps_median": float(fx["steps_to_interpolation"].sel(output_value=r.init_scale).median()),
            "eta_eff": float(laws.fixed_output_equivalent(r.init_scale, float(tr.attrs["eta_w"]), s0, target=1.0 / int(tr.attrs["m"]))[0]),
            "sigma_0_eff": float(laws.fixed_output_equivalent(r.init_scale, float(tr.attrs["eta_w"]), s0, target=1.0 / int(tr.attrs["m"]))[1]),
        }
    lo, hi = min(by_init, key=float), max(by_init, key=float)
    small = tab[(tab.model == "trainable") & (tab.init_scale < s0 * math.sqrt(d))]
    large = tab[(tab.model == "trainable") & (tab.init_scale > s0 * math.sqrt(d))]
    return {
        "runs": int(tr["test_error"].size), "runs_fixed": int(fx["test_error"].size), "seeds": int(tr.sizes["seed"]),
        "d": d, "n": int(tr.attrs["n"]), "m": int(tr.attrs["m"]), "sigma_0": s0, "init_split": s0 * math.sqrt(d),
        "init_min": float(lo), "init_max": float(hi), "steps_cap": int(tr.attrs["steps"]),
        "snr_min": float(tr["snr"].min()), "snr_max": float(tr["snr"].max()),
        "by_init": by_init,
        "small_snr_star": _range(small["estimate"]), "large_snr_star": _range(large["estimate"]),
        "fit": fit_init_scale(tr, sigma_0=s0, d=d),
        "shift_1e-2_10": boundary_shift(tr, 1e-2, 10.0),
        "shift_small_large": boundary_shift(tr, small["init_scale"].to_numpy(), large["init_scale"].to_numpy()),
        "shift_fixed_small_large": boundary_shift(_fixed_frame(fx), small["init_scale"].to_numpy(), large["init_scale"].to_numpy()),
        "interpolated_fraction": float((tr["train_error"] == 0).mean()),
        "large_two_step_fraction": float((tr["steps_to_interpolation"].sel(init_scale=large["init_scale"].to_numpy()).isin([1, 2])).mean()),
        "fixed_interpolated_fraction": float((fx["train_error"] == 0).mean()),
        "diverged": int(tr["diverged"].sum() + fx["diverged"].sum()),
        "drift_median": float(np.nanmedian(tr["conserved_drift"])), "drift_max": float(np.nanmax(tr["conserved_drift"])),
        "cell_iqr_max": float(cells["test_error_iqr"].max()),
        "cells_mixed": int(((cells["frac_benign"] > 0) & (cells["frac_benign"] < 1)).sum()), "cells": len(cells),
    }


@summary("init_scale", ["init_scale.nc", "init_scale_dynamics.nc"], "python experiments/init_scale.py")
def summarize_init_scale() -> dict[str, Any]:
    """Controls of the main job (step matched across a0; a0 * sigma_0 fixed) and the layer dynamics."""
    import numpy as np

    from benign.analysis.init_scale import boundary_table

    ctrl, dyn = _open("init_scale.nc"), _open("init_scale_dynamics.nc")
    out: dict[str, Any] = {"seeds": int(ctrl.sizes["seed"]), "snr_max": float(ctrl["snr"].max())}
    for variant in ctrl["variant"].values:
        sub = ctrl.sel(variant=variant).dropna("init_scale", how="all")
        tab = boundary_table(sub).set_index("init_scale")
        rows = {}
        for a0 in sub["init_scale"].values:
            one, r = sub.sel(init_scale=a0), tab.loc[float(a0)]
            rows[f"{float(a0):g}"] = {
                "snr_star": float(r.estimate), "ci_low": float(r.ci_low), "ci_high": float(r.ci_high),
                "frac_benign": float(r.frac_benign), "eta": float(one["eta"]), "sigma_0": float(one["sigma_0"]),
                "drift_max": float(np.nanmax(one["conserved_drift"])), "steps_median": float(one["steps_to_interpolation"].median()),
                "err_top_snr": float(one["test_error"].sel(snr=float(sub["snr"].max())).median()),
                "interpolated_fraction": float((one["train_error"] == 0).mean()),
            }
        out[str(variant)] = rows
    out["step_matched_drift_max"] = max(r["drift_max"] for r in out["step_matched"].values())
    steps = np.asarray(dyn["step"].values)
    dd: dict[str, Any] = {}
    for a0 in dyn["init_scale"].values:
        med = dyn.sel(init_scale=a0).median("seed")
        D = float(med["D_mean"].isel(step=0))
        interp = int(steps[np.argmax(med["train_error"].values == 0)])
        row = {"D": D, "interp_step": interp, "a_final": float(med["a_norm"].isel(step=-1)), "w_final": float(med["w_norm"].isel(step=-1)),
               "ratio_final": float(med["ratio"].isel(step=-1)), "ratio_law_final": math.sqrt(max(0.0, 1.0 - D / float(med["a_norm"].isel(step=-1)) ** 2)),
               "test_error_at_interp": float(med["test_error"].sel(step=interp)), "test_error_final": float(med["test_error"].isel(step=-1)),
               "a_growth": float(med["a_norm"].isel(step=-1)) / float(a0)}
        r = med["ratio"].values
        if D < 0 and np.any(r <= 1.5):
            k = int(np.argmax(r <= 1.5))
            row |= {"settle_step": int(steps[k]), "settle_a": float(med["a_norm"].isel(step=k)),
                    "settle_a_law": math.sqrt(-D / (1.5**2 - 1))}
        dd[f"{float(a0):g}"] = row
    out["dynamics"] = dd
    if "lambda_max" in dyn:  # largest |Hessian eigenvalue| at init, per a0 of the main job
        lam = dyn["lambda_max"].median("seed_h")
        eta_main = float(dyn.attrs["eta"])
        s2 = float(dyn.attrs["sigma_0"]) ** 2 * float(dyn.attrs["d"])
        out["curvature"] = {f"{float(a0):g}": {
            "lambda_max": float(v), "lambda_min_seed": float(dyn["lambda_max"].sel(init_scale_h=a0).min()),
            "lambda_max_seed": float(dyn["lambda_max"].sel(init_scale_h=a0).max()),
            "eta_lambda_main": eta_main * float(v), "eta_lambda_matched": eta_main * min(1.0, s2 / float(a0) ** 2) * float(v)}
            for a0, v in zip(lam["init_scale_h"].values, lam.values)}
    out["dyn_snr"], out["dyn_steps"], out["dyn_seeds"] = float(dyn.attrs["snr"]), int(steps[-1]), int(dyn.sizes["seed"])
    return out


@summary("init_scale_paired", ["init_scale_paired.nc"], "python experiments/init_scale.py --paired-only")
def summarize_init_scale_paired() -> dict[str, Any]:
    """Paired a0 = 1e-2 versus a0 = 10 on a fine SNR grid with many seeds: SNR* per a0 and model, the
    paired ratio SNR*(10)/SNR*(1e-2) per model, and the trainable/fixed ratio per a0."""
    import numpy as np

    from benign.analysis.fits import is_benign
    from benign.analysis.init_scale import boundary_shift, boundary_table

    ds = _open("init_scale_paired.nc")
    p = float(ds.attrs["p"])
    small, large = (float(v) for v in ds["init_scale"].values)
    tr, fx = ds.sel(model="trainable", drop=True), ds.sel(model="fixed", drop=True)
    tab = boundary_table(tr, fx, fixed_init="init_scale")
    out: dict[str, Any] = {"seeds": int(ds.sizes["seed"]), "snrs": int(ds.sizes["snr"]), "runs": int(ds["test_error"].size),
                           "snr_min": float(ds["snr"].min()), "snr_max": float(ds["snr"].max()), "small": small, "large": large,
                           "diverged": int(ds["diverged"].sum()), "interpolated_fraction": float((ds["train_error"] == 0).mean()),
                           "eta_eff_small": float(ds.attrs["eta"]) * (int(ds.attrs["m"]) * small) ** 2}
    for model, one in (("trainable", tr), ("fixed", fx)):
        top = one["test_error"].sel(snr=float(ds["snr"].max()))
        sh = boundary_shift(one, small, large)
        sh["log_half_width"] = 0.5 * math.log(sh["ratio_high"] / sh["ratio_low"])
        sh["reduction"] = 1.0 - sh["ratio"]
        rows = {}
        for a0 in (small, large):
            r = tab[(tab.model == model) & (tab.init_scale == a0)].iloc[0]
            rows[f"{a0:g}"] = {"snr_star": float(r.estimate), "ci_low": float(r.ci_low), "ci_high": float(r.ci_high),
                               "frac_benign": float(r.frac_benign),
                               "steps_median": float(one["steps_to_interpolation"].sel(init_scale=a0).median()),
                               "interpolated_fraction": float((one["train_error"].sel(init_scale=a0) == 0).mean()),
                               "interpolated_fraction_min_snr": float((one["train_error"].sel(init_scale=a0) == 0).mean("seed").min()),
                               "frac_benign_top_snr": float(np.nanmean(is_benign(top.sel(init_scale=a0), p)))}
            if model == "trainable":
                rows[f"{a0:g}"] |= {"ratio_to_fixed": math.exp(r.log_ratio_fixed), "ratio_to_fixed_low": math.exp(r.log_ratio_low),
                                    "ratio_to_fixed_high": math.exp(r.log_ratio_high)}
        out[model] = {"shift": sh, "by_init": rows}
    return out


def _slopes(ds, variables, q=None) -> dict[str, Any]:
    """fit_scaling slopes of log |mu|_crit per variable, with CIs and the theories' values."""
    from benign.analysis import fit_scaling

    tab = fit_scaling(ds.drop_dims("step") if "step" in ds.dims else ds, variables, q=q)
    return {str(v): {"slope": float(r.slope), "ci_low": float(r.ci_low), "ci_high": float(r.ci_high), "kou2023": float(r.kou2023),
                     "cao2022": float(r.cao2022)} for v, r in tab.iterrows()}


@summary("xor", ["xor.nc"], "python experiments/xor.py")
def summarize_xor() -> dict[str, Any]:
    """XOR phase diagram over n x |a|: boundary on phi (meng2024) and the n exponent of |a|_crit."""
    from benign.analysis import is_benign

    ds = _open("xor.nc")
    ben = is_benign(ds["test_error"].values, float(ds.attrs["p"]))
    n_min = int(ds["n"].min())
    return {
        "runs": int(ds["test_error"].size),
        "benign_runs": int(ben.sum()),
        "n_min": n_min,
        "n_max": int(ds["n"].max()),
        "mu_min": float(ds["mu_norm"].min()),
        "mu_max": float(ds["mu_norm"].max()),
        "benign_runs_at_n_min": int(is_benign(ds["test_error"].sel(n=n_min).values, float(ds.attrs["p"])).sum()),
        "compare": _compare(ds, "meng2024"),
        "slope_all": _slopes(ds, ("n",)),
        "slope_without_n_min": _slopes(ds.sel(n=ds["n"].values[1:]), ("n",)),
    }


@summary("relu_q", ["relu_q.nc"], "python experiments/relu_q.py")
def summarize_relu_q() -> dict[str, Any]:
    """ReLU^3: d and n exponents of |mu|_crit, fixed and trainable output."""
    ds = _open("relu_q.nc")
    div = ds["diverged"].astype(bool)
    out: dict[str, Any] = {"runs": int(ds["test_error"].size), "diverged": int(div.sum()),
                           "diverged_fixed": int(div.sel(train_output=False).sum()), "diverged_trainable": int(div.sel(train_output=True).sum()),
                           "diverged_at_d_max": int(div.sel(d=ds["d"].max()).sum()), "d_max": int(ds["d"].max()),
                           "diverged_step_max": int(ds["diverged_step"].where(div).max()) if bool(div.any()) else -1,
                           "interpolated_fraction": float((ds["train_error"] == 0).mean())}
    for to in (False, True):
        sub = ds.sel(train_output=to)
        out["trainable" if to else "fixed"] = _slopes(sub, ("d", "n"), q=float(ds.attrs["q"]))
    return out


@summary("leaky_hinge", ["leaky_hinge.nc", "leaky_hinge_timing.json"], "python experiments/leaky_hinge.py")
def summarize_leaky_hinge() -> dict[str, Any]:
    """Leaky ReLU + hinge at d ~ n: SNR boundary per d, interpolation, and the timing of the 550-run grid."""
    from benign.analysis import boundaries

    ds = _open("leaky_hinge.nc")
    timing = json.loads((DATA / "leaky_hinge_timing.json").read_text())
    b = boundaries(ds, "snr", "d")
    mean = _cell_mean(ds)
    p = float(ds.attrs["p"])
    return {
        "runs": int(ds["test_error"].size),
        "wall_s": float(timing["wall_s"]),
        "runs_per_s": int(ds["test_error"].size) / float(timing["wall_s"]),
        "paper_runs_per_s": 550 / (46 * 60),
        "interpolated_fraction": float((ds["steps_to_interpolation"] >= 0).mean()),
        "max_steps_to_interpolation": int(ds["steps_to_interpolation"].max()),
        "boundary_snr": {str(int(r.d)): {"estimate": float(r.estimate), "ci_low": float(r.ci_low), "ci_high": float(r.ci_high)}
                         for r in b.itertuples()},
        "error_at_snr_max": {str(int(d)): float(mean.sel(d=d).isel(snr=-1)) for d in ds["d"].values},
        "error_at_snr_min": {str(int(d)): float(mean.sel(d=d).isel(snr=0)) for d in ds["d"].values},
        "p": p,
    }


@summary("early_stopping", ["early_stopping.nc"], "python experiments/early_stopping.py")
def summarize_early_stopping() -> dict[str, Any]:
    """Best checkpoint versus last step across the boundary."""
    import numpy as np

    import benign
    from benign.analysis import BENIGN_TOL

    ds = _open("early_stopping.nc")
    best = benign.best_step(ds)
    p = float(ds.attrs["p"])
    harmful_end = best["final_test_error"] > p + BENIGN_TOL
    rescued = harmful_end & (best["best_test_error"] <= p + BENIGN_TOL)
    per = {}
    for s in ds["snr"].values:
        b = best.sel(snr=s)
        per[f"{float(s):g}"] = {"final": float(b["final_test_error"].mean()), "best": float(b["best_test_error"].mean()),
                                "best_step_median": float(np.median(b["best_step"].values)),
                                "harmful_end": int(harmful_end.sel(snr=s).sum()), "benign_on_the_way": int(rescued.sel(snr=s).sum())}
    return {
        "runs": int(best["best_step"].size),
        "harmful_end": int(harmful_end.sum()),
        "benign_on_the_way": int(rescued.sum()),
        "best_minus_final_max": float((best["final_test_error"] - best["best_test_error"]).max()),
        "per_snr": per,
        "steps": int(ds["step"].max()),
    }


@summary("own_data", ["own_data.json"], "python experiments/own_data.py")
def summarize_own_data() -> dict[str, Any]:
    """Own-data runs: the reproduction contract and the Student-t data set's test error per signal norm."""
    import numpy as np

    doc = json.loads((DATA / "own_data.json").read_text())
    mus = sorted({r["mu"] for r in doc["runs"]})
    per = {f"{m:g}": float(np.mean([r["test_error"] for r in doc["runs"] if r["mu"] == m])) for m in mus}
    return {"contract": doc["contract"], "test_error": per, "runs": len(doc["runs"]), "p": doc["p"], "n": doc["n"], "d": doc["d"],
            "interpolated_fraction": float(np.mean([r["train_error"] == 0 for r in doc["runs"]])), "mu_min": mus[0], "mu_max": mus[-1]}


# ------------------------------------------------------------------------------------------ files


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _jsonable(x: Any) -> Any:
    """Plain JSON values: numpy scalars as numbers, non-finite floats as None, keys as strings."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items() if not str(k).startswith("_")}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    return x


def summary_path(name: str) -> Path:
    return DATA / f"{name}.summary.json"


def compute(name: str) -> dict[str, Any]:
    """Compute summary ``name`` from its saved inputs (a dict: ``name``, ``script``, ``inputs`` hashes, ``values``)."""
    s = SUMMARIES[name]
    missing = [f for f in s.inputs if not (DATA / f).exists()]
    if missing:
        raise FileNotFoundError(f"summary {name!r} needs {missing} in experiments/data (run: {s.script})")
    return {
        "name": name,
        "script": s.script,
        "generated_by": f"python experiments/report.py {name}",
        "inputs": {f"experiments/data/{f}": _sha256(DATA / f) for f in s.inputs},
        "values": _jsonable(s.compute()),
    }


def write(name: str) -> Path:
    """Compute summary ``name`` and save it as experiments/data/NAME.summary.json."""
    path = summary_path(name)
    path.write_text(json.dumps(compute(name), indent=1, allow_nan=False) + "\n")
    return path


def save_summary(name: str, values: dict[str, Any], inputs: Iterable[str | Path] = (), script: str = "") -> Path:
    """Save a summary that a script computed itself (for experiments that do not register here).

    ``inputs``: the saved data files it came from (their hashes are recorded and checked).
    """
    paths = [Path(p) if Path(p).is_absolute() else DATA / p for p in inputs]
    doc = {"name": name, "script": script, "generated_by": script,
           "inputs": {str(p.relative_to(ROOT)): _sha256(p) for p in paths}, "values": _jsonable(values)}
    path = summary_path(name)
    path.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return path


def refresh(changed: Iterable[str]) -> list[Path]:
    """Recompute every registered summary that reads one of the ``changed`` data files (names or
    stems, e.g. ``"n_mu"`` or ``"n_mu.nc"``) and whose inputs all exist. Returns the files written."""
    changed = {Path(c).name for c in changed} | {Path(c).stem for c in changed}
    out = []
    for s in SUMMARIES.values():
        if any(f in changed or Path(f).stem in changed for f in s.inputs) and all((DATA / f).exists() for f in s.inputs):
            out.append(write(s.name))
    return out


def load(name: str) -> dict[str, Any]:
    path = summary_path(name)
    if not path.exists():
        raise FileNotFoundError(f"no summary {path.relative_to(ROOT)}; run: python experiments/report.py {name}")
    return json.loads(path.read_text())


# ------------------------------------------------------------------------------------------ docs


class _View:
    """Read-only view of a JSON value for str.format: ``{a.b.0.c}`` and ``{a[b]}`` both work."""

    def __init__(self, value: Any):
        self._v = value

    def __getattr__(self, key: str) -> Any:
        return self[key]

    def __getitem__(self, key: Any) -> Any:
        v = self._v
        if isinstance(v, list):
            item = v[int(key)]
        elif isinstance(v, dict):
            key = key if key in v else str(key)
            if key not in v:
                raise KeyError(f"{key!r} (available: {sorted(v)})")
            item = v[key]
        else:
            raise KeyError(key)
        return _View(item) if isinstance(item, (dict, list)) else item

    def __format__(self, spec: str) -> str:
        return format(self._v, spec)


def render(template: str, values: dict[str, Any]) -> str:
    """Fill ``template`` (Python format syntax, dotted names) with a summary's values."""
    view = _View(values)
    return template.format_map({k: view[k] for k in values})


FENCE = re.compile(r"^[ \t]*```.*?^[ \t]*```", re.S | re.M)


def _in_fence(text: str, pos: int) -> bool:
    """Whether ``pos`` lies inside a fenced code block (examples of the syntax are left alone)."""
    return any(f.start() <= pos < f.end() for f in FENCE.finditer(text))


def _blocks(text: str):
    return [m for m in BLOCK.finditer(text) if not _in_fence(text, m.start())]


def regenerate(text: str, where: str = "") -> str:
    """``text`` with every numbers block rendered from its summary."""

    def sub(m: re.Match) -> str:
        if _in_fence(text, m.start()):
            return m.group(0)
        name, template = m["name"], m["template"]
        if not template.strip():
            raise ValueError(f"{where}: numbers block {name!r} has no template")
        body = template.strip("\n")
        try:
            rendered = render(body, load(name)["values"])
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise ValueError(f"{where}: numbers block {name!r}: {e}") from None
        return f"<!-- numbers: {name}{template}-->\n\n{rendered}\n\n<!-- /numbers -->"

    return BLOCK.sub(sub, text)


def doc_files() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def stale_summaries() -> list[str]:
    """Summaries whose recorded input hashes differ from the saved files (or that are missing)."""
    out = []
    for path in sorted(DATA.glob("*.summary.json")):
        doc = json.loads(path.read_text())
        for rel, digest in doc.get("inputs", {}).items():
            f = ROOT / rel
            if not f.exists() or _sha256(f) != digest:
                out.append(f"{path.relative_to(ROOT)}: input {rel} changed or missing (run: python experiments/report.py {doc['name']})")
    for path in doc_files():
        for m in _blocks(path.read_text()):
            if not summary_path(m["name"]).exists():
                out.append(f"{path.relative_to(ROOT)}: block {m['name']!r} has no summary {summary_path(m['name']).relative_to(ROOT)}")
    return out


def out_of_date_docs() -> list[str]:
    """Docs files whose numbers blocks differ from what their summaries render."""
    out = []
    for path in doc_files():
        text = path.read_text()
        if _blocks(text) and regenerate(text, str(path.relative_to(ROOT))) != text:
            out.append(str(path.relative_to(ROOT)))
    return out


def write_docs() -> list[Path]:
    changed = []
    for path in doc_files():
        text = path.read_text()
        if not _blocks(text):
            continue
        new = regenerate(text, str(path.relative_to(ROOT)))
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


@summary("d_scaling", ["d_scaling.json", "d_scaling.csv", "d_scaling_control.json"], "python experiments/d_scaling.py")
def summarize_d_scaling() -> dict[str, Any]:
    """The boundary from d = 10^2 to 10^9 at theorem-scaled hyper-parameters (saved by the script)."""
    import numpy as np
    import pandas as pd

    raw = json.loads((DATA / "d_scaling.json").read_text())
    runs = pd.read_csv(DATA / "d_scaling.csv")
    keys = ("slope", "ci_low", "ci_high", "kou2023", "kou2023_in_ci")
    fit = {name: {r["variable"]: {k: r[k] for k in keys} for r in rows} for name, rows in raw["fit"].items()}
    bnd = pd.DataFrame(raw["boundaries"])
    far = bnd[(bnd["d_over_n2"] >= 100) & np.isfinite(bnd["C"])]
    near = bnd[(bnd["d_over_n2"] < 100) & np.isfinite(bnd["C"])]
    return {
        "runs": int(raw["runs"]), "runs_in_csv": len(runs), "seconds": float(raw["seconds"]),
        "interpolated_fraction": float(raw["interpolated_fraction"]), "sampler_counts": raw["sampler_counts"],
        "n_values": sorted(int(v) for v in runs["n"].unique()), "d_values": sorted(int(v) for v in runs["d"].unique()),
        "fit_all": fit["all"], "fit_far": fit["d_ge_100n2"],
        "C_far": {"min": float(far["C"].min()), "max": float(far["C"].max()), "median": float(far["C"].median()), "cells": len(far)},
        "C_near": {"min": float(near["C"].min()), "max": float(near["C"].max()), "median": float(near["C"].median()), "cells": len(near)},
        "C_by_n_far": {str(int(n)): float(g["C"].median()) for n, g in far.groupby("n")},
        "C_by_d_text": ", ".join(f"d = 10^{round(math.log10(d))}: {g['C'].median():.2g}" for d, g in bnd[np.isfinite(bnd["C"])].groupby("d")),
        "C_below_top": _range(bnd[np.isfinite(bnd["C"]) & (bnd["d"] < bnd["d"].max())].groupby("d")["C"].median()),
        "mu_grid_factor": float(np.exp(np.median(np.diff(np.unique(np.round(np.log(runs["mu_norm"] / (runs["d"] / runs["n"]) ** 0.25), 6)))))),
        "C_top": float(bnd[np.isfinite(bnd["C"]) & (bnd["d"] == bnd["d"].max())]["C"].median()),
        "control_text": ", ".join(f"{np.mean(r['test_error']):.3f} at s0 = {r['s0']:g}"
                                  for r in json.loads((DATA / "d_scaling_control.json").read_text())["rows"]),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("names", nargs="*", help=f"summaries to recompute (default: all of {sorted(SUMMARIES)})")
    p.add_argument("--docs-only", action="store_true", help="do not recompute summaries; only rewrite the docs blocks")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a summary or docs block is out of date")
    args = p.parse_args(argv)
    if args.check:
        problems = stale_summaries() + [f"{f}: numbers blocks out of date (run: python experiments/report.py --docs-only)" for f in out_of_date_docs()]
        for line in problems:
            print(line, file=sys.stderr)
        print("docs numbers: " + ("out of date" if problems else "in sync with experiments/data"))
        return 1 if problems else 0
    if not args.docs_only:
        unknown = sorted(set(args.names) - set(SUMMARIES))
        if unknown:
            p.error(f"unknown summaries {unknown}; registered: {sorted(SUMMARIES)}")
        for name in args.names or sorted(SUMMARIES):
            try:
                print(f"summary: {write(name).relative_to(ROOT)}")
            except FileNotFoundError as e:
                print(f"summary {name}: skipped ({e})", file=sys.stderr)
    for path in write_docs():
        print(f"docs: {path.relative_to(ROOT)} updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
