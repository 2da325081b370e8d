"""Redundant representations in a wide fully connected ReLU network on scikit-learn's 8x8 digits.

Issue: "A wide network on real data that ships with a package". Everything is local
(``sklearn.datasets.load_digits``, 1797 images, nothing downloaded). Task: 10-class.

Network: 64 -> 128 (ReLU) -> W (ReLU) -> 10, the last hidden width W in ``--widths``
(default 16..1024, a factor 64), ``--seeds`` networks per width and regime. Training: minibatch
SGD (momentum 0.9, batch 32, cosine learning rate from ``--lr`` to 0) for ``--epochs`` epochs,
cross-entropy, three regimes (same initialisations):

* ``wd``     weight decay ``--wd`` (coupled L2, as the paper's SGD) trained to zero training error;
* ``early``  the ``wd`` run stopped at the first epoch whose training error is <= ``--es-err``;
* ``nowd``   no weight decay, same schedule (also reaches zero training error).

Analysis (``benign.redundancy``) on the last hidden layer of each network: chunk errors (train
and test), ridge reconstruction R^2 and residual correlation, critical chunk size and groups;
error scaling of chunks of the widest network against ``err_inf`` = test error of the
ensemble average (mean softmax) of ``--ensemble`` independently trained widest networks;
information imbalance between chunks and the full layer; as a labelled add-on (not the
paper's protocol) the test error of a logistic regression retrained on chunks.

Outputs: docs/figures/redundancy_digits*.png, experiments/data/redundancy_digits*.{json,csv}.
Run ``python experiments/redundancy_digits.py`` (about 6 min on a busy 2-core CPU), ``--quick`` (< 1 min)
or ``--replot`` (figures from the stored JSON).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import benign  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402  (ships with scikit-learn)

from benign.redundancy import (  # noqa: E402
    chunk_errors,
    chunk_reconstruction,
    critical_chunk_size,
    default_sizes,
    draw_chunk,
    error_scaling,
    neuron_strata,
)
from benign.redundancy.imbalance import information_imbalance  # noqa: E402

F32 = jnp.float32


# ----------------------------------------------------------------------------- data / model
def load_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits scaled to [0, 1]; stratified 50/50 split. Returns float32 X (n, 64), int y (n,)."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)
    return Xtr, ytr, Xte, yte


def init_params(key: jax.Array, dims: tuple[int, ...]) -> list[tuple[jax.Array, jax.Array]]:
    """He-normal hidden layers, LeCun-normal readout, zero biases; float32."""
    params = []
    keys = jax.random.split(key, len(dims) - 1)
    for i, (k, fi, fo) in enumerate(zip(keys, dims[:-1], dims[1:])):
        gain = 1.0 if i == len(dims) - 2 else 2.0
        params.append((jax.random.normal(k, (fi, fo), F32) * jnp.sqrt(gain / fi).astype(F32),
                       jnp.zeros((fo,), F32)))
    return params


def forward(params, x):
    """Returns (last hidden representation (n, W), logits (n, 10))."""
    h = x
    for Wl, bl in params[:-1]:
        h = jax.nn.relu(h @ Wl + bl)
    Wo, bo = params[-1]
    return h, h @ Wo + bo


def make_trainer(n_train: int, batch: int, epochs: int, lr: float):
    steps_per_epoch = n_train // batch
    sched = optax.cosine_decay_schedule(lr, epochs * steps_per_epoch)

    def optimizer(wd):
        return optax.chain(optax.add_decayed_weights(wd), optax.sgd(sched, momentum=0.9))

    def loss_fn(params, x, y):
        _, logits = forward(params, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def epoch(carry, key, x, y, wd):
        params, opt_state = carry
        perm = jax.random.permutation(key, x.shape[0])[: steps_per_epoch * batch]
        idx = perm.reshape(steps_per_epoch, batch)
        opt = optimizer(wd)

        def step(c, ib):
            p, s = c
            g = jax.grad(loss_fn)(p, x[ib], y[ib])
            upd, s = opt.update(g, s, p)
            return (optax.apply_updates(p, upd), s), None

        (params, opt_state), _ = jax.lax.scan(step, (params, opt_state), idx)
        _, logits = forward(params, x)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        err = jnp.mean(jnp.argmax(logits, 1) != y)
        return (params, opt_state), (loss, err)

    # vmapped over seeds (leading axis of params/opt_state/key)
    v_epoch = jax.jit(jax.vmap(epoch, in_axes=(0, 0, None, None, None)))

    def train(keys, dims, x, y, wd, es_err=None):
        """Train len(keys) networks (vmapped). Returns (final params stacked over seeds,
        history [(mean loss, mean err)] per epoch, per-seed list of (early params, epoch) or None)."""
        params = jax.vmap(lambda k: init_params(k, dims))(keys)
        opt_state = jax.vmap(optimizer(wd).init)(params)
        carry = (params, opt_state)
        n = keys.shape[0]
        hist, early = [], [None] * n
        ekeys = jax.vmap(lambda k: jax.random.split(jax.random.fold_in(k, 1), epochs))(keys)
        for e in range(epochs):
            carry, (loss, err) = v_epoch(carry, ekeys[:, e], x, y, jnp.asarray(wd, F32))
            loss, err = np.asarray(loss), np.asarray(err)
            hist.append((float(loss.mean()), float(err.max())))
            for i in range(n):
                if es_err is not None and early[i] is None and err[i] <= es_err:
                    early[i] = (unstack(carry[0], i), e + 1)
        return jax.tree.map(np.asarray, carry[0]), hist, early

    return train


def unstack(params, i):
    return [(np.asarray(W[i]), np.asarray(b[i])) for W, b in params]


def represent(p, X):
    h, logits = forward([(jnp.asarray(W), jnp.asarray(b)) for W, b in p], jnp.asarray(X))
    return np.asarray(h, dtype=np.float64), np.asarray(logits, dtype=np.float64)


# ----------------------------------------------------------------------------- analysis
def analyse(p, data, args, seed):
    """Protocol on one network. Returns a dict of curves and the groups verdict."""
    Xtr, ytr, Xte, yte = data
    Htr, Ltr = represent(p, Xtr)
    Hte, Lte = represent(p, Xte)
    Wo, bo = p[-1]
    readout = (Wo.T.astype(np.float64), bo.astype(np.float64))
    W = Hte.shape[1]
    sizes = default_sizes(W)
    tr = chunk_errors(Htr, readout, ytr, sizes, args.draws, seed)
    te = chunk_errors(Hte, readout, yte, sizes, args.draws, seed)
    strata = neuron_strata(readout, W)
    n_rec = args.draws_rec if W < 256 else max(4, args.draws_rec // 2)
    rec = chunk_reconstruction(Hte, sizes, n_rec, seed + 1, strata=strata)
    g = critical_chunk_size(sizes, W, r2=rec.r2_mean, corr_out=rec.corr_out_mean, train_err=tr.mean,
                            corr_all=rec.corr_all_mean, test_err=te.mean, n_dead=rec.n_dead,
                            r2_min=args.r2_min, corr_max=args.corr_max, train_err_max=args.train_err_max)
    out = dict(width=W, w_c=g.w_c, groups=g.groups, found=g.found, n_dead=rec.n_dead,
               train_err=float(np.mean(np.argmax(Ltr, 1) != ytr)),
               test_err=float(np.mean(np.argmax(Lte, 1) != yte)),
               sizes=sizes.tolist(), chunk_train_err=tr.mean.tolist(), chunk_test_err=te.mean.tolist(),
               chunk_test_err_std=te.std.tolist(), r2=rec.r2_mean.tolist(),
               corr_out=rec.corr_out_mean.tolist(), corr_all=rec.corr_all_mean.tolist(),
               qualifies=g.qualifies.tolist())
    # authors' uniform chunks for the errors (reconstruction curves reused from the balanced draw)
    tr_u = chunk_errors(Htr, readout, ytr, sizes, args.draws, seed, balanced=False)
    te_u = chunk_errors(Hte, readout, yte, sizes, args.draws, seed, balanced=False)
    gu = critical_chunk_size(sizes, W, r2=rec.r2_mean, corr_out=rec.corr_out_mean, train_err=tr_u.mean,
                             r2_min=args.r2_min, corr_max=args.corr_max, train_err_max=args.train_err_max)
    out.update(w_c_uniform=gu.w_c, groups_uniform=gu.groups, chunk_train_err_uniform=tr_u.mean.tolist(),
               chunk_test_err_uniform=te_u.mean.tolist())
    # information-only verdict: R^2 and residual correlation, chunk training error ignored
    gi = critical_chunk_size(sizes, W, r2=rec.r2_mean, corr_out=rec.corr_out_mean,
                             r2_min=args.r2_min, corr_max=args.corr_max)
    out.update(w_c_info=gi.w_c, groups_info=gi.groups, found_info=gi.found)
    if args.holdout > 0:
        rh = chunk_reconstruction(Hte, sizes, n_rec, seed + 2, strata=strata, holdout=args.holdout)
        gh = critical_chunk_size(sizes, W, r2=rh.r2_mean, corr_out=rh.corr_out_mean,
                                 r2_min=args.r2_min, corr_max=args.corr_max)
        out.update(w_c_info_holdout=gh.w_c, groups_info_holdout=gh.groups, found_info_holdout=gh.found,
                   r2_holdout=rh.r2_mean.tolist(), corr_out_holdout=rh.corr_out_mean.tolist())
    return out, (Htr, Hte)


def probe_errors(Htr, ytr, Hte, yte, sizes, n_draws, seed):
    """Add-on, NOT the paper's protocol: test error of a logistic regression retrained on chunks."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    W, res = Htr.shape[1], []
    for w in sizes:
        errs = []
        for _ in range(n_draws):
            S = draw_chunk(W, int(w), rng)
            sc = Htr[:, S].std() + 1e-12
            clf = LogisticRegression(C=100.0, max_iter=2000).fit(Htr[:, S] / sc, ytr)
            errs.append(float(np.mean(clf.predict(Hte[:, S] / sc) != yte)))
        res.append(dict(w=int(w), mean=float(np.mean(errs)), std=float(np.std(errs))))
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="sub-minute smoke run (3 widths, short training)")
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 128, 256, 512, 1024])
    ap.add_argument("--hidden1", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--wd", type=float, default=1e-3)
    ap.add_argument("--es-err", type=float, default=0.05, help="early stop at this training error")
    ap.add_argument("--seeds", type=int, default=3, help="networks per width (wd regime)")
    ap.add_argument("--ensemble", type=int, default=8, help="widest networks for err_inf")
    ap.add_argument("--draws", type=int, default=100, help="chunks per size for errors")
    ap.add_argument("--draws-rec", type=int, default=20, help="chunks per size for reconstruction")
    ap.add_argument("--probe-draws", type=int, default=5, help="chunks per size for the retrained probe")
    ap.add_argument("--holdout", type=float, default=0.5, help="held-out fraction for the R^2 variant")
    ap.add_argument("--r2-min", type=float, default=0.95)
    ap.add_argument("--corr-max", type=float, default=0.1)
    ap.add_argument("--train-err-max", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="", help="suffix for output file names")
    ap.add_argument("--replot", action="store_true",
                    help="only redraw the figures from experiments/data/redundancy_digits{tag}.json")
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="BLAS threads for the numpy analysis (1 avoids oversubscription on busy machines)")
    args = ap.parse_args(argv)
    if args.replot:
        tag = args.tag or ("_quick" if args.quick else "")
        make_figures(_nan(json.loads((DATA_DIR / f"redundancy_digits{tag}.json").read_text())), tag)
        return
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        run(args)


