"""Redundant representations in the two-layer ReLU CNN of this package.

Question: does redundancy in the sense of Doimo, Glielmo, Goldt and Laio (NeurIPS 2022) appear
exactly where overfitting is benign, and how does the output-layer init scale change it?

Representation: the ``2m`` per-filter responses ``h_{j,r}(x) = sum_p ReLU(<w_{j,r}, x_p>)`` on a
fresh test set from the run's distribution (:func:`benign.redundancy.cnn_representation`);
readout: the signed output layer ``(concatenate([a[0], -a[1]]), 0.0)`` with clean +-1 labels;
chunks sign-balanced (a chunk of same-sign filters always predicts one class). Training-set
representation (observed labels) for the chunk training error. The reconstruction is fitted on
half of the fresh test inputs and scored on the other half, with a ridge penalty chosen by
leave-one-out cross-validation; chunk sizes on a grid of 2 per octave.

Grid (defaults): n = 50, d = 500, p = 0.1, sigma_p = 1, sigma_0 = 0.01, eta = 0.1, T = 2000 GD
steps, widths m in {2, ..., 128} (W = 2m = 4 ... 256), ``--seeds`` seeds. Conditions:

* regime: benign ``snr = 0.25`` (clean test error 0) or harmful ``snr = 0.03`` (about 0.4);
* output init ``init_scale`` 0.01 or 1.0 (constant ``a(0)``);
* stage: ``pre`` (step ``t0 // 2``), ``zero`` (step ``t0``, the first step with training error 0),
  ``final`` (step T); weight decay 0 or ``--wd`` (final stage only).

The final networks come from ``benign.simulate_batch`` (all seeds and conditions of one width in
one compiled call). The early checkpoints replay the same run (same data and initialisation,
``benign.core.dense.gd_step``, the dense engine) with a step count that is a traced argument, so a
width needs one compilation instead of one per distinct step count; the replay's training-error
trajectory is checked against the simulator's checkpoints (mismatches stored in the JSON).

Measures (``benign.redundancy``): chunk test and training errors (``--draws`` chunks per size),
ridge R^2 and residual correlation (``--draws-rec``), ``w_c`` and groups under three criteria
(paper: R^2 >= 0.95, corr_out <= 0.1, chunk training error <= 0.01; info: R^2 + corr only;
noR2: corr + training error only; ``w_c`` on the grid and the interpolated crossing ``w*``),
information imbalance chunk -> full at the widest width;
diagnostics: fraction of the response variance due to the signal patch and the participation
ratio of the response covariance.

Outputs: docs/figures/redundancy_cnn_{groups,curves,diagnostics}{tag}.png and
experiments/data/redundancy_cnn{tag}.{json,csv}. ``--quick`` is a ~1 min smoke run (tag
``_quick``), ``--replot`` redraws the figures from the JSON.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import math
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # this checkout's package, not another installed copy
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from scipy.spatial.distance import cdist  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import benign  # noqa: E402
from benign.core import (  # noqa: E402
    dense,
    keys,  # noqa: E402
    model,
)
from benign.core.dynamics import Hyper  # noqa: E402
from benign.redundancy import (  # noqa: E402
    chunk_errors,
    chunk_reconstruction,
    cnn_representation,
    critical_chunk_size,
    default_sizes,
    draw_chunk,
    neuron_strata,
)
from benign.redundancy.imbalance import information_imbalance, neighbour_ranks  # noqa: E402

FIG_DIR = ROOT / "docs" / "figures"
DATA_DIR = ROOT / "experiments" / "data"
REGIMES = {"benign": 0.25, "harmful": 0.03}
INITS = (0.01, 1.0)
CRITERIA = ("paper", "info", "noR2")


# ----------------------------------------------------------------------------- training
def conditions(wd: float) -> list[dict]:
    """The 16 analysed conditions: (regime, init, wd, stage)."""
    out = []
    for reg in REGIMES:
        for s in INITS:
            for stage in ("pre", "zero", "final"):
                out.append(dict(regime=reg, init=s, wd=0.0, stage=stage))
            out.append(dict(regime=reg, init=s, wd=wd, stage="final"))
    return out


def cond_name(c: dict) -> str:
    wd = f"_wd{c['wd']:g}" if c["wd"] else ""
    return f"{c['regime']}_a{c['init']:g}_{c['stage']}{wd}"


def _setup(cfg, seed, chash, hyper):
    """The dense engine's initial state, drawn exactly as in the simulator (:func:`benign.core.dense.init`)."""
    return dense.init(cfg, keys.run_key(seed, chash), hyper)


