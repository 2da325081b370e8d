"""(4) Hidden- and output-layer norm dynamics for small versus large output init.

Fully trainable two-layer ReLU CNN (n = 20, d = 400, m = 10, sigma_0 = 0.01 so |w(0)| ~ 0.2,
p = 0.1, SNR = 0.2 (benign side), eta = 0.1, 3000 GD steps), output init a(0) = init_scale from
1e-3 to 3, 4 seeds, 40 log-spaced checkpoints. Figure 1 (norm_dynamics.png): mean |w_{j,r}|,
mean |a_{j,r}| and the ratio |w|/|a| over training; dotted curves in the middle panel are |a|
implied by the measured |w| through the conservation law a^2 - |w|^2 = const (docs/science.md, "Conservation law"), and
crosses the ratio the law predicts at the end. Figure 2 (norm_dynamics_gamma_rho.png): signal
learning gamma versus noise memorisation rho (coefficient engine) for the same runs.

    python experiments/norm_dynamics.py     # well under a minute on 2 CPU cores
"""

from __future__ import annotations

import numpy as np
from _common import parser, run, save

from benign import plot as bp

INIT = [1e-3, 1e-2, 0.1, 1.0, 3.0]
FIXED = dict(n=20, d=400, m=10, snr=0.2, steps=3000, eta=0.1, sigma_0=0.01, p=0.1, n_checkpoints=40)


def main() -> None:
    args = parser(__doc__).parse_args()
    ds = run("norm_dynamics", args, {"init_scale": INIT}, 4, FIXED, trajectories=True)
    fig = bp.layer_norms(ds, "init_scale")
    fig.suptitle("Layer norms over training, small vs large output init (n=20, d=400, m=10, SNR=0.2)")
    save(fig, "norm_dynamics")
    try:
        fig = bp.gamma_rho(ds, "init_scale")
        fig.suptitle("Signal learning vs noise memorisation (max over neurons; mean over 4 seeds)")
        save(fig, "norm_dynamics_gamma_rho")
    except ValueError as e:
        print(f"gamma/rho figure skipped: {e}")
    w0 = float(ds.traj_w_norm.isel(step=0).mean())
    print(f"|w(0)| = {w0:.3f} (sigma_0 sqrt(d) = {0.01 * 20:.3f})")
    for i in INIT:
        one = ds.sel(init_scale=i)
        w, a = (float(one[v].isel(step=-1).mean()) for v in ("traj_w_norm", "traj_a_norm"))
        print(f"init {i:g}: final |w| = {w:.3f}, |a| = {a:.3f} (x{a / i:.3g} of init), ratio = {float(one.ratio.mean()):.3f}, "
              f"conservation predicts {float(one.ratio_predicted.mean()):.3f}; drift {float(np.abs(one.conserved_drift).max()):.2g}; "
              f"test error {float(one.test_error.mean()):.3f}, train error {float(one.train_error.mean()):.3f}")


if __name__ == "__main__":
    main()