def run(args: argparse.Namespace) -> None:
    if args.quick:
        args.widths, args.epochs, args.seeds, args.ensemble = [16, 64, 256], 60, 1, 2
        args.draws, args.draws_rec, args.probe_draws, args.tag = 30, 6, 2, args.tag or "_quick"
    t0 = time.time()
    data = load_data(args.seed)
    Xtr, ytr, Xte, yte = data
    x, y = jnp.asarray(Xtr), jnp.asarray(ytr)
    train = make_trainer(len(Xtr), args.batch, args.epochs, args.lr)
    root = jax.random.PRNGKey(args.seed)
    runs = {"wd": [], "early": [], "nowd": []}
    timing = {}
    Wmax = max(args.widths)
    for W in args.widths:
        dims = (64, args.hidden1, W, 10)
        keys = jax.random.split(jax.random.fold_in(root, W), args.seeds)  # same inits in both regimes
        t = time.time()
        P, hist, early = train(keys, dims, x, y, args.wd, es_err=args.es_err)
        Pn, hist_n, _ = train(keys, dims, x, y, 0.0)
        timing[f"train_{W}"] = time.time() - t
        t = time.time()
        for s in range(args.seeds):
            seed = 1000 * W + 10 * s
            r, (Htr_s, Hte_s) = analyse(unstack(P, s), data, args, seed)
            runs["wd"].append(dict(r, seed=s, final_loss=hist[-1][0]))
            if W == Wmax and s == 0:
                H_wide, Htr_wide, p_wide = Hte_s, Htr_s, unstack(P, 0)
            if early[s] is not None:
                r, _ = analyse(early[s][0], data, args, seed + 1)
                runs["early"].append(dict(r, seed=s, epoch=early[s][1]))
            r, _ = analyse(unstack(Pn, s), data, args, seed + 2)
            runs["nowd"].append(dict(r, seed=s, final_loss=hist_n[-1][0]))
        timing[f"analyse_{W}"] = time.time() - t

        def col(regime, key, W=W):
            return [q[key] for q in runs[regime] if q["width"] == W]

        print(f"W={W:5d} test err wd {np.mean(col('wd', 'test_err')):.4f} "
              f"nowd {np.mean(col('nowd', 'test_err')):.4f} early {np.mean(col('early', 'test_err')):.4f} "
              f"(epochs {col('early', 'epoch')}) | max train err "
              f"wd {hist[-1][1]:.4f} nowd {hist_n[-1][1]:.4f} | groups wd {col('wd', 'groups')} "
              f"nowd {col('nowd', 'groups')} early {col('early', 'groups')} | info-only "
              f"wd {col('wd', 'groups_info')} nowd {col('nowd', 'groups_info')} "
              f"early {col('early', 'groups_info')} | uniform wd {col('wd', 'groups_uniform')} "
              f"({time.time() - t0:.0f}s)",
              flush=True)

    # ensemble asymptote at the widest width
    t = time.time()
    keys = jax.random.split(jax.random.fold_in(root, 10**6), args.ensemble)
    Pens, _, _ = train(keys, (64, args.hidden1, Wmax, 10), x, y, args.wd)
    ens_logits = [represent(unstack(Pens, i), Xte)[1] for i in range(args.ensemble)]
    probs = np.mean([np.asarray(jax.nn.softmax(lg)) for lg in ens_logits], axis=0)
    err_inf = float(np.mean(np.argmax(probs, 1) != yte))
    member_err = [float(np.mean(np.argmax(lg, 1) != yte)) for lg in ens_logits]
    timing["ensemble"] = time.time() - t

    # error scaling of chunks of the widest nets and of full nets, above w_c (paper / info-only)
    wide = [q for q in runs["wd"] if q["width"] == Wmax]
    sizes = np.array(wide[0]["sizes"])
    chunk_err = np.mean([q["chunk_test_err"] for q in wide], axis=0)
    full_err = np.array([np.mean([q["test_err"] for q in runs["wd"] if q["width"] == W])
                         for W in args.widths])
    wc_paper = int(np.median([q["w_c"] for q in wide]))
    wc_info = int(np.median([q["w_c_info"] for q in wide]))
    scaling = {}
    for name, s_arr, e_arr in (("chunks", sizes, chunk_err), ("full_nets", np.array(args.widths), full_err)):
        for crit, w_min in (("paper_wc", wc_paper), ("info_wc", wc_info), ("all_w>=8", 8)):
            key = f"{name}_above_{crit}"
            try:
                fit = error_scaling(s_arr, e_arr, err_inf, w_min=w_min)
                scaling[key] = dict(slope=fit.slope, stderr=fit.stderr, w_min=w_min,
                                    sizes=fit.sizes_used.tolist(), excess=fit.excess_used.tolist(),
                                    n_dropped=fit.n_dropped)
            except ValueError as exc:
                scaling[key] = dict(error=str(exc), w_min=w_min)

    # information imbalance chunk <-> full layer, widest network, one chunk per size
    t = time.time()
    rng = np.random.default_rng(args.seed)
    ii = []
    strata = neuron_strata((p_wide[-1][0].T, p_wide[-1][1]), Wmax)
    for w in sizes[:-1]:
        vals = [information_imbalance(H_wide[:, draw_chunk(Wmax, int(w), rng, strata)], H_wide)
                for _ in range(3)]
        ii.append(dict(w=int(w), chunk_to_full=float(np.mean([v[0] for v in vals])),
                       full_to_chunk=float(np.mean([v[1] for v in vals]))))
    timing["imbalance"] = time.time() - t
    t = time.time()
    probe = probe_errors(Htr_wide, ytr, H_wide, yte, [w for w in sizes if w <= 128], args.probe_draws,
                         args.seed)
    timing["probe"] = time.time() - t
    timing["total"] = time.time() - t0

    # threshold sensitivity: median groups over seeds per width, one threshold varied at a time
    base = dict(r2_min=args.r2_min, corr_max=args.corr_max, train_err_max=args.train_err_max)
    variants = {"default": {}, "r2_min=0.9": dict(r2_min=0.9), "r2_min=0.99": dict(r2_min=0.99),
                "corr_max=0.07": dict(corr_max=0.07), "corr_max=0.15": dict(corr_max=0.15),
                "train_err_max=0": dict(train_err_max=0.0), "train_err_max=0.05": dict(train_err_max=0.05),
                "no_train_err (info-only)": dict(train_err_max=None)}
    sensitivity = {}
    for regime, rs in runs.items():
        sensitivity[regime] = {}
        for vname, change in variants.items():
            th = dict(base, **change)
            use_tr = th.pop("train_err_max")
            per_w = []
            for W in args.widths:
                gs = [critical_chunk_size(q["sizes"], W, r2=q["r2"], corr_out=q["corr_out"],
                                          train_err=q["chunk_train_err"] if use_tr is not None else None,
                                          train_err_max=use_tr if use_tr is not None else 0.0, **th).groups
                      for q in rs if q["width"] == W]
                per_w.append(float(np.median(gs)) if gs else None)
            sensitivity[regime][vname] = per_w

    summary = dict(
        task="10-class digits", sensitivity_groups=sensitivity, n_train=len(Xtr), n_test=len(Xte),
        args=vars(args), err_inf=err_inf,
        ensemble_member_err=member_err, scaling=scaling, imbalance=ii, probe=probe, timing_s=timing,
        platform=f"{jax.default_backend()} x{jax.device_count()}", runs=runs)
    write_outputs(summary, args.tag)
    print(json.dumps({k: summary[k] for k in ("err_inf", "scaling", "sensitivity_groups", "timing_s")},
                     indent=1, default=float))


