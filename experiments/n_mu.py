"""(3) Phase diagram over the number of training points n and the signal norm |mu|, with the fitted boundary.

The Kou et al. (2023) network and training (docs/science.md, "The published protocol": m = 10, 100 GD steps with lr 0.1,
p = 0.1, isotropic noise, bias, uniform init, mean over patches, fixed output a = 1) at d = 400,
for n from 8 to 64, 8 seeds. The measured boundary n |mu|^4 / (sigma_p^4 d) = Phi* is the dashed curve
|mu| = (Phi* d / n)^(1/4) (benign: test error <= p + 0.05); the printed report fits the slope
d log |mu|_crit / d log n freely (theory: -1/4).

    python experiments/n_mu.py              # one to two minutes on 2 CPU cores
"""

from __future__ import annotations

from _common import parser, report, run, save

from benign import plot as bp
from benign.protocols import protocol

N = [8, 12, 16, 24, 32, 48, 64]
MU = [round(0.25 * i, 2) for i in range(29)]  # 0 .. 7


def main() -> None:
    args = parser(__doc__).parse_args()
    _, _, fixed = protocol("kou2023", "small")
    fixed = {k: v for k, v in fixed.items() if k != "n"} | {"d": 400}
    ds = run("n_mu", args, {"n": N, "mu_norm": MU}, 8, fixed)
    from benign.analysis import figure_fits

    fits = figure_fits(ds, "kou2023")
    fig = bp.phase_diagram(ds, "n", "mu_norm", boundary=fits.boundary, constants=fits.constants, calibrated=fits.calibrated,
                           theory=fits.theory, title="Kou et al. 2023 network at d = 400: test error over n and |mu|")
    b = fits.boundary
    C = b.estimate
    print(f"measured boundary Phi = n|mu|^4/(sigma_p^4 d) = {C:.3g} (95% CI [{b.ci_low:.3g}, {b.ci_high:.3g}]): "
          f"|mu|_crit = {(C * 400 / N[0]) ** 0.25:.2f} at n={N[0]}, "
          f"{(C * 400 / N[-1]) ** 0.25:.2f} at n={N[-1]}")
    save(fig, "n_mu")
    text = report(ds, "kou2023")
    if text:
        print(text)


if __name__ == "__main__":
    main()
