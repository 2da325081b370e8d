"""ReLU^q (q = 3): the d and n exponents of the critical signal norm, fixed and trainable output layer.

Cao, Chen, Belkin, Gu (2022) put the benign/harmful boundary of the polynomial-ReLU CNN at
n SNR^q = const, i.e. |mu|_crit proportional to sigma_p sqrt(d) n^(-1/q): slopes +1/2 in d and -1/q = -1/3
in n (a ReLU network has Kou's +1/4 and -1/4 instead; a ReLU sweep cannot test this statement).
Model: activation max(0, z)^3, m = 10, sigma_0 = 0.05, no label noise (p = 0, the theorem's setting), 3000
GD steps with eta = 0.05, output layer either fixed at 1/m or trained from init_scale = 0.1; d in
{100, 400, 1600}, n in {10, 20, 40, 80, 160}, 12 SNR values, 6 seeds. Slopes: benign.analysis.fit_scaling
(per-run logistic regression of the benign label on log |mu|, log d, log n; seed-jackknife CIs).

    python experiments/relu_q.py        # about eight minutes on 2 CPU cores
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from _common import parser, run, save

from benign import plot as bp

D = [100, 400, 1600]
N = [10, 20, 40, 80, 160]
SEEDS = 6
SNR = [round(float(s), 4) for s in np.geomspace(0.1, 1.2, 12)]
FIXED: dict[str, Any] = dict(activation="poly_relu", q=3.0, m=10, sigma_0=0.05, p=0.0, eta=0.05, steps=3000, init_scale=0.1, n_checkpoints=10,
             n_mc=2048)


def slopes(ds):
    """fit_scaling of one output mode's runs: slopes of log |mu|_crit in d and n with CIs."""
    from benign.analysis import fit_scaling

    return fit_scaling(ds, ("d", "n"), q=3.0)


def main() -> None:
    args = parser(__doc__).parse_args()
    ds = run("relu_q", args, {"train_output": [False, True], "d": D, "n": N, "snr": SNR}, SEEDS, FIXED, theory="cao2022")
    assert ds is not None
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), constrained_layout=True)
    for ax, to in zip(axes, (False, True)):
        sub = ds.sel(train_output=to)
        print(f"train_output={to}:\n{slopes(sub)}")
        for d in D:
            for n in (N[0], N[-1]):
                y = bp.cell_mean(sub.sel(d=d, n=n), keep=("snr",)).values
                ax.plot(SNR, y, "o-" if n == N[0] else "s--", ms=3, label=f"d={d}, n={n}")
        ax.set_xscale("log")
        ax.set_xlabel("SNR = |mu| / (sigma_p sqrt d)")
        ax.set_ylabel("test error (mean over seeds)")
        ax.set_title(("trainable" if to else "fixed") + " output, ReLU^3")
        ax.legend(fontsize=7)
    save(fig, "relu_q")


if __name__ == "__main__":
    main()