# ----------------------------------------------------------------------------- outputs
DATA_DIR, FIG_DIR = ROOT / "experiments" / "data", ROOT / "docs" / "figures"


def write_outputs(summary: dict, tag: str) -> None:
    """Write experiments/data/redundancy_digits{tag}.{json,csv} and the figures."""
    data_dir = DATA_DIR
    data_dir.mkdir(parents=True, exist_ok=True)
    def clean(o):  # strict JSON: NaN/inf -> null, numpy scalars -> Python
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        if isinstance(o, (float, np.floating)):
            return float(o) if np.isfinite(o) else None
        return o.item() if isinstance(o, np.generic) else o

    text = json.dumps(clean(summary), indent=1, allow_nan=False)
    (data_dir / f"redundancy_digits{tag}.json").write_text(text)
    with open(data_dir / f"redundancy_digits{tag}.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["regime", "width", "seed", "train_err", "test_err", "w_c", "groups", "found",
                     "w_c_uniform", "groups_uniform", "w_c_info", "groups_info", "w_c_info_holdout",
                     "groups_info_holdout", "n_dead"])
        for regime, rs in summary["runs"].items():
            for r in rs:
                wr.writerow([regime, r["width"], r["seed"], r["train_err"], r["test_err"], r["w_c"],
                             r["groups"], r["found"], r["w_c_uniform"], r["groups_uniform"],
                             r["w_c_info"], r["groups_info"],
                             r.get("w_c_info_holdout"), r.get("groups_info_holdout"), r["n_dead"]])
    make_figures(summary, tag)


