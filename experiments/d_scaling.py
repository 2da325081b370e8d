"""The benign/harmful boundary at the theorems' own scale, d from 10^2 to 10^9.

Fixed-output ReLU model (the Kou et al. 2023 setting: label noise p = 0.1, orthogonal noise, m = 10
filters per class), with theorem-scaled hyper-parameters (:func:`benign.theorem_scaled`):
``sigma_0 = s0 / (sigma_p sqrt(d))`` and ``eta = e0 / (sigma_p^2 d)``, ``s0 = 0.01`` and
``e0 = 0.5 n m`` (a noise response moves by about 0.5 per step whatever n and d). Runs with
``d >= 8 (1 + n + 2m)`` draw their Gram matrices directly (``sampler='auto'``), so d = 10^9 costs
what d = 10^3 does. For each (n, d) the signal norm runs over a log grid centred on Kou's
``|mu| ~ sigma_p (d/n)^(1/4)``; ``benign.analysis.fit_scaling`` fits ``log |mu|*`` on ``log d`` and
``log n`` (cluster-jackknife intervals over seeds), on every run and on the runs with ``d >= 100 n^2``;
``benign.analysis.boundaries`` gives ``|mu|*`` per (n, d) and so the constant
``C = n |mu|*^4 / (sigma_p^4 d)``.

A control (``--control``: only it) runs n = 20, d = 10^9 at ``|mu| = 2 (d/n)^(1/4)`` for
``s0`` in {0.01, 0.001, 0.0001}, 6 seeds: the initial noise response ``s0`` against the learned signal
response, which shrinks like ``d^(-1/2)`` along the Kou boundary at a fixed number of steps.

    python experiments/d_scaling.py [--quick] [--control]

Writes ``experiments/data/d_scaling.csv`` (one row per run), ``experiments/data/d_scaling.json``
(fits, per-shape boundaries, wall time), ``experiments/data/d_scaling_control.json`` and
``docs/figures/d_scaling.png``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np
from _common import DATA, FIGURES, refresh_summaries

import benign
from benign import analysis

M, S0, STEPS = 10, 0.01, 600


def build_configs(quick: bool) -> list:
    ns = [10, 40] if quick else [10, 20, 50, 100]
    ds = [10**2, 10**5, 10**9] if quick else [10**k for k in (2, 3, 4, 5, 6, 7, 9)]
    cs = np.geomspace(0.4, 4.0, 6 if quick else 8)
    seeds = range(2 if quick else 3)
    cfgs = []
    for n, d in itertools.product(ns, ds):
        ts = benign.theorem_scaled(d, s0=S0, e0=0.5 * n * M)
        kw = {k: v for k, v in ts.items() if k not in ("s0", "e0")}
        for c, s in itertools.product(cs, seeds):
            cfgs.append(benign.make_config(mu_norm=float(c * (d / n) ** 0.25), n=n, m=M, p=0.1, train_output=False, steps=STEPS,
                                           n_checkpoints=2, n_mc=1024, sampler="auto", seed=s, **kw))
    return cfgs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smaller grid (about a minute)")
    ap.add_argument("--control", action="store_true", help="only the s0 control at d = 10^9 (about 30 s)")
    args = ap.parse_args()
    control()
    if args.control:
        return
    cfgs = build_configs(args.quick)
    t0 = time.perf_counter()
    results = benign.simulate_batch(cfgs, progress=False)
    elapsed = time.perf_counter() - t0
    df = analysis.to_frame(results)
    df = df.drop(columns=[c for c in df.columns if c == "mu_vec"])
    df["s0"], df["e0"] = S0, 0.5 * df["n"] * M
    interp = float(np.mean(df["train_error"] == 0))
    fits = {"all": analysis.fit_scaling(df, ("d", "n")),
            "d_ge_100n2": analysis.fit_scaling(df[df["d"] >= 100 * df["n"] ** 2], ("d", "n"))}
    bnd = analysis.boundaries(df, axis="mu_norm", by=["n", "d"])
    bnd["C"] = bnd["n"] * bnd["estimate"] ** 4 / bnd["d"]
    bnd["C_low"], bnd["C_high"] = bnd["n"] * bnd["ci_low"] ** 4 / bnd["d"], bnd["n"] * bnd["ci_high"] ** 4 / bnd["d"]
    bnd["d_over_n2"] = bnd["d"] / bnd["n"] ** 2
    DATA.mkdir(parents=True, exist_ok=True)
    df.to_csv(DATA / "d_scaling.csv", index=False)
    out = {"runs": len(df), "seconds": elapsed, "interpolated_fraction": interp, "quick": bool(args.quick),
           "s0": S0, "e0_per_nm": 0.5, "m": M, "steps": STEPS,
           "sampler_counts": {s: int(sum(benign.core.gram.resolve_sampler(c) == s for c in cfgs)) for s in ("gram", "explicit")},
           "fit": {k: v.reset_index().to_dict(orient="records") for k, v in fits.items()},
           "boundaries": bnd[["n", "d", "estimate", "ci_low", "ci_high", "C", "C_low", "C_high", "d_over_n2", "note"]].to_dict(orient="records")}
    (DATA / "d_scaling.json").write_text(json.dumps(out, indent=2, default=str))
    print(f"{len(df)} runs in {elapsed:.1f} s; fraction interpolating: {interp:.3f}")
    for k, v in fits.items():
        print(k, "\n", v.to_string())
    print(bnd[["n", "d", "estimate", "C", "C_low", "C_high", "d_over_n2"]].to_string())
    _plot(df, bnd)
    try:
        refresh_summaries("d_scaling.json", "d_scaling.csv")
    except Exception as e:  # noqa: BLE001 - the data is saved; the summary can be refreshed with report.py
        print(f"summary not refreshed: {e}")


def control() -> None:
    """Test error at d = 10^9, n = 20, |mu| = 2 (d/n)^(1/4) for three init fractions s0 (6 seeds each)."""
    n, d, x = 20, 10**9, 2.0
    rows = []
    t0 = time.perf_counter()
    for s0 in (0.01, 0.001, 0.0001):
        ts = benign.theorem_scaled(d, s0=s0, e0=0.5 * n * M)
        kw = {k: v for k, v in ts.items() if k not in ("s0", "e0")}
        rs = benign.simulate_batch([benign.make_config(mu_norm=x * (d / n) ** 0.25, n=n, m=M, p=0.1, train_output=False, steps=STEPS,
                                                       n_checkpoints=2, n_mc=1024, sampler="gram", seed=s, **kw) for s in range(6)],
                                   progress=False)
        rows.append({"s0": s0, "test_error": [r.test_error for r in rs], "train_error": [r.train_error for r in rs]})
        print(f"control s0={s0:g}: test error {np.round([r.test_error for r in rs], 3).tolist()}")
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "d_scaling_control.json").write_text(json.dumps({"n": n, "d": d, "x": x, "seconds": time.perf_counter() - t0, "rows": rows}, indent=2))


def _plot(df, bnd) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    x = df["mu_norm"] / (df["d"] / df["n"]) ** 0.25
    for (_n, d), g in df.assign(x=x).groupby(["n", "d"]):
        m = g.groupby("x")["test_error"].mean()
        ax0.plot(m.index, m.values, "-", lw=0.8, alpha=0.7, color=plt.cm.viridis(np.log10(d) / 9))
    ax0.set_xscale("log")
    ax0.axhline(0.1, color="k", ls=":", lw=1)
    ax0.set_xlabel(r"$|\mu| / (d/n)^{1/4}$")
    ax0.set_ylabel("test error (p = 0.1)")
    ax0.set_title("one curve per (n, d); colour: log10 d")
    for n, g in bnd.groupby("n"):
        ok = np.isfinite(g["C"])
        yerr = np.vstack([g["C"] - g["C_low"], g["C_high"] - g["C"]])[:, ok.to_numpy()]
        ax1.errorbar(g["d_over_n2"][ok], g["C"][ok], yerr=np.where(np.isfinite(yerr), yerr, 0), marker="o", ms=3, capsize=2, label=f"n={n}")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.axvline(1.0, color="k", ls=":", lw=1)
    ax1.set_xlabel(r"$d / n^2$")
    ax1.set_ylabel(r"$C = n |\mu|^{*4} / (\sigma_p^4 d)$")
    ax1.legend(fontsize=8)
    ax1.set_title("boundary constant (95% jackknife CI)")
    fig.tight_layout()
    FIGURES.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURES / "d_scaling.png", dpi=120)
    print(f"wrote {FIGURES / 'd_scaling.png'}")


if __name__ == "__main__":
    main()
