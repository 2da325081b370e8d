"""Throughput of the batched dense engine against this machine's own float32 matmul rate.

Runs B configurations (default 64; n=100, d=1000, m=20, 1000 steps) in one compiled call and prints
the achieved GFLOP/s next to the measured rate of a large float32 matrix multiply, as a ratio (both
measured in this run; medians of --repeats). Target: ratio >= 0.40.

FLOPs counted (multiply-adds x 2): per step the forward pre-activations (n * 2 patches * d * 2m) and
the filter gradient (same size); per checkpoint the train forward and the test-set projections
(n_test * d * 2m; the runs use test_error_method="test_set" so this is the work done). Elementwise
work is not counted.

    python benchmarks/bench_dense.py [--batch 64] [--steps 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import benign
from benign.core.dynamics import checkpoint_steps
from benign.run.batch import run_group


def matmul_gflops(size: int, repeats: int) -> float:
    a = jnp.asarray(np.random.default_rng(0).normal(size=(size, size)), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f(a).block_until_ready()
        times.append(time.perf_counter() - t)
    return 2 * size**3 / statistics.median(times) / 1e9


def engine_flops(cfg, batch: int) -> float:
    n, d, m2 = cfg.n, cfg.d, 2 * cfg.m
    per_step = 2 * (2 * n * d * m2)  # forward + dL/dW, two patches each
    k = len(checkpoint_steps(cfg.steps, cfg.n_checkpoints))
    per_ckpt = 2 * (2 * n * d * m2) + 2 * (cfg.n_test * d * m2)
    return batch * (cfg.steps * per_step + k * per_ckpt)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--d", type=int, default=1000)
    ap.add_argument("--m", type=int, default=20)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engine", default="dense")
    args = ap.parse_args()
    cfgs = [benign.make_config(snr=s, seed=i, n=args.n, d=args.d, m=args.m, steps=args.steps, init_scale=0.01, engine=args.engine,
                                test_error_method="test_set")
            for i, s in enumerate(np.linspace(0.02, 0.3, args.batch))]
    t = time.perf_counter()
    run_group(cfgs)
    compile_and_first = time.perf_counter() - t
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        run_group(cfgs)
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    achieved = engine_flops(cfgs[0], args.batch) / med / 1e9
    peak = matmul_gflops(2048, max(args.repeats, 5))
    print(f"devices: {jax.devices()}  engine={args.engine}")
    print(f"batch={args.batch} n={args.n} d={args.d} m={args.m} steps={args.steps}: first call {compile_and_first:.2f} s, "
          f"median {med:.2f} s over {args.repeats} ({med / args.batch * 1e3:.1f} ms per run)")
    print(f"achieved {achieved:.1f} GFLOP/s; float32 matmul 2048^2: {peak:.1f} GFLOP/s; ratio {achieved / peak:.2f} (target >= 0.40)")


if __name__ == "__main__":
    main()
