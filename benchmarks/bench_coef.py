"""Benchmark: coefficient engine versus dense engine (docs/science.md, "The coefficient engine"), same runs, same numbers.

m = 20, 1000 GD steps, n in {20, 100}, d in {1000, 10000}; one run per call (``run_group`` of one
config, compile excluded by a warm-up call), median wall time of ``--repeats`` calls. Two settings:

* ``default``: the default recording, 40 checkpoints with the Gaussian test error (n_mc = 16384);
* ``train``: 2 checkpoints (step 0 and the end), i.e. essentially data + training.

Prints the median wall and CPU (process) times, the dense/coef ratios (the CPU ratio is the robust one
on a shared machine) and the largest relative difference of the final weights (float64 check).
Target: coef >= 50x faster at d = 10000, n = 20.

    python benchmarks/bench_coef.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def _median_times(cfg, repeats: int) -> tuple[float, float]:
    """Median wall and CPU (process) seconds of ``run_group([cfg])`` over ``repeats`` calls, compile excluded."""
    run_group = importlib.import_module("benign.run.batch").run_group
    run_group([cfg])  # compile
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run_group([cfg])
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="only n = 20 (skips the slowest dense runs)")
    args = ap.parse_args(argv)

    import jax

    import benign

    run_group = importlib.import_module("benign.run.batch").run_group
    cfg64 = benign.make_config(n=20, d=1000, m=20, steps=200, snr=0.1, precision="float64", n_checkpoints=2)
    rd = run_group([dataclasses.replace(cfg64, engine="dense")], return_params=True)
    rc = run_group([dataclasses.replace(cfg64, engine="coef")], return_params=True)
    rel = float(np.max(np.abs(rd["W"] - rc["W"])) / np.max(np.abs(rd["W"])))
    print(f"jax {jax.__version__}, {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.2f}")
    print(f"float64 check (n=20, d=1000, m=20, 200 steps): max |W_dense - W_coef| / max |W| = {rel:.2e}")
    print(f"{'setting':8s} {'n':>4s} {'d':>6s} {'dense s':>9s} {'coef s':>9s} {'ratio':>7s} {'dense cpu':>10s} {'coef cpu':>9s} {'cpu ratio':>9s}")
    rows = []
    for setting, n_ckpt in (("default", 40), ("train", 2)):
        for n in (20,) if args.quick else (20, 100):
            for d in (1000, 10000):
                cfg = benign.make_config(n=n, d=d, m=20, steps=1000, snr=0.1, n_checkpoints=n_ckpt)
                td, cd = _median_times(dataclasses.replace(cfg, engine="dense"), args.repeats)
                tc, cc = _median_times(dataclasses.replace(cfg, engine="coef"), args.repeats)
                rows.append(dict(setting=setting, n=n, d=d, dense=td, coef=tc, ratio=td / tc, dense_cpu=cd, coef_cpu=cc, cpu_ratio=cd / cc))
                print(f"{setting:8s} {n:4d} {d:6d} {td:9.3f} {tc:9.3f} {td / tc:6.1f}x {cd:10.3f} {cc:9.3f} {cd / cc:8.1f}x", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return rows


if __name__ == "__main__":
    main()
