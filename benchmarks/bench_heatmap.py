"""Benchmark: the published Kou et al. (2023) test-error heat map end to end (docs/science.md, "The published protocol").

100 |mu| values x 100 d values x 10 seeds = 100,000 runs of 100 GD steps (n = 20, m = 10): data,
training and Gaussian test error through :func:`benign.protocols.kou2023.heatmap` in one process.
Prints the wall time, the time per cell, the peak memory (``ru_maxrss``) and a sanity summary.

    python benchmarks/bench_heatmap.py                  # the full map (target: <= 60 s, <= 4 GB)
    python benchmarks/bench_heatmap.py --fraction 0.1   # 10 of the 100 d values, spread over the range
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fraction", type=float, default=1.0, help="share of the 100 d values to run (spread over the range)")
    ap.add_argument("--n-mc", type=int, default=4096, help="Gaussian test-error points per run")
    ap.add_argument("--chunk-size", type=int, default=500, help="runs per compiled batched call")
    ap.add_argument("--precision", default="float32", choices=["float32", "float64"])
    ap.add_argument("--out", default=None, help="optional .npz file for the arrays")
    args = ap.parse_args(argv)

    import jax

    from benign.protocols import kou2023

    all_d = np.arange(100, 1100, 10)
    n_d = max(1, min(100, int(round(100 * args.fraction))))
    ds = all_d[np.unique(np.round(np.linspace(0, 99, n_d)).astype(int))]
    mu = np.round(np.arange(100) * 0.1, 10)
    t0 = time.perf_counter()
    c0 = time.process_time()
    res = kou2023.heatmap(mu_norms=mu, ds=ds, n_mc=args.n_mc, precision=args.precision, chunk_size=args.chunk_size)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cells = len(ds) * len(mu)
    runs = cells * 10
    te = res["test_error"].mean(axis=-1)  # (d, mu)
    print(f"jax {jax.__version__}, {os.cpu_count()} CPU cores, precision {args.precision}, n_mc {args.n_mc}, load average {os.getloadavg()[0]:.2f}")
    print(f"cells {cells} ({len(ds)} d x {len(mu)} |mu|), runs {runs}, GD steps {runs * 100:,}")
    print(f"wall {wall:.1f} s (CPU {cpu:.1f} s), {1e3 * wall / cells:.2f} ms per cell, {runs / wall:,.0f} runs/s; full-map estimate {wall / len(ds) * 100:.1f} s")
    print(f"peak memory (ru_maxrss) {peak_mb:.0f} MB")
    print(f"mean test error {te.mean():.3f}; cells below 0.2: {np.mean(te < 0.2):.2%}; |mu|=0 column {te[:, 0].mean():.3f} (chance+noise 0.5); "
          f"median test_error_se {np.median(res['test_error_se']):.4f}")
    if args.out:
        np.savez_compressed(args.out, **res)
    return dict(wall=wall, cpu=cpu, peak_mb=peak_mb, cells=cells)


if __name__ == "__main__":
    main()
