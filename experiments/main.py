"""The main job: how the output-layer init scale a0 moves the benign/harmful boundary of the two-layer
ReLU CNN when both layers are trained, beside the fixed-output model at a = a0.

Setting: n = 20, d = 300, m = 10, sigma_0 = 0.01 (so |w(0)| ~ sigma_0 sqrt(d) = 0.17), p = 0.1 label
noise, full-batch GD with eta = 0.1 on both layers, stopped at interpolation (zero training error;
at most 2000 steps). Grid: output init a(0) = a0 over 7 decades (1e-4 .. 1e2) x 9 SNRs
(0.12 .. 0.6) x 16 paired seeds (a seed fixes the data and the directions of W(0) for every a0 and
SNR). Beside it, for every a0, the fixed-output model whose output layer is frozen at a = a0.
A run is benign when its test error is <= p + 0.05; the boundary SNR*(a0) is the one boundary fit
of benign.analysis.fits (per-run logistic on log SNR, seed-jackknife CIs). Writes

    results/main/trainable/, results/main/fixed/   resumable sweeps (re-run to finish)
    results/main/init_scale.png                    the three-panel figure (--docs: also docs/figures/main_init_scale.png)
    experiments/data/main.nc, main_fixed.nc        copies of the results (experiments/report.py "main")

and prints SNR*(a0) for both models and the hidden/output norm ratio. About two minutes on a
2-core CPU (less when re-run: compiled programs are cached).

    python experiments/main.py [--out results/main] [--docs]
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import DATA, ROOT, compile_cache, parser

INIT = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
SNR = [round(float(s), 4) for s in np.geomspace(0.12, 0.6, 9)]
SEEDS = 16
FIXED: dict[str, Any] = dict(n=20, d=300, m=10, steps=2000, eta=0.1, sigma_0=0.01, p=0.1, n_checkpoints=10, stop="interpolation")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--out", type=Path, default=ROOT / "results" / "main", help="output directory (default results/main)")
    p.add_argument("--docs", action="store_true", help="also save the figure as docs/figures/main_init_scale.png")
    args = p.parse_args()
    from benign.run.sweep import sweep

    compile_cache(args)
    t0 = time.perf_counter()
    tr = sweep({"snr": SNR, "init_scale": INIT}, seeds=SEEDS, out=str(args.out / "trainable"),
               progress=not args.no_progress, **FIXED)
    fx = sweep({"snr": SNR, "output_value": INIT}, seeds=SEEDS, out=str(args.out / "fixed"),
               progress=not args.no_progress, train_output=False, **FIXED)
    print(f"sweeps {dict(tr.sizes)} + {dict(fx.sizes)} done in {time.perf_counter() - t0:.1f} s")
    fig = figure(tr, fx)
    png = args.out / "init_scale.png"
    fig.savefig(png, dpi=120)
    if args.docs:
        fig.savefig(ROOT / "docs" / "figures" / "main_init_scale.png", dpi=120)
    keep_copy(args.out)
    print(f"figure: {png}; total {time.perf_counter() - t0:.1f} s")


def figure(tr, fx):
    """(a) trainable test error over (a0, SNR) with the theory and SNR*(a0); (b) |w|/|a| versus a0
    with the conservation law; (c) SNR*(a0), trainable versus fixed output at a = a0."""
    import matplotlib.pyplot as plt

    from benign import plot as bp
    from benign.analysis import figure_fits
    from benign.analysis.init_scale import boundary_table, ratio_table
    from benign.theory import laws

    fits = figure_fits(tr, "kou2023")
    tab = boundary_table(tr, fx)
    fig, axes = plt.subplots(1, 3, figsize=(19, 6.4), constrained_layout=True)
    # the theory's default constants: the calibrated envelope of this grid has no benign side (C3 > C1)
    bp.heatmap(tr, "init_scale", "snr", ax=axes[0], boundary=fits.boundary, boundary_by=fits.by_init,
               theory=fits.theory, legend="below")
    axes[0].set_title(f"(a) trainable output: test error (mean of {tr.sizes['seed']} seeds)")
    rt = ratio_table(tr)
    ax = axes[1]
    a0 = rt["init_scale"].to_numpy(float)
    ax.errorbar(a0, rt["ratio_median"], yerr=[rt["ratio_median"] - rt["ratio_q25"], rt["ratio_q75"] - rt["ratio_median"]],
                fmt="o", color="C0", capsize=3, label=r"measured $|w|/|a|$ (median, IQR over runs)")
    ax.plot(a0, rt["ratio_predicted_median"], "x--", color="C3", label="conservation law from measured $|a|$ and $D$")
    s0d = FIXED["sigma_0"] * FIXED["d"] ** 0.5
    ax.plot(a0, s0d / a0, ":", color="0.4", label=r"no growth: $\sigma_0\sqrt{d}/a_0$")
    ax.axhline(float(laws.limiting_ratio(FIXED["eta"], FIXED["eta"])), color="k", lw=1,
               label=r"limit $\sqrt{\eta_w/\eta_a}$")
    ax.axvline(s0d, color="0.5", ls=":", lw=1.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("output init scale $a_0$")
    ax.set_ylabel(r"$|w|/|a|$ at the stop (ratio of mean norms)")
    ax.set_title("(b) hidden/output norm ratio at interpolation")
    ax.legend(fontsize=8, loc="lower left")
    series: dict[str, Any] = {"trainable output": tab[tab.model == "trainable"], "fixed output a = a0": tab[tab.model == "fixed"]}
    bp.boundary_vs_init(series,
                        init_line=s0d, ax=axes[2])
    axes[2].set_title("(c) boundary SNR* versus $a_0$")
    return fig


def keep_copy(out: Path) -> None:
    """Copy the results to experiments/data/main.nc, main_fixed.nc and refresh the "main" summary."""
    import report as numbers

    DATA.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "trainable" / "results.nc", DATA / "main.nc")
    shutil.copyfile(out / "fixed" / "results.nc", DATA / "main_fixed.nc")
    path = numbers.write("main")
    print(f"kept: experiments/data/main.nc, main_fixed.nc, {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
