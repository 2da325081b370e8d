"""XOR data: phase diagram over the number of training points n and the signal norm |a| = |b|, with its boundary exponent.

Model: two-layer ReLU CNN with fixed output layer a = 1/m (the setting of Meng, Zou, Cao 2024), m = 20, d = 400,
label flips p = 0.1, sigma_0 = 0.01, 1500 GD steps with eta = 0.5, XOR data at xor_angle = pi/2 (signal patches
+-(a+b) and +-(a-b), each of norm sqrt(2)|a|), n from 10 to 160, 4 seeds. The boundary is the one fit of
benign.analysis (per-run logistic on phi, seed-jackknife CI); the n exponent of the critical |a| is fitted
by benign.analysis.fit_scaling (the theory's phase variable n|mu|^4/(sigma_p^4 d) gives -1/4).

    python experiments/xor.py          # about two minutes on 2 CPU cores
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _common import parser, report, run, save

from benign import plot as bp

N = [10, 20, 40, 80, 160]
MU = [round(float(x), 3) for x in np.geomspace(0.5, 16.0, 14)]
FIXED: dict[str, Any] = dict(data="xor", d=400, m=20, p=0.1, sigma_0=0.01, eta=0.5, steps=1500, train_output=False, n_checkpoints=12, n_mc=2048)


def main() -> None:
    args = parser(__doc__).parse_args()
    ds = run("xor", args, {"n": N, "mu_norm": MU}, 4, FIXED, theory="meng2024")
    assert ds is not None
    from benign.analysis import figure_fits, fit_scaling

    fits = figure_fits(ds, "meng2024")
    fig = bp.phase_diagram(ds, "n", "mu_norm", boundary=fits.boundary, constants=fits.constants, calibrated=fits.calibrated,
                           theory=fits.theory, title="XOR data (fixed output, d = 400): test error over n and |a|")
    save(fig, "xor")
    print(fit_scaling(ds, ("n",)))
    text = report(ds, "meng2024")
    if text:
        print(text)


if __name__ == "__main__":
    main()
