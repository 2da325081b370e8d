"""(1) The published Kou et al. (2023) heat map: test error over signal norm |mu| and dimension d.

Protocol (docs/science.md, "The published protocol"; `benign reproduce kou2023`): n = 20, m = 10, 100 GD steps with lr 0.1,
p = 0.1 label flips, sigma_p = 1 isotropic noise, bias, PyTorch-uniform init, mean over patches,
fixed output layer (a = 1). Left panel: median test error over seeds; right panel: the fraction of
seeds benign (test error <= p + 0.05). The dashed curve is the measured boundary
n |mu|^4 / (sigma_p^4 d) = Phi*, i.e. |mu| = (Phi* sigma_p^4 d / n)^(1/4), with its CI (dotted), beside
the theory's thresholds Phi = C1, C3 (calibrated).

Default: a reduced grid (7 values of d, 34 of |mu|, 4 seeds; about a minute on 2 CPU cores).
``--full``: the published 100 x 100 grid with 10 seeds through the resumable sweep (every d shares
one d-independent coefficient-engine program); its data file keeps the error variables and the
theory's phi / regime only.

    python experiments/kou_heatmap.py [--full]
"""

from __future__ import annotations

from _common import parser, report, run, save

from benign import plot as bp
from benign.protocols import protocol


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--full", action="store_true", help="the published 100 x 100 x 10 grid")
    args = p.parse_args()
    scale = "full" if args.full else "small"
    grid, seeds, fixed = protocol("kou2023", scale)
    name = "kou2023" if args.full else "kou2023_quick"
    keep = ["test_error", "test_error_clean", "train_error", "diverged", "phi", "regime_theory"] if args.full else None
    ds = run(name, args, grid, seeds, fixed, keep=keep)
    from benign.analysis import figure_fits

    fits = figure_fits(ds, "kou2023")
    fig = bp.phase_diagram(ds, "d", "mu_norm", boundary=fits.boundary, constants=fits.constants, calibrated=fits.calibrated,
                           theory=fits.theory,
                           title=f"Kou et al. 2023 protocol ({scale} grid): n=20, m=10, 100 GD steps, p=0.1")
    b = fits.boundary
    C = b.estimate
    print(f"measured boundary: n|mu|^4/(sigma_p^4 d) = {C:.3g} (95% CI [{b.ci_low:.3g}, {b.ci_high:.3g}])  ->  |mu| = ({C:.3g} d / 20)^(1/4): "
          f"{(C * 100 / 20) ** 0.25:.2f} at d=100, {(C * 1000 / 20) ** 0.25:.2f} at d=1000")
    save(fig, name)
    text = report(ds, "kou2023")
    if text:
        print(text)


if __name__ == "__main__":
    main()
