"""The main job: a small benign/harmful phase diagram of the fully trainable two-layer ReLU CNN.

Sweeps the number of training points n (5 values) and the SNR (12 values, log-spaced) with 4 seeds
(240 runs: d = 300, m = 10, sigma_0 = 0.01, output init 0.1, p = 0.1 label noise, 500 GD steps
with eta = 0.1), then writes

    results/main/results.nc          the labelled results (xarray; resumable: re-run to finish)
    results/main/phase_diagram.png   test-error heat map + thresholded map, theory boundary on top
    results/main/report.txt          agreement with the theory (benign.analysis.compare)
    results/main/summary.json        the headline numbers (experiments/report.py's "main" summary)

keeps a copy of the results and the summary in experiments/data/ (main.nc, main.summary.json),
and prints the agreement summary. The theory's phase variable is Phi = n |mu|^4 / (sigma_p^4 d)
= n d SNR^4; the dashed curve is the measured boundary Phi* (benign: test error <= p + 0.05) with its
CI, beside the theory's thresholds. A few minutes at most on a
2-core CPU (less when re-run: compiled programs are cached).

    python experiments/main.py [--out results/main]
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from _common import DATA, ROOT, compile_cache, parser, report

N = [10, 20, 40, 80, 160]
SNR = [round(float(s), 4) for s in np.geomspace(0.02, 0.4, 12)]
FIXED = dict(d=300, m=10, steps=500, eta=0.1, sigma_0=0.01, init_scale=0.1, p=0.1, n_checkpoints=10)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--out", type=Path, default=ROOT / "results" / "main", help="output directory (default results/main)")
    p.add_argument("--docs", action="store_true", help="also save the heat map as docs/figures/main_phase_diagram.png")
    args = p.parse_args()
    from benign import plot as bp
    from benign.run.sweep import sweep

    compile_cache(args)
    t0 = time.perf_counter()
    ds = sweep({"n": N, "snr": SNR}, seeds=4, out=str(args.out), progress=not args.no_progress, **FIXED)
    print(f"sweep {dict(ds.sizes)} done in {time.perf_counter() - t0:.1f} s -> {args.out / 'results.nc'}")
    from benign.analysis import figure_fits

    fits = figure_fits(ds, "kou2023")
    fig = bp.phase_diagram(ds, "n", "snr", boundary=fits.boundary, constants=fits.constants, calibrated=fits.calibrated,
                           theory=fits.theory,
                           title="Trainable two-layer ReLU CNN (d=300, m=10, p=0.1, init 0.1): test error over n and SNR")
    png = args.out / "phase_diagram.png"
    fig.savefig(png, dpi=120)
    if args.docs:
        fig.savefig(ROOT / "docs" / "figures" / "main_phase_diagram.png", dpi=120)
    b = fits.boundary
    C = b.estimate
    print(f"heat map: {png}; measured boundary n|mu|^4/(sigma_p^4 d) = {C:.3g} (95% CI [{b.ci_low:.3g}, {b.ci_high:.3g}]) "
          f"(SNR_crit = (C/(n d))^(1/4): {(C / (N[0] * 300)) ** 0.25:.3f} at n={N[0]}, {(C / (N[-1] * 300)) ** 0.25:.3f} at n={N[-1]})")
    text = report(ds, "kou2023")
    if text:
        (args.out / "report.txt").write_text(text + "\n")
        print(text)
    keep_copy(args.out)
    print(f"total {time.perf_counter() - t0:.1f} s")


def keep_copy(out: Path) -> None:
    """Copy the results to experiments/data/main.nc and save the summary beside both copies."""
    import shutil

    import report as numbers

    DATA.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "results.nc", DATA / "main.nc")
    path = numbers.write("main")
    shutil.copyfile(path, out / "summary.json")
    print(f"kept: {(DATA / 'main.nc').relative_to(ROOT)}, {path.relative_to(ROOT)}, {out / 'summary.json'}")


if __name__ == "__main__":
    main()
