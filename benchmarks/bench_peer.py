"""Benchmark: this package's compiled paths against the Kou et al. (2023) protocol as usually written.

Three comparisons, each timed in this one process (ratios, so they carry over between machines):

1. **Per-config baseline vs the full map.** The baseline trains one cell at a time as a typical script
   does: explicit data (numpy), PyTorch-style uniform init, ``jax.jit(jax.grad(loss))`` without vmap,
   100 full-batch steps, test error on 1000 fresh test points; a new ``d`` means a new compile, which is
   counted (each cell of the published map has its own d or a new draw). Its median seconds per cell on
   a sample of cells, times the map's 100 000 runs, against the compiled path
   (:func:`benign.protocols.kou2023.heatmap`) timed on a sample of the map. Target >= 1000x.
2. **Gram sampler vs the d-bucketed explicit path** (:func:`benign.run.final.run_final`, which draws the
   data block by block for a traced d), Gaussian init, same runs. Target >= 3x.
3. **coef with default recording vs dense** at d = 10^4, n = 20, m = 20, 1000 steps (one run, 40
   checkpoints, compile excluded). Targets: coef >= 50x, gram >= 500x.

Prints the CPU model, whether it has AVX-512, and the load average before and after.

    python benchmarks/bench_peer.py [--cells 6] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def cpu_info() -> tuple[str, bool]:
    """``(model name, has avx512f)`` from /proc/cpuinfo (``('unknown', False)`` elsewhere)."""
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return "unknown", False
    model = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "unknown")
    return model, " avx512f" in text


def peer_cell(d: int, mu_norm: float, seed: int, n: int = 20, m: int = 10, steps: int = 100, lr: float = 0.1,
              p: float = 0.1, n_test: int = 1000) -> float:
    """One cell of the Kou protocol written plainly; returns the test error (seconds are timed outside)."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    mu = np.zeros(d, np.float32)
    mu[0] = mu_norm

    def draw(count, flip):
        y = rng.choice([-1.0, 1.0], size=count).astype(np.float32)
        xi = rng.standard_normal((count, d)).astype(np.float32)  # isotropic noise, sigma_p = 1
        X = np.stack([y[:, None] * mu, xi], axis=1)  # (count, 2, d): signal patch, noise patch
        y_obs = np.where(rng.uniform(size=count) < flip, -y, y).astype(np.float32)
        return jnp.asarray(X), jnp.asarray(y_obs)

    X, y = draw(n, p)
    Xt, yt = draw(n_test, p)
    lim = 1 / np.sqrt(d)
    params = {"W": jnp.asarray(rng.uniform(-lim, lim, (2 * m, d)).astype(np.float32)),
              "b": jnp.asarray(rng.uniform(-lim, lim, (2 * m,)).astype(np.float32))}
    sign = jnp.concatenate([jnp.ones(m), -jnp.ones(m)])

    def f(prm, X):
        h = jax.nn.relu(jnp.einsum("npd,kd->npk", X, prm["W"]) + prm["b"]).mean(axis=1)  # mean over patches
        return h @ sign  # fixed output layer, value 1

    def loss(prm, X, y):
        return jnp.mean(jax.nn.softplus(-y * f(prm, X)))

    grad = jax.jit(jax.grad(loss))
    for _ in range(steps):
        g = grad(params, X, y)
        params = {k: params[k] - lr * g[k] for k in params}
    return float(jnp.mean(jnp.sign(f(params, Xt)) != yt))


def _median_wall(fn, repeats: int) -> float:
    fn()  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=6, help="baseline cells timed (distinct d)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    import jax

    import benign
    from benign.protocols import kou2023
    from benign.run.batch import run_group
    from benign.run.final import run_final

    model, avx512 = cpu_info()
    print(f"CPU: {model}; AVX-512: {avx512}; {os.cpu_count()} cores; jax {jax.__version__}; load average {os.getloadavg()}")
    out: dict = {}

    # 1. per-config baseline vs the compiled full map
    rng = np.random.default_rng(0)
    ds = rng.choice(np.arange(100, 1100, 10), size=args.cells, replace=False)
    per = []
    for i, d in enumerate(ds):
        t0 = time.perf_counter()
        peer_cell(int(d), float(rng.choice(np.arange(100) * 0.1)), i)
        per.append(time.perf_counter() - t0)
    base = statistics.median(per)
    n_map = 100 * 100 * 10
    sample_d = np.arange(100, 1100, 100)  # 10 of the 100 d values, every |mu|, 2 seeds: 2000 runs
    kou2023.heatmap(ds=[100], seeds=[0], mu_norms=[0.0, 1.0])  # compile
    t0 = time.perf_counter()
    kou2023.heatmap(ds=sample_d, seeds=[0, 1])
    fast = (time.perf_counter() - t0) / (len(sample_d) * 100 * 2)
    out["peer"] = dict(baseline_s_per_cell=base, compiled_s_per_run=fast, ratio=base / fast)
    print(f"[1] baseline {base:.3f} s/cell (median of {len(per)}), full map {base * n_map / 3600:.1f} h; compiled path "
          f"{fast * 1e3:.2f} ms/run, full map {fast * n_map / 60:.1f} min; ratio {base / fast:.0f}x (target >= 1000x)", flush=True)

    # 2. gram sampler vs d-bucketed explicit path (Gaussian init, final metrics only)
    kw = dict(n=20, m=10, steps=100, eta=0.1, p=0.1, n_checkpoints=2, n_mc=4096, engine="coef")
    cfgs = [benign.make_config(**kw, d=int(d), mu_norm=float(mu), seed=s) for d in (2000, 5000, 10000) for mu in np.linspace(0.5, 20, 20) for s in range(4)]
    t_explicit = _median_wall(lambda: run_final(cfgs), args.repeats)
    gcfgs = [dataclasses.replace(c, sampler="gram") for c in cfgs]
    t_gram = _median_wall(lambda: benign.simulate_batch(gcfgs, progress=False), args.repeats)
    out["gram_vs_bucketed"] = dict(runs=len(cfgs), explicit_s=t_explicit, gram_s=t_gram, ratio=t_explicit / t_gram)
    print(f"[2] {len(cfgs)} runs (d in 2000, 5000, 10000): bucketed explicit {t_explicit:.2f} s, gram {t_gram:.2f} s; "
          f"ratio {t_explicit / t_gram:.1f}x (target >= 3x)", flush=True)

    # 3. coef with default recording vs dense, d = 1e4, n = 20, m = 20, 1000 steps
    cfg = benign.make_config(n=20, d=10_000, m=20, steps=1000, snr=0.1)
    t = {name: _median_wall(lambda c=c: run_group([c], progress=False), args.repeats)
         for name, c in (("dense", dataclasses.replace(cfg, engine="dense")), ("coef", dataclasses.replace(cfg, engine="coef")),
                         ("gram", dataclasses.replace(cfg, engine="coef", sampler="gram")))}
    out["engines"] = dict(**t, coef_ratio=t["dense"] / t["coef"], gram_ratio=t["dense"] / t["gram"])
    print(f"[3] dense {t['dense']:.3f} s, coef {t['coef']:.4f} s ({t['dense'] / t['coef']:.1f}x, target >= 50x), "
          f"gram {t['gram']:.4f} s ({t['dense'] / t['gram']:.1f}x, target >= 500x)")
    print(f"load average at the end {os.getloadavg()}")
    return out


if __name__ == "__main__":
    main()
