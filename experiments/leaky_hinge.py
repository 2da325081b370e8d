"""Leaky ReLU with hinge loss, trained to zero training error, at input dimension of order n (the setting of
Karhadkar, George, Murray, Montufar, Needell 2024).

Their claim: with d of order n (not n^2 log n), high SNR gives benign overfitting and low SNR harmful
overfitting. Preset: leaky ReLU (slope 0.1), hinge loss, fixed output layer 1/m, m = 10, n = 50, label flips
p = 0.1, sigma_0 = 0.01, GD with eta = 1 stopped at the first step with zero training error
(stop='interpolation', at most 5000 steps); d in {25, 50, 100, 200, 400} (d/n from 1/2 to 8), 11 SNR values,
10 seeds: 550 runs, the size of the grid the paper's code ran. The script times the whole sweep (compile
included) and saves the timing beside the data.

    python experiments/leaky_hinge.py      # about a minute on 2 CPU cores
"""

from __future__ import annotations

import json
import os
import platform
import time
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from _common import DATA, WORK, parser, refresh_summaries, run, save

from benign import plot as bp

D = [25, 50, 100, 200, 400]
SNR = [round(float(s), 4) for s in np.geomspace(0.02, 1.0, 11)]
FIXED: dict[str, Any] = dict(n=50, m=10, activation="leaky_relu", leaky_slope=0.1, loss="hinge", stop="interpolation", p=0.1, train_output=False,
             sigma_0=0.01, eta=1.0, steps=5000, n_checkpoints=12, n_mc=2048)
SEEDS = 10


def main() -> None:
    args = parser(__doc__).parse_args()
    resumed = ((args.work or WORK) / "leaky_hinge" / "results.nc").exists()  # then the timing is not the whole sweep
    t0 = time.perf_counter()
    ds = run("leaky_hinge", args, {"d": D, "snr": SNR}, SEEDS, FIXED, theory="karhadkar2024")
    assert ds is not None
    wall = time.perf_counter() - t0
    timing = {"runs": int(ds["test_error"].size), "wall_s": wall, "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
              "resumed": resumed, "note": "whole sweep including compilation, one process, shared 2-core machine"}
    (DATA / "leaky_hinge_timing.json").write_text(json.dumps(timing, indent=1) + "\n")
    refresh_summaries("leaky_hinge_timing.json")
    print(f"{timing['runs']} runs in {wall:.1f} s")
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), constrained_layout=True)
    for d in D:
        axes[0].plot(SNR, bp.cell_mean(ds.sel(d=d), keep=("snr",)).values, "o-", ms=3, label=f"d = {d} (d/n = {d / FIXED['n']:g})")
    axes[0].axhline(FIXED["p"], color="k", lw=0.8, ls=":", label="p (Bayes error)")
    axes[0].axhline(FIXED["p"] + 0.05, color="grey", lw=0.8, ls="--", label="p + 0.05 (benign below)")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("SNR = |mu| / (sigma_p sqrt d)")
    axes[0].set_ylabel("test error at zero training error (mean of seeds)")
    axes[0].legend(fontsize=7)
    axes[0].set_title("(a) leaky ReLU + hinge, stopped at zero training error")
    steps = ds["steps_to_interpolation"].where(ds["steps_to_interpolation"] >= 0)
    for d in D:
        axes[1].plot(SNR, steps.sel(d=d).median("seed").values, "o-", ms=3, label=f"d = {d}")
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("SNR")
    axes[1].set_ylabel("GD steps to zero training error (median)")
    axes[1].set_title("(b) steps to interpolation")
    axes[1].legend(fontsize=7)
    save(fig, "leaky_hinge")


if __name__ == "__main__":
    main()
