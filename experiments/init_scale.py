"""Why does the output init scale a0 move the boundary? Two controls beside the main job, and the
layer dynamics of one small and one large a0.

Reads the main job's trainable and fixed-output runs (experiments/data/main.nc, main_fixed.nc: run
``python experiments/main.py`` first) and adds, in the same setting (n = 20, d = 300, m = 10, p = 0.1,
stop at interpolation, the same 9 SNRs and 16 paired seeds):

* **step matched**: trainable with both step sizes ``eta = 0.1 * min(1, sigma_0^2 d / a0^2)``, so that
  ``eta * max(a0^2, |w(0)|^2)`` -- the scale of the largest curvature at init, a proxy that is not
  measured here -- is the same for every a0 (a0 = 1, 10, 100; below sigma_0 sqrt(d) this is the main job);
* **function scale fixed**: trainable with ``sigma_0 = 1e-3 / a0`` (so ``a0 * sigma_0`` and the scale
  of f at init are those of a0 = 0.1, sigma_0 = 0.01), eta = 0.1, a0 = 1e-3 .. 100;
* **curvature**: the largest |eigenvalue| of the loss Hessian in (W, a) at init for every a0 of the
  main job (SNR 0.3, 4 seeds, power iteration in float64), to check the step-matching proxy;
* **dynamics**: trainable runs at a0 = 1e-3 and a0 = 10 at SNR 0.3 for 3000 steps without stopping
  (8 seeds), with test error, train loss, |w|, |a| and |w|/|a| at 40 log-spaced checkpoints;
* **paired shift**: a0 = 1e-2 against a0 = 10 only, trainable and fixed output at a = a0, on 12 SNRs
  from 0.15 to 0.45 (around both boundaries of the main job) with 64 seeds shared by both a0, so that
  the ratio SNR*(10) / SNR*(1e-2) gets a paired interval narrow enough to resolve it.

Writes experiments/data/init_scale.nc (the two controls, dims variant x init_scale x snr x seed),
experiments/data/init_scale_dynamics.nc (with the curvature), docs/figures/init_scale.png, and refreshes the
"init_scale" summary of experiments/report.py. About half a minute on 2 CPU cores after the main job (which compiles the same programs).

    python experiments/init_scale.py
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from _common import DATA, compile_cache, parser, refresh_summaries, save
from main import FIXED, SEEDS, SNR

STEP_MATCHED = [1.0, 10.0, 100.0]
FUNCTION_SCALE = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
DYN_INIT = [1e-3, 10.0]
DYN = dict(snr=0.3, steps=3000, n_checkpoints=40, seeds=8)
PAIRED_INIT = [1e-2, 10.0]
PAIRED_SNR = [round(float(s), 4) for s in np.geomspace(0.15, 0.45, 12)]
PAIRED_SEEDS = 64


def matched_eta(a0: float, eta: float = FIXED["eta"]) -> float:
    """``eta * min(1, sigma_0^2 d / a0^2)``: the step that keeps ``eta * max(a0^2, sigma_0^2 d)`` fixed."""
    s2 = FIXED["sigma_0"] ** 2 * FIXED["d"]
    return eta * min(1.0, s2 / a0**2)


def controls(args) -> Any:
    """The step-matched and function-scale sweeps, one per a0 (resumable), as one Dataset."""
    import xarray as xr
    from _common import WORK

    from benign.run.sweep import sweep

    base = {k: v for k, v in FIXED.items() if k not in ("eta", "sigma_0")}
    parts = []
    for variant, inits in (("step_matched", STEP_MATCHED), ("function_scale", FUNCTION_SCALE)):
        for a0 in inits:
            kw: dict[str, Any] = dict(base, init_scale=a0, eta=FIXED["eta"], sigma_0=FIXED["sigma_0"])
            if variant == "step_matched":
                kw["eta"] = matched_eta(a0)
            else:
                kw["sigma_0"] = 1e-3 / a0
            out = (args.work or WORK) / "init_scale" / f"{variant}_{a0:g}"
            ds = sweep({"snr": SNR}, seeds=SEEDS, out=str(out), progress=not args.no_progress, **kw)
            keep = ["test_error", "train_error", "steps_to_interpolation", "conserved_drift", "ratio", "ratio_predicted",
                    "w_norm", "a_norm", "diverged"]
            one = ds[keep].drop_vars([c for c in ds[keep].coords if c not in ("snr", "seed")])
            parts.append(one.expand_dims(variant=[variant], init_scale=[a0]).assign_coords(
                eta=(("variant", "init_scale"), [[kw["eta"]]]), sigma_0=(("variant", "init_scale"), [[kw["sigma_0"]]])))
    out = xr.combine_by_coords(parts, combine_attrs="drop_conflicts")
    out.attrs.update({k: v for k, v in base.items() if isinstance(v, (int, float, str))})
    out.attrs["p"] = FIXED["p"]
    return out


def paired(args) -> Any:
    """Trainable and fixed-output sweeps at a0 = PAIRED_INIT on PAIRED_SNR with PAIRED_SEEDS seeds
    (resumable; the same seeds, hence the same data and W(0) directions, for every a0 and both models):
    Dataset (model, init_scale, snr, seed) with ``test_error``, ``train_error``, ``steps_to_interpolation``
    and ``diverged``."""
    import xarray as xr
    from _common import WORK

    from benign.run.sweep import sweep

    keep = ["test_error", "train_error", "steps_to_interpolation", "diverged"]
    parts = []
    for model, axis, extra in (("trainable", "init_scale", {}), ("fixed", "output_value", {"train_output": False})):
        out = (args.work or WORK) / "init_scale" / f"paired_{model}"
        ds = sweep({"snr": PAIRED_SNR, axis: PAIRED_INIT}, seeds=PAIRED_SEEDS, out=str(out), progress=not args.no_progress,
                   **extra, **FIXED)
        assert ds is not None  # the local executor returns the results
        one = ds[keep].drop_vars([c for c in ds[keep].coords if c not in ("snr", "seed", axis)])
        parts.append(one.rename({axis: "init_scale"}).expand_dims(model=[model]))
    out = xr.concat(parts, dim="model").transpose("model", "init_scale", "snr", "seed")
    out.attrs.update({k: v for k, v in FIXED.items() if isinstance(v, (int, float, str))})
    return out


def paired_figure(pair):
    """Fraction of benign runs versus SNR for a0 = 1e-2 and 10, trainable (a) and fixed output (b), with
    each fitted boundary SNR* and its seed-jackknife interval (shaded)."""
    import matplotlib.pyplot as plt

    import benign.plot as bp
    from benign.analysis.init_scale import boundary_table

    tab = boundary_table(pair.sel(model="trainable", drop=True), pair.sel(model="fixed", drop=True), fixed_init="init_scale")
    frac = bp.benign_fraction(pair, keep=["model", "init_scale", "snr"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True, sharey=True)
    for ax, model in zip(axes, ("trainable", "fixed")):
        for i, a0 in enumerate(PAIRED_INIT):
            r = tab[(tab.model == model) & (tab.init_scale == a0)].iloc[0]
            ax.plot(pair["snr"], frac.sel(model=model, init_scale=a0), "o-", color=f"C{i}", label=f"$a_0$ = {a0:g}")
            ax.axvline(r.estimate, color=f"C{i}", ls="--")
            ax.axvspan(r.ci_low, r.ci_high, color=f"C{i}", alpha=0.15)
        ax.set_xscale("log")
        ax.set_xlabel("SNR")
        ax.set_title(f"({'ab'[model == 'fixed']}) {model if model == 'trainable' else 'fixed output a = a0'}, "
                     f"{pair.sizes['seed']} paired seeds")
        ax.legend()
    axes[0].set_ylabel("fraction of benign runs")
    return fig


def dynamics() -> Any:
    """Trajectories of the trainable network at a0 = DYN_INIT (8 seeds): Dataset (init_scale, seed, step)."""
    import xarray as xr

    import benign

    configs = [dict(FIXED, stop="none", steps=DYN["steps"], n_checkpoints=DYN["n_checkpoints"], snr=DYN["snr"],
                    init_scale=a0, seed=s) for a0 in DYN_INIT for s in range(DYN["seeds"])]
    res = benign.simulate_batch(configs, return_params=False)
    steps = np.asarray(res[0].steps)
    shape = (len(DYN_INIT), DYN["seeds"], len(steps))

    def stack(fn):
        return np.array([fn(r) for r in res]).reshape(shape)

    w = stack(lambda r: np.asarray(r.trajectory["w_norm"]).reshape(len(steps), -1).mean(1))
    a = stack(lambda r: np.abs(np.asarray(r.trajectory["a"])).reshape(len(steps), -1).mean(1))
    D = stack(lambda r: np.mean(np.asarray(r.trajectory["a"])[0] ** 2 - np.asarray(r.trajectory["w_norm"])[0] ** 2) * np.ones(len(steps)))
    dims = ("init_scale", "seed", "step")
    return xr.Dataset({"test_error": (dims, stack(lambda r: r.trajectory["test_error"])),
                       "train_loss": (dims, stack(lambda r: r.trajectory["train_loss"])),
                       "train_error": (dims, stack(lambda r: r.trajectory["train_error"])),
                       "w_norm": (dims, w), "a_norm": (dims, a), "ratio": (dims, w / a), "D_mean": (dims, D)},
                      coords={"init_scale": DYN_INIT, "seed": np.arange(DYN["seeds"]), "step": steps},
                      attrs={**{k: v for k, v in FIXED.items() if isinstance(v, (int, float))}, "snr": DYN["snr"]})


def curvature(seeds: int = 4, iters: int = 60) -> Any:
    """Largest |eigenvalue| of the Hessian of the training loss in (W, a) at init, per a0 of the main
    job (SNR 0.3, float64, power iteration on Hessian-vector products): Dataset (init_scale, seed)."""
    import jax
    import jax.numpy as jnp
    import xarray as xr
    from main import INIT

    import benign
    from benign.core import model
    from benign.core.config import make_config
    from benign.core.model import Params

    base = {k: v for k, v in FIXED.items() if k not in ("stop", "steps", "n_checkpoints", "eta")}
    lam = np.full((len(INIT), seeds), np.nan)
    with jax.enable_x64(True):
        for i, a0 in enumerate(INIT):
            for s in range(seeds):
                kw = dict(base, init_scale=a0, snr=DYN["snr"], seed=s, precision="float64")
                cfg = make_config(**kw)
                X, y, _ = benign.sample_data(**kw)
                r = benign.simulate(**kw, steps=1, eta=1e-300, n_checkpoints=2, return_params=True)
                b, Xj, yj = jnp.asarray(r.params["b"]), jnp.asarray(X), jnp.asarray(y)

                def f(W, a, b=b, X=Xj, y=yj, cfg=cfg):
                    return model.loss(cfg, Params(W, a, b), X, y)

                x0 = (jnp.asarray(r.params["W"]), jnp.asarray(r.params["a"]))
                grad = jax.grad(f, argnums=(0, 1))
                hvp = jax.jit(lambda v, x0=x0, grad=grad: jax.jvp(lambda W, a: grad(W, a), x0, v)[1])
                rng = np.random.default_rng(s)
                v = tuple(jnp.asarray(rng.normal(size=t.shape)) for t in x0)
                ev = np.nan
                for _ in range(iters):
                    nrm = float(jnp.sqrt(sum(jnp.sum(t**2) for t in v)))
                    v = tuple(t / nrm for t in v)
                    hv = hvp(v)
                    ev = float(sum(jnp.sum(p * q) for p, q in zip(v, hv)))
                    v = hv
                lam[i, s] = abs(ev)
    return xr.Dataset({"lambda_max": (("init_scale", "seed"), lam)}, coords={"init_scale": INIT, "seed": np.arange(seeds)},
                      attrs={"snr": DYN["snr"], "eta": FIXED["eta"]})


def figure(ctrl, dyn):
    import matplotlib.pyplot as plt
    import xarray as xr

    from benign.analysis.init_scale import boundary_table

    tr, fx = xr.load_dataset(DATA / "main.nc"), xr.load_dataset(DATA / "main_fixed.nc")
    tab = boundary_table(tr, fx)
    fig, axes = plt.subplots(1, 3, figsize=(19, 5.8), constrained_layout=True)
    series = {"trainable (main job)": tab[tab.model == "trainable"], "fixed output a = a0": tab[tab.model == "fixed"]}
    for variant in ctrl["variant"].values:
        sub = ctrl.sel(variant=variant).dropna("init_scale", how="all")
        series[str(variant).replace("_", " ")] = boundary_table(sub)
    import benign.plot as bp

    bp.boundary_vs_init(series, init_line=FIXED["sigma_0"] * FIXED["d"] ** 0.5, ax=axes[0])
    axes[0].set_title("(a) boundary SNR* versus $a_0$: controls")
    for i, a0 in enumerate(DYN_INIT):
        one = dyn.sel(init_scale=a0)
        st = one["step"].values
        axes[1].plot(st, one["test_error"].median("seed"), "-", color=f"C{i}", label=f"test error, $a_0$={a0:g}")
        axes[1].plot(st, one["train_error"].median("seed"), ":", color=f"C{i}", label=f"train error, $a_0$={a0:g}")
        axes[2].plot(st, one["w_norm"].median("seed"), "-", color=f"C{i}", label=f"$|w|$, $a_0$={a0:g}")
        axes[2].plot(st, one["a_norm"].median("seed"), "--", color=f"C{i}", label=f"$|a|$, $a_0$={a0:g}")
        axes[2].plot(st, one["ratio"].median("seed"), ":", color=f"C{i}", lw=2, label=f"$|w|/|a|$, $a_0$={a0:g}")
    for ax in axes[1:]:
        ax.set_xscale("log")
        ax.set_xlabel("GD step")
        ax.legend(fontsize=8)
    axes[2].set_yscale("log")
    axes[2].axhline(1.0, color="k", lw=0.8)
    axes[1].set_title(f"(b) errors over training, SNR {DYN['snr']} (median of {DYN['seeds']} seeds)")
    axes[2].set_title("(c) layer norms (mean over neurons) and their ratio")
    return fig


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--paired-only", action="store_true", help="run only the paired a0 = 1e-2 versus 10 comparison")
    args = p.parse_args()
    compile_cache(args)
    t0 = time.perf_counter()
    from benign.run.store import save_netcdf

    pair = paired(args)
    save_netcdf(pair, DATA / "init_scale_paired.nc")
    print(f"paired {dict(pair.sizes)} in {time.perf_counter() - t0:.1f} s")
    save(paired_figure(pair), "init_scale_paired")
    refresh_summaries("init_scale_paired.nc")
    if args.paired_only:
        return
    t0 = time.perf_counter()
    ctrl = controls(args)
    save_netcdf(ctrl, DATA / "init_scale.nc")
    print(f"controls {dict(ctrl.sizes)} in {time.perf_counter() - t0:.1f} s")
    dyn = dynamics()
    dyn = dyn.merge(curvature().rename(init_scale="init_scale_h", seed="seed_h"))
    save_netcdf(dyn, DATA / "init_scale_dynamics.nc")
    print(f"dynamics {dict(dyn.sizes)}; total {time.perf_counter() - t0:.1f} s")
    save(figure(ctrl, dyn), "init_scale")
    refresh_summaries("init_scale.nc")


if __name__ == "__main__":
    main()