@functools.partial(jax.jit, static_argnames=("cfg", "horizon"))
def _early_errors(cfg, seeds, hashes, hyper, horizon):
    """Training error at steps 0..horizon (B, horizon+1) of the dense replay, vmapped over runs."""

    def one(seed, h, hy):
        state = _setup(cfg, seed, h, hy)
        ds = state.data

        def err(prm):
            return jnp.mean((ds.y * model.forward(cfg, prm, ds.X) <= 0).astype(jnp.float32))

        def body(st, _):
            return dense.step(cfg, st), err(st.params)

        st, errs = jax.lax.scan(body, state, None, length=horizon)
        return jnp.concatenate([errs, err(st.params)[None]])

    return jax.vmap(one)(seeds, hashes, hyper)


@functools.partial(jax.jit, static_argnames=("cfg",))
def _params_at(cfg, seeds, hashes, hyper, steps):
    """Parameters after ``steps`` (B,) GD steps (a traced count: one compilation per static cfg)."""

    def one(seed, h, hy, t):
        return dense.advance(cfg, _setup(cfg, seed, h, hy), t).params

    return jax.vmap(one)(seeds, hashes, hyper, steps)


def train_width(m: int, args, conds: list[dict]) -> tuple[list[dict], dict]:
    """Train every (condition, seed) of width m; return networks [{cond, seed, result}] and checks."""
    base = dict(n=args.n, d=args.d, p=args.p, m=m, eta=args.eta, steps=args.steps,
                test_error_method="test_set")  # test_set: cheap checkpoints (not hashed: same data)
    finals = sorted({(c["regime"], c["init"], c["wd"]) for c in conds if c["stage"] == "final"})
    keys = [(f, s) for f in finals for s in range(args.seeds)]
    results = benign.simulate_batch(
        snr=[REGIMES[f[0]] for f, _ in keys], init_scale=[f[1] for f, _ in keys],
        weight_decay=[f[2] for f, _ in keys], seed=[s for _, s in keys], return_params=True, **base)
    by_key = dict(zip(keys, results))
    nets, checks = [], {"mismatch": 0, "compared": 0, "t0": {}}
    # early stages: replay the wd = 0 runs
    early = [(f, s) for (f, s) in keys if f[2] == 0.0 and any(
        c["stage"] != "final" and (c["regime"], c["init"]) == f[:2] for c in conds)]
    if early:
        cfgs = [by_key[k].config for k in early]
        seeds = jnp.asarray(np.array([c.seed for c in cfgs], np.uint32))
        hashes = jnp.asarray(np.array([c.cell_hash() for c in cfgs], np.uint32))
        hyper = Hyper(*(jnp.asarray(np.stack([np.asarray(getattr(c, f), np.float32) for c in cfgs]))
                                 for f in Hyper._fields))
        static = cfgs[0].static()
        errs = np.asarray(_early_errors(static, seeds, hashes, hyper, args.horizon))  # (B, H+1)
        t0 = np.full(len(cfgs), -1, np.int64)
        for i, k in enumerate(early):
            z = np.nonzero(errs[i] == 0)[0]
            r = by_key[k]
            if z.size:
                t0[i] = int(z[0])
            else:  # beyond the horizon: first zero on the simulator's log grid
                zz = np.nonzero(r.trajectory["train_error"] == 0)[0]
                t0[i] = int(r.steps[zz[0]]) if zz.size else -1
            sel = r.steps <= args.horizon  # replay vs simulator at shared checkpoints
            checks["compared"] += int(sel.sum())
            checks["mismatch"] += int(np.sum(r.trajectory["train_error"][sel] != errs[i][r.steps[sel]]))
            checks["t0"][f"{k[0][0]}_a{k[0][1]:g}_s{k[1]}"] = int(t0[i])
        ok = t0 >= 0
        stage_steps = {"pre": np.where(ok, t0 // 2, 0), "zero": np.where(ok, t0, 0)}
        for stage, ts in stage_steps.items():
            P = _params_at(static, seeds, hashes, hyper, jnp.asarray(ts, jnp.int32))
            for i, k in enumerate(early):
                if not ok[i]:
                    continue
                cfg = by_key[k].config
                prm = {"W": np.asarray(P.W[i]), "a": np.asarray(P.a[i]), "b": np.asarray(P.b[i])}
                res = SimpleNamespace(config=cfg, params=prm)  # what cnn_representation and analyse read
                nets.append(dict(cond=dict(regime=k[0][0], init=k[0][1], wd=0.0, stage=stage), seed=k[1],
                                 result=res, step=int(ts[i]), t0=int(t0[i])))
    for (f, s), r in by_key.items():
        c = dict(regime=f[0], init=f[1], wd=f[2], stage="final")
        if c in conds:
            nets.append(dict(cond=c, seed=s, result=r, step=args.steps, t0=None, sim_test_error=r.test_error,
                             diverged=bool(r.diverged)))
    return [n for n in nets if n["cond"] in conds], checks


# ----------------------------------------------------------------------------- analysis
def signal_fraction(result, H: np.ndarray) -> float:
    """Share of the test-response variance due to the signal patch: sum_r <w_r, mu>^2 / 4 over sum var(h_r).

    The signal patch of an input is ``y mu`` (y = +-1 with probability 1/2), so its response
    ``ReLU(y <w, mu>)`` has variance ``<w, mu>^2 / 4``; it is independent of the noise patch.
    """
    cfg = result.config
    s = np.asarray(result.params["W"], np.float64)[..., 0] * cfg.mu_norm  # mu = |mu| e_1
    return float(np.sum(s**2 / 4.0) / np.sum(H.var(axis=0)))


def participation_ratio(H: np.ndarray) -> float:
    """Effective dimension ``(sum lambda)^2 / sum lambda^2`` of the covariance of H."""
    lam = np.clip(np.linalg.eigvalsh(np.cov(H, rowvar=False)), 0.0, None)
    return float(lam.sum() ** 2 / max(np.sum(lam**2), 1e-300))


def imbalance_curve(H: np.ndarray, readout, sizes, n_draws: int, n_points: int, rng) -> dict:
    """Delta(chunk -> full) and Delta(full -> chunk) per size, mean and std over chunks.

    Same definition as :func:`benign.imbalance.information_imbalance` (mid-ranks, tied nearest
    neighbours averaged); the full layer's distances and ranks are computed once.
    """
    N = H.shape[0]
    idx = np.sort(rng.choice(N, size=min(n_points, N), replace=False))
    X = H[idx]
    W = H.shape[1]
    strata = neuron_strata(readout, W)
    D_full = cdist(X, X, "sqeuclidean")
    np.fill_diagonal(D_full, np.inf)
    R_full = neighbour_ranks(X)
    n = X.shape[0]

    def delta(D_from, R_to):
        nn = D_from == D_from.min(axis=1, keepdims=True)
        return float(2.0 / n * np.mean((R_to * nn).sum(axis=1) / nn.sum(axis=1)))

    cf, fc, probe = [], [], None
    for w in sizes:
        a, b = [], []
        for _ in range(n_draws if w < W else 1):
            S = draw_chunk(W, int(w), rng, strata)
            D_c = cdist(X[:, S], X[:, S], "sqeuclidean")
            np.fill_diagonal(D_c, np.inf)
            a.append(delta(D_c, R_full))
            b.append(delta(D_full, neighbour_ranks(X[:, S])))
            if probe is None and w >= 2 and w < W:
                probe = (S, a[-1], b[-1])
        cf.append((np.mean(a), np.std(a)))
        fc.append((np.mean(b), np.std(b)))
    if probe is not None:  # one chunk recomputed with the package function: must agree
        check = information_imbalance(X[:, probe[0]], X)
        assert abs(check[0] - probe[1]) < 1e-12 and abs(check[1] - probe[2]) < 1e-12, (check, probe[1:])
    return dict(sizes=[int(s) for s in sizes], chunk_to_full=[x[0] for x in cf], chunk_to_full_std=[x[1] for x in cf],
                full_to_chunk=[x[0] for x in fc], full_to_chunk_std=[x[1] for x in fc], n_points=int(n))


def analyse(net: dict, args, seed: int) -> dict:
    r = net["result"]
    H, ro, y = cnn_representation(r, args.n_test, seed=10_000 + net["seed"])
    Ht, _, yt = cnn_representation(r, split="train")
    W = H.shape[1]
    sizes = default_sizes(W, args.per_octave)
    rng = np.random.default_rng(seed)
    chunk_seed = int(rng.integers(2**63))
    te = chunk_errors(H, ro, y, sizes, args.draws, chunk_seed, balanced=True)
    tr = chunk_errors(Ht, ro, yt, sizes, args.draws, chunk_seed, balanced=True)
    rec = chunk_reconstruction(H, sizes, args.draws_rec, rng, "cv", strata=neuron_strata(ro, W), holdout=0.5)
    verdicts = {}
    for crit in CRITERIA:
        g = critical_chunk_size(
            sizes, W, r2=rec.r2_mean if crit != "noR2" else np.full(sizes.size, 1.0),
            corr_out=rec.corr_out_mean, train_err=tr.mean if crit != "info" else None,
            r2_min=args.r2_min, corr_max=args.corr_max, train_err_max=args.train_err_max)
        verdicts[crit] = dict(w_c=g.w_c, groups=g.groups, found=g.found, w_star=g.w_star, groups_star=g.groups_star)
    full_clean = float(np.mean(np.where(H @ ro[0] > 0, 1, -1) != y))
    c = net["cond"]
    return dict(
        condition=cond_name(c), **c, m=int(r.config.m), W=int(W), seed=int(net["seed"]), step=int(net["step"]),
        t0=net["t0"], train_error=float(np.mean(np.where(Ht @ ro[0] > 0, 1, -1) != yt)),
        test_error_clean=full_clean, test_error=args.p + (1 - 2 * args.p) * full_clean,
        sim_test_error=net.get("sim_test_error"), diverged=net.get("diverged", False),
        a_mean=float(np.mean(np.abs(r.params["a"]))), w_mean=float(np.mean(np.linalg.norm(r.params["W"], axis=-1))),
        signal_fraction=signal_fraction(r, H), participation_ratio=participation_ratio(H), n_dead=int(rec.n_dead),
        **{f"w_c_{k}": v["w_c"] for k, v in verdicts.items()}, **{f"groups_{k}": v["groups"] for k, v in verdicts.items()},
        **{f"found_{k}": v["found"] for k, v in verdicts.items()},
        **{f"w_star_{k}": v["w_star"] for k, v in verdicts.items()},
        **{f"groups_star_{k}": v["groups_star"] for k, v in verdicts.items()},
        curves=dict(sizes=sizes.tolist(), test_err=te.mean.tolist(), test_err_std=te.std.tolist(),
                    train_err=tr.mean.tolist(), r2=rec.r2_mean.tolist(), corr_out=rec.corr_out_mean.tolist(),
                    corr_all=rec.corr_all_mean.tolist(), alpha=rec.alpha.tolist()),
        _H=H, _ro=ro,
    )


SENSITIVITY = {  # one threshold of the paper criterion changed at a time
    "paper": {}, "r2_min=0.9": {"r2_min": 0.9}, "r2_min=0.99": {"r2_min": 0.99},
    "corr_max=0.07": {"corr_max": 0.07}, "corr_max=0.15": {"corr_max": 0.15},
    "train_err_max=0": {"train_err_max": 0.0}, "train_err_max=0.05": {"train_err_max": 0.05},
}


def sensitivity(records: list[dict], cfg: dict) -> dict:
    """{variant: {condition: {W: median groups over seeds}}} recomputed from the stored curves."""
    out = {}
    for name, change in SENSITIVITY.items():
        th = {**dict(r2_min=cfg["r2_min"], corr_max=cfg["corr_max"], train_err_max=cfg["train_err_max"]), **change}
        acc: dict = {}
        for r in records:
            c = r["curves"]
            corr = np.array([np.nan if v is None else v for v in c["corr_out"]], float)
            r2 = np.array([np.nan if v is None else v for v in c["r2"]], float)
            g = critical_chunk_size(c["sizes"], r["W"], r2=r2, corr_out=corr, train_err=c["train_err"], **th)
            acc.setdefault(r["condition"], {}).setdefault(int(r["W"]), []).append(g.groups)
        out[name] = {cond: {W: float(np.median(v)) for W, v in sorted(byW.items())} for cond, byW in acc.items()}
    return out


# ----------------------------------------------------------------------------- figures
COLORS = {"benign": "tab:blue", "harmful": "tab:red"}
STYLES = {"pre": ":", "zero": "--", "final": "-", "final_wd": "-."}


def _style_key(rec: dict) -> str:
    return "final_wd" if rec["wd"] else rec["stage"]


def _label(rec: dict, wd: float) -> str:
    st = {"pre": "pre (t0/2)", "zero": "zero (t0)", "final": "final", "final_wd": f"final, wd {wd:g}"}
    return f"{rec['regime']}, {st[_style_key(rec)]}"


def _groups_table(records: list[dict], wd: float) -> dict:
    """{condition: {W: {criterion: median groups over seeds, ...}}}, conditions in :func:`conditions` order."""
    order = [cond_name(c) for c in conditions(wd)]
    out: dict = {}
    for r in sorted(records, key=lambda r: (order.index(r["condition"]), r["W"], r["seed"])):
        out.setdefault(r["condition"], {}).setdefault(r["W"], []).append(r)
    table = {}
    for cond, byW in out.items():
        table[cond] = {}
        for W, rs in sorted(byW.items()):
            row = {f"groups_{k}": float(np.median([r[f"groups_{k}"] for r in rs])) for k in CRITERIA}
            row.update({f"groups_star_{k}": float(np.median([r[f"groups_star_{k}"] for r in rs])) for k in CRITERIA})
            row.update({f"groups_{k}_seeds": [r[f"groups_{k}"] for r in rs] for k in CRITERIA})
            for key in ("test_error_clean", "train_error", "signal_fraction", "participation_ratio", "step"):
                row[key] = float(np.mean([r[key] for r in rs]))
            table[cond][int(W)] = row
    return table


def make_figures(blob: dict, tag: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs, wd = blob["records"], blob["config"]["wd"]
    table = blob["groups_table"]
    reps = {r["condition"]: r for r in recs}
    paths = []
    # groups vs width
    titles = {"paper": "paper: R$^2\\geq$0.95, corr$\\leq$0.1, chunk train err$\\leq$0.01",
              "info": "info only: R$^2$ + corr", "noR2": "no R$^2$: corr + chunk train err"}
    fig, axes = plt.subplots(len(CRITERIA), 2, figsize=(11, 3.2 * len(CRITERIA)), sharex=True, squeeze=False)
    for j, s in enumerate(INITS):
        for i, crit in enumerate(CRITERIA):
            ax = axes[i, j]
            for k, (cond, rows) in enumerate(table.items()):
                r0 = reps[cond]
                if r0["init"] != s:
                    continue
                Ws = sorted(int(w) for w in rows)
                g = [(rows[str(w)] if str(w) in rows else rows[w]).get(f"groups_star_{crit}") for w in Ws]
                off = 1 + 0.03 * (k % 8 - 3.5)  # small offsets so overlapping lines stay visible
                ax.plot(np.array(Ws) * off, g, STYLES[_style_key(r0)], color=COLORS[r0["regime"]], marker="o", ms=3,
                        label=_label(r0, wd))
            Wg = np.array(sorted({r["W"] for r in recs}))
            ax.plot(Wg, Wg / 4, color="0.7", lw=0.8, label="W/4")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log", base=2)
            ax.set_title(f"init_scale {s:g} -- {titles[crit]}", fontsize=9)
            ax.set_ylabel("groups* = W / w* (median over seeds)")
            if i == len(CRITERIA) - 1:
                ax.set_xlabel("W = 2m")
    axes[0, 1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    p = FIG_DIR / f"redundancy_cnn_groups{tag}.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)

    # curves at the widest width, seed 0
    Wmax = max(r["W"] for r in recs)
    wide = [r for r in recs if r["W"] == Wmax and r["seed"] == 0]
    imb = blob.get("imbalance", {})
    panels = [("test_err", "chunk test error (clean labels)"), ("train_err", "chunk training error"),
              ("r2", "R$^2$ (held-out half, variance-weighted)"), ("corr_out", "|residual corr| outside chunk"),
              ("imb", "$\\Delta$(chunk$\\to$full)")]
    fig, axes = plt.subplots(2, len(panels), figsize=(4.0 * len(panels), 7), squeeze=False)
    for j, s in enumerate(INITS):
        for k, (key, title) in enumerate(panels):
            ax = axes[j, k]
            for r in wide:
                if r["init"] != s:
                    continue
                if key == "imb":
                    if r["condition"] not in imb:
                        continue
                    x, yv = imb[r["condition"]]["sizes"], imb[r["condition"]]["chunk_to_full"]
                else:
                    x, yv = r["curves"]["sizes"], r["curves"][key]
                ax.plot(x, yv, STYLES[_style_key(r)], color=COLORS[r["regime"]], marker="o", ms=3, label=_label(r, wd))
            if key == "r2":
                ax.axhline(blob["config"]["r2_min"], color="0.6", lw=0.8)
            if key == "corr_out":
                ax.axhline(blob["config"]["corr_max"], color="0.6", lw=0.8)
            if key == "train_err":
                ax.axhline(blob["config"]["train_err_max"], color="0.6", lw=0.8)
                ax.set_yscale("symlog", linthresh=1e-3)
                ax.set_ylim(bottom=0)
            ax.set_xscale("log", base=2)
            ax.set_title(f"{title}\ninit_scale {s:g}, W = {Wmax}", fontsize=9)
            ax.set_xlabel("chunk size w")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    p = FIG_DIR / f"redundancy_cnn_curves{tag}.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)

    # diagnostics vs width
    diag = [("signal_fraction", "signal share of response variance"), ("participation_ratio", "participation ratio of cov(H)"),
            ("test_error_clean", "full-network clean test error")]
    fig, axes = plt.subplots(2, len(diag), figsize=(4.2 * len(diag), 6.5), squeeze=False)
    for j, s in enumerate(INITS):
        for k, (key, title) in enumerate(diag):
            ax = axes[j, k]
            for cond, rows in table.items():
                r0 = reps[cond]
                if r0["init"] != s:
                    continue
                Ws = sorted(int(w) for w in rows)
                ax.plot(Ws, [rows[str(w)][key] if str(w) in rows else rows[w][key] for w in Ws], STYLES[_style_key(r0)],
                        color=COLORS[r0["regime"]], marker="o", ms=3, label=_label(r0, wd))
            ax.set_xscale("log", base=2)
            if key == "participation_ratio":
                ax.set_yscale("log", base=2)
            ax.set_title(f"{title}, init_scale {s:g}", fontsize=9)
            ax.set_xlabel("W = 2m")
    axes[0, 1].legend(fontsize=7)
    fig.tight_layout()
    p = FIG_DIR / f"redundancy_cnn_diagnostics{tag}.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)
    return paths


# ----------------------------------------------------------------------------- main
def _clean(x):
    """JSON-safe copy (NaN -> None, numpy scalars -> Python)."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items() if not str(k).startswith("_")}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def run(args) -> None:
    t_start = time.time()
    conds = conditions(args.wd)
    records, checks, timing = [], {}, {}
    imbalance = {}
    Wmax = 2 * max(args.widths)
    for m in args.widths:
        t = time.time()
        nets, chk = train_width(m, args, conds)
        checks[m] = chk
        timing[f"train_m{m}"] = time.time() - t
        t = time.time()
        for i, net in enumerate(nets):
            rec = analyse(net, args, seed=args.seed * 1_000_003 + 1000 * m + i)
            if rec["W"] == Wmax and rec["seed"] == 0:
                imbalance[rec["condition"]] = imbalance_curve(
                    rec["_H"], rec["_ro"], default_sizes(Wmax).tolist(), args.draws_imb,
                    args.imb_points, np.random.default_rng(args.seed + 7))
            records.append({k: v for k, v in rec.items() if not k.startswith("_")})
        timing[f"analyse_m{m}"] = time.time() - t
        print(f"m={m:4d}: {len(nets)} networks, train {timing[f'train_m{m}']:.1f} s, "
              f"analyse {timing[f'analyse_m{m}']:.1f} s, replay/simulator train-error mismatches "
              f"{chk['mismatch']}/{chk['compared']}", flush=True)
    timing["total"] = time.time() - t_start
    cfg = {k: v for k, v in vars(args).items() if k not in ("replot",)}
    cfg["regimes"], cfg["inits"] = REGIMES, list(INITS)
    blob = dict(config=cfg, timing=timing, checks=checks, records=records, groups_table=_groups_table(records, args.wd),
                imbalance=imbalance)
    blob = _clean(blob)
    blob["sensitivity"] = _clean(sensitivity(blob["records"], blob["config"]))
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    (DATA_DIR / f"redundancy_cnn{args.tag}.json").write_text(json.dumps(blob, indent=1))
    flat = [{k: v for k, v in r.items() if k != "curves"} for r in blob["records"]]
    with open(DATA_DIR / f"redundancy_cnn{args.tag}.csv", "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(flat[0]))
        wr.writeheader()
        wr.writerows(flat)
    for p in make_figures(blob, args.tag):
        print("wrote", p.relative_to(ROOT))
    print_summary(blob)
    print(f"total {time.time() - t_start:.1f} s")


def print_summary(blob: dict) -> None:
    table = blob["groups_table"]
    Ws = sorted({int(w) for rows in table.values() for w in rows})
    for crit in CRITERIA:
        print(f"\ngroups ({crit}), median over seeds; W = " + " ".join(f"{w:>5d}" for w in Ws))
        for cond, rows in table.items():
            print(f"  {cond:28s}" + " ".join(f"{rows[str(w)][f'groups_{crit}']:5g}" if str(w) in rows else "    -"
                                             for w in Ws))
    Wl = [str(w) for w in Ws[-2:]]
    print(f"\nthreshold sensitivity of the paper criterion: median groups at W = {', '.join(Wl)}")
    for name, tab in blob.get("sensitivity", {}).items():
        print(f"  {name:20s}" + "  ".join(f"{c}: " + "/".join(f"{tab[c].get(w, float('nan')):g}" for w in Wl)
                                       for c in tab if "final" in c))
    print("\nclean test error / signal share / participation ratio at the widest W:")
    for cond, rows in table.items():
        r = rows[str(Ws[-1])]
        print(f"  {cond:28s} {r['test_error_clean']:.3f}  {r['signal_fraction']:.3f}  {r['participation_ratio']:.1f}"
              f"  train_err {r['train_error']:.3f}  step {r['step']:.0f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="~1 min smoke run (3 widths, 1 seed, fewer draws)")
    ap.add_argument("--widths", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64, 128], help="filters per class m")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--d", type=int, default=500)
    ap.add_argument("--p", type=float, default=0.1)
    ap.add_argument("--eta", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--wd", type=float, default=0.01, help="weight decay of the wd condition")
    ap.add_argument("--horizon", type=int, default=256, help="steps replayed to find the first zero training error")
    ap.add_argument("--n-test", type=int, default=2000, help="fresh test inputs for the representation")
    ap.add_argument("--draws", type=int, default=100, help="chunks per size for the errors")
    ap.add_argument("--draws-rec", type=int, default=10, help="chunks per size for the reconstruction")
    ap.add_argument("--per-octave", type=int, default=2, help="chunk sizes per octave")
    ap.add_argument("--draws-imb", type=int, default=3, help="chunks per size for the information imbalance")
    ap.add_argument("--imb-points", type=int, default=1000, help="test inputs for the information imbalance")
    ap.add_argument("--r2-min", type=float, default=0.95)
    ap.add_argument("--corr-max", type=float, default=0.1)
    ap.add_argument("--train-err-max", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="", help="suffix of the output files")
    ap.add_argument("--replot", action="store_true", help="redraw the figures from the stored JSON")
    ap.add_argument("--compile-cache", action="store_true", help="use JAX's persistent compilation cache")
    ap.add_argument("--blas-threads", type=int, default=1, help="BLAS threads for the numpy analysis")
    args = ap.parse_args(argv)
    if args.quick:
        args.widths, args.seeds, args.steps, args.draws, args.draws_rec = [2, 8, 32], 1, 500, 30, 6
        args.n_test, args.imb_points, args.draws_imb, args.tag = 1000, 400, 2, args.tag or "_quick"
    if args.replot:
        blob = json.loads((DATA_DIR / f"redundancy_cnn{args.tag}.json").read_text())
        blob.setdefault("sensitivity", _clean(sensitivity(blob["records"], blob["config"])))
        for p in make_figures(blob, args.tag):
            print("wrote", p.relative_to(ROOT))
        print_summary(blob)
        return
    if args.compile_cache:
        from benign.run.cache import enable_compile_cache

        enable_compile_cache()
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        run(args)


if __name__ == "__main__":
    main()
