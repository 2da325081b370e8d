"""(2) Test error over SNR x output init scale for the fully trainable model, beside the fixed-output model.

Model: two-layer ReLU CNN, n = 20, d = 400, m = 10, sigma_0 = 0.01, p = 0.1, 1000 GD steps with
eta = 0.1, output layer trained from a constant init ``a(0) = init_scale`` (8 scales, 1e-4 .. 3).
Beside it: the same network with the output layer fixed at a = 1/m (Kou et al. 2023 / Cao et al.
2022 setting). Panels: (a) trainable heat map with the theory's thresholds, the measured boundary
Phi* pooled over init scales (Phi depends on the SNR only, so these are horizontal lines) and the
measured SNR boundary per init scale with CIs; (b) test error versus SNR for the fixed-output model
(with the theory's bounds) and the smallest and largest init; (c) the boundary SNR versus init scale,
with the fixed-output boundary. A run is benign when its test error is <= p + 0.05.

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
    from benign.analysis import boundary, figure_fits

    fits = figure_fits(tr)  # boundary on phi, calibrated constants, SNR boundary per init scale
    fixed = boundary(fx, "snr")  # the same fit as figure_fits(fx).boundary, on the SNR axis
    fx_fits = figure_fits(fx)
    fig, axes = plt.subplots(1, 3, figsize=(18, 6.6), constrained_layout=True)
    bp.heatmap(tr, "init_scale", "snr", ax=axes[0], boundary=fits.boundary, boundary_by=fits.by_init,
               constants=fits.constants, calibrated=fits.calibrated, theory=fits.theory, legend="below")
    axes[0].set_title(f"(a) trainable output: test error (mean of {tr.sizes['seed']} seeds)")
    bp.line(fx, "snr", ax=axes[1], boundary=fixed, constants=fx_fits.constants, calibrated=fx_fits.calibrated,
            theory=fx_fits.theory, label="fixed output a = 1/m", legend=False)
    for i in (INIT[0], INIT[-1]):
        axes[1].plot(SNR, bp.cell_mean(tr.sel(init_scale=i), keep=("snr",)).values, "s--", ms=3,
                     label=f"trainable, init {i:g} (mean)")
    axes[1].set_title("(b) test error versus SNR (fixed output: theory drawn)")
    axes[1].legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    bp.boundary_vs_init(fits.by_init, reference=fixed, reference_label="fixed output a = 1/m",
                        init_line=FIXED["sigma_0"] * FIXED["d"] ** 0.5, ax=axes[2])
    axes[2].set_title("(c) boundary SNR versus init scale")
    save(fig, "snr_init")
    print("boundary SNR per init scale:", ", ".join(f"{r.init_scale:g}: {r.estimate:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"
                                                    for r in fits.by_init.itertuples()))
    print(f"fixed-output boundary SNR: {fixed.estimate:.3f} [{fixed.ci_low:.3f}, {fixed.ci_high:.3f}]; "
          f"pooled boundary Phi* = {fits.boundary.estimate:.3g}")
    text = report(tr)
    if text:
        print(text)


if __name__ == "__main__":
    main()