def _nan(o):
    """Inverse of the JSON cleaning: null -> NaN inside lists."""
    if isinstance(o, dict):
        return {k: _nan(v) for k, v in o.items()}
    if isinstance(o, list):
        return [np.nan if v is None else _nan(v) for v in o]
    return o


def make_figures(summary: dict, tag: str) -> None:
    """The three figures docs/figures/redundancy_digits_{groups,error,reconstruction}{tag}.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig_dir = FIG_DIR
    fig_dir.mkdir(parents=True, exist_ok=True)

    runs, widths = summary["runs"], sorted({r["width"] for r in summary["runs"]["wd"]})
    Wmax = max(widths)
    colors = {"wd": "C0", "early": "C1", "nowd": "C2"}
    shift = {"wd": 1.0, "early": 0.94, "nowd": 1.06}  # small x offsets so that curves stay visible
    labels = {"wd": "weight decay, zero train err", "early": "early-stopped", "nowd": "no weight decay"}

    # 1. groups versus width
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for regime, rs in runs.items():
        ws = sorted({r["width"] for r in rs})
        for key, a, ls, extra in (("groups", ax[0], "-", " (balanced chunks)"),
                                  ("groups_uniform", ax[0], "--", " (uniform chunks)"),
                                  ("groups_info", ax[1], "-", "")):
            g = [[r[key] for r in rs if r["width"] == w] for w in ws]
            a.errorbar(np.array(ws) * shift[regime], [np.mean(v) for v in g], yerr=[np.std(v) for v in g],
                       marker="o", ls=ls,
                       color=colors[regime], label=labels[regime] + extra, capsize=3)
    titles = ("paper criterion: R$^2$, residual corr., chunk train err",
              "information only: R$^2$ and residual corr.")
    for a, title in zip(ax, titles):
        a.plot(widths, np.array(widths) / 16, "k:", lw=0.8, label="W/16 (linear)")
        a.set(xscale="log", yscale="log", xlabel="last hidden width W", ylabel="groups W / w$_c$")
        a.set_title(title, fontsize=9)
        a.set_xticks(widths, [str(w) for w in widths])
        a.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        a.legend(fontsize=6)
    fig.suptitle("Digits (10 classes), 64-128-W-10 ReLU net: number of redundant groups "
                 "(mean and std over seeds)")
    fig.tight_layout()
    fig.savefig(fig_dir / f"redundancy_digits_groups{tag}.png", dpi=120)
    plt.close(fig)

    # 2. chunk error of the widest net vs full nets of width w; error scaling
    wide = [r for r in runs["wd"] if r["width"] == Wmax]
    sizes = np.array(wide[0]["sizes"])
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    full = [[r["test_err"] for r in runs["wd"] if r["width"] == w] for w in widths]
    for i, r in enumerate(wide):
        ax[0].plot(sizes, r["chunk_test_err"], "o-", color="C0", alpha=0.6,
                   label=f"chunks of W={Wmax} (test), {len(wide)} nets" if i == 0 else None)
        ax[0].plot(sizes, r["chunk_train_err"], "s--", color="C0", alpha=0.4,
                   label=f"chunks of W={Wmax} (train)" if i == 0 else None)
    ax[0].errorbar(widths, [np.mean(v) for v in full], yerr=[np.std(v) for v in full], marker="^",
                   color="C3", label="full nets of width w (test)", capsize=3)
    pr = summary["probe"]
    ax[0].errorbar([d["w"] for d in pr], [d["mean"] for d in pr], yerr=[d["std"] for d in pr], marker="x",
                   color="C4", ls="--", label="add-on: readout retrained on chunk", capsize=2)
    ax[0].axhline(summary["err_inf"], color="k", ls=":", label="ensemble err$_\\infty$")
    ax[0].set(xscale="log", xlabel="chunk size / width w", ylabel="error",
              title="chunk vs full-network error")
    ax[0].set_yscale("symlog", linthresh=1e-2)
    ax[0].set_ylim(0, 1.2)
    ax[0].legend(fontsize=7)
    ei = summary["err_inf"]
    ex_c = np.mean([r["chunk_test_err"] for r in wide], axis=0) - ei
    ex_f = np.array([np.mean(v) for v in full]) - ei
    ax[1].plot(sizes[ex_c > 0], ex_c[ex_c > 0], "o-", color="C0", label=f"chunks of W={Wmax}")
    if np.any(ex_f > 0):
        ax[1].plot(np.array(widths)[ex_f > 0], ex_f[ex_f > 0], "^-", color="C3", label="full nets")
    if np.any((sizes == 16) & (ex_c > 0)):
        ref = np.array([16.0, Wmax])
        ax[1].plot(ref, ex_c[sizes == 16][0] * (ref / 16) ** -0.5, "k-.", label="w$^{-1/2}$ (from w=16)")
    txt = "\n".join(f"{k}: {v['slope']:.2f}$\\pm${v['stderr']:.2f}" for k, v in summary["scaling"].items()
                    if "slope" in v) or "no fit possible"
    ax[1].text(0.03, 0.04, "fitted slopes\n" + txt, transform=ax[1].transAxes, fontsize=6)
    ax[1].set(xscale="log", yscale="log", xlabel="w", ylabel="test error - err$_\\infty$",
              title=f"error scaling (err$_\\infty$={ei:.4f}; non-positive points omitted)")
    ax[1].title.set_fontsize(8)
    ax[1].legend(fontsize=7)
    ii = summary["imbalance"]
    ws_ii = [d["w"] for d in ii]
    ax[2].plot(ws_ii, [d["chunk_to_full"] for d in ii], "o-", label="$\\Delta$(chunk$\\to$full)")
    ax[2].plot(ws_ii, [d["full_to_chunk"] for d in ii], "s-", label="$\\Delta$(full$\\to$chunk)")
    ax[2].set(xscale="log", xlabel="chunk size w", ylabel="information imbalance",
              title=f"W={Wmax}, test inputs")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(fig_dir / f"redundancy_digits_error{tag}.png", dpi=120)
    plt.close(fig)

    # 3. R^2 and residual correlation versus chunk size, per regime, widest net
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    for regime, rs in runs.items():
        r = next((q for q in rs if q["width"] == Wmax and q["seed"] == 0), None)
        if r is None:
            continue
        s = np.array(r["sizes"])
        ax[0].plot(s, r["r2"], "o-", color=colors[regime], label=labels[regime] + " (in-sample)")
        if "r2_holdout" in r:
            ax[0].plot(s, r["r2_holdout"], "o:", color=colors[regime], label=labels[regime] + " (held-out)")
        ax[1].plot(s, r["corr_out"], "o-", color=colors[regime], label=labels[regime] + " (outside chunk)")
        ax[1].plot(s, r["corr_all"], "x:", color=colors[regime], label=labels[regime] + " (all neurons)")
        ax[2].plot(s, r["chunk_train_err"], "o-", color=colors[regime], label=labels[regime])
    a = summary["args"]
    ax[0].axhline(a["r2_min"], color="k", ls="--", lw=0.8)
    ax[1].axhline(a["corr_max"], color="k", ls="--", lw=0.8)
    ax[1].axhline(np.sqrt(2 / (np.pi * summary["n_test"])), color="grey", ls=":", lw=0.8,
                  label="independent-noise floor")
    ax[2].axhline(a["train_err_max"], color="k", ls="--", lw=0.8)
    ax[0].set(xscale="log", xlabel="chunk size w", ylabel="R$^2$",
              title=f"reconstruction, W={Wmax}, seed 0 (held-out: 50% rows)",
              ylim=(-0.05, 1.05))
    ax[1].set(xscale="log", xlabel="chunk size w", ylabel="mean |corr| of residuals",
              title="residual correlation")
    ax[2].set(xscale="log", xlabel="chunk size w", ylabel="chunk training error",
              title="chunk training error")
    ax[2].set_yscale("symlog", linthresh=1e-2)
    ax[2].set_ylim(0, 1.2)
    for x_ in ax:
        x_.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(fig_dir / f"redundancy_digits_reconstruction{tag}.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
