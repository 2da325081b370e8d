"""(2) Test error over SNR x output init scale for the fully trainable model, beside the fixed-output model.

Model: two-layer ReLU CNN, n = 20, d = 400, m = 10, sigma_0 = 0.01, p = 0.1, 1000 GD steps with
eta = 0.1, output layer trained from a constant init ``a(0) = init_scale`` (8 scales, 1e-4 .. 3).
Beside it: the same network with the output layer fixed at a = 1/m (Kou et al. 2023 / Cao et al.
2022 setting). Panels: (a) trainable heat map with the boundary Phi = n |mu|^4/(sigma_p^4 d) = C
fitted at test error 0.2 (Phi depends on the SNR only, so it is a horizontal line);
(b) test error versus SNR for the fixed-output model and the smallest and largest init;
(c) the boundary SNR (test error crossing 0.2) versus init scale, with the fixed-output boundary.

    python experiments/snr_init.py         # about a minute on 2 CPU cores
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from _common import parser, report, run, save

from benign import plot as bp

SNR = [round(float(s), 4) for s in np.geomspace(0.03, 0.4, 12)]
INIT = [1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.3, 1.0, 3.0]
FIXED = dict(n=20, d=400, m=10, steps=1000, eta=0.1, sigma_0=0.01, p=0.1, n_checkpoints=10)


def main() -> None:
    args = parser(__doc__).parse_args()
    tr = run("snr_init_trainable", args, {"snr": SNR, "init_scale": INIT}, 8, FIXED)
    fx = run("snr_init_fixed", args, {"snr": SNR}, 8, {**FIXED, "train_output": False})
    thr = 0.2
    ref = bp.crossing(np.asarray(SNR), bp.cell_mean(fx, keep=("snr",)).values, thr)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4), constrained_layout=True)
    ax = bp.heatmap(tr, "init_scale", "snr", ax=axes[0], boundary_at=thr)
    ax.set_title(f"(a) trainable output: test error (mean of {tr.sizes['seed']} seeds)")
    bp.line(fx, "snr", ax=axes[1])
    axes[1].lines[-1].set_label("fixed output a = 1/m")
    for i in (INIT[0], INIT[-1]):
        one = tr.sel(init_scale=i)
        axes[1].plot(SNR, bp.cell_mean(one, keep=("snr",)).values, "s--", ms=3, label=f"trainable, init {i:g}")
    axes[1].axhline(thr, color="0.5", lw=0.8)
    axes[1].set_title("(b) test error versus SNR")
    axes[1].legend(fontsize=8)
    bp.boundary_vs_init(tr, "snr", threshold=thr, reference=ref, ax=axes[2])
    axes[2].set_title(f"(c) boundary (test error = {thr:g}) versus init scale")
    save(fig, "snr_init")
    inits, b = axes[2].boundary
    print("boundary SNR per init scale:", ", ".join(f"{i:g}: {v:.3f}" for i, v in zip(inits, b)))
    print(f"fixed-output boundary SNR: {ref:.3f}; heat-map fit C = {ax.fitted_C:.3g}")
    text = report(tr)
    if text:
        print(text)


if __name__ == "__main__":
    main()
