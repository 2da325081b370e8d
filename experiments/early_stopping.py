"""Early stopping across the benign/harmful boundary: test error against training time, and the best checkpoint.

Model: two-layer ReLU CNN, fixed output layer 1/m, n = 20, d = 400, m = 10, sigma_0 = 0.01, label flips p = 0.1,
logistic loss, 5000 GD steps with eta = 0.1, 30 log-spaced checkpoints, 8 SNR values across the boundary, 8 seeds.
At every checkpoint the test error is recorded; benign.best_step finds each run's best checkpoint. The question:
does a run that ends harmful pass through a benign phase (test error <= p + 0.05) on its way?

    python experiments/early_stopping.py   # about a minute on 2 CPU cores
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from _common import parser, run, save

import benign

SNR = [round(float(s), 4) for s in np.geomspace(0.03, 0.3, 8)]
FIXED: dict[str, Any] = dict(n=20, d=400, m=10, sigma_0=0.01, p=0.1, eta=0.1, steps=5000, train_output=False, n_checkpoints=30, n_mc=2048,
             n_mc_traj=2048)


def main() -> None:
    args = parser(__doc__).parse_args()
    ds = run("early_stopping", args, {"snr": SNR}, 8, FIXED, trajectories=True,
             keep=["test_error", "train_error", "traj_test_error", "traj_train_error", "steps_to_interpolation", "diverged"])
    assert ds is not None
    best = benign.best_step(ds)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), constrained_layout=True)
    steps = ds["step"].values
    cmap = plt.get_cmap("viridis")
    for i, s in enumerate(SNR):
        axes[0].plot(np.maximum(steps, 1), ds["traj_test_error"].sel(snr=s).mean("seed").values, "-", color=cmap(i / (len(SNR) - 1)),
                     label=f"SNR {s:g}")
    axes[0].axhline(FIXED["p"] + 0.05, color="grey", lw=0.8, ls="--", label="p + 0.05")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("GD step (step 0 drawn at 1)")
    axes[0].set_ylabel("test error (mean of seeds)")
    axes[0].set_title("(a) test error during training")
    axes[0].legend(fontsize=7, ncol=2)
    axes[1].plot(SNR, best["final_test_error"].mean("seed").values, "o-", label="last step")
    axes[1].plot(SNR, best["best_test_error"].mean("seed").values, "s--", label="best checkpoint (early stopping)")
    axes[1].axhline(FIXED["p"] + 0.05, color="grey", lw=0.8, ls="--", label="p + 0.05")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("SNR")
    axes[1].set_ylabel("test error (mean of seeds)")
    axes[1].set_title("(b) final versus early-stopped test error")
    axes[1].legend(fontsize=8)
    save(fig, "early_stopping")
    print(best.mean("seed").to_dataframe())


if __name__ == "__main__":
    main()
