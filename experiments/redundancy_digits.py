"""Redundant representations in a wide fully connected ReLU network on scikit-learn's 8x8 digits.

Everything is local (``sklearn.datasets.load_digits``, 1797 images, nothing downloaded). The whole
network widens: 64 -> W -> W -> 10 (ReLU), and the redundancy protocol of ``benign.redundancy``
runs on the last hidden layer. Two tasks:

* ``clean``: 10-class digits, stratified 50/50 split (898 train, 899 test), W in ``--widths``
  (default 64 ... 4096). Regimes, all with the same optimiser and number of steps:

  - ``wd``       weight decay ``--wd`` (the largest value found to interpolate), readout init
                 LeCun-normal;
  - ``wd_zero``  the same, readout initialised at zero;
  - ``nowd``     no weight decay;
  - ``strong``   weight decay with ``mean lr * wd * steps = --strong-product`` (default 2, the
                 paper's CIFAR schedule): it stops short of zero training error (the
                 non-interpolating control);
  - ``untrained`` the initialisation (readout LeCun-normal), nothing trained.

* ``noisy``: ``--noisy-train`` training images (stratified) with a fraction ``--noise`` of
  their labels replaced by a different random class, the other 1397 images (clean labels) as
  the test set. No weight decay (so every network interpolates the noisy labels), readout
  LeCun-normal (``nowd``) or zero (``nowd_zero``). W in ``--noisy-widths``; the widest width has
  ``--ensemble`` networks, whose mean softmax gives ``err_inf``.

Training: minibatch SGD (momentum 0.9, batch ``--batch``, cosine learning rate from ``--lr`` to 0)
for ``--epochs`` epochs, cross-entropy, float32, all seeds of one (regime, W) cell vmapped in one
compiled scan.

Analysis per network (clean task): chunk training and test errors of the trained readout
restricted to uniform nested chunks (``--draws`` per size, ``--per-octave`` sizes per octave up
to ``--fine-max``, powers of 2 above), the test error of the readout minus its initial value,
the training error of stratified chunks (a variant of the paper criterion); the ridge
reconstruction fitted on the training representation and scored on the test representation
(alpha by leave-one-out cross-validation, sizes ``w >= n_train - 1`` and above ``--max-rec-size``
skipped, ``--max-targets`` target neurons, residual correlation over at most ``--max-corr``
neurons); the critical size ``w_c`` and the
interpolated crossing ``w*`` under the paper criterion (R^2 >= 0.95, outside residual
correlation <= 0.1, chunk training error <= 0.01) and the information criterion (R^2 and
residual correlation only); how much of the initialisation survives in each layer.
Noisy task: per-test-point chunk and full-network errors, bootstrapped over test points and
networks for the error-scaling exponents.

``--task bias`` retrains some clean cells to compare chunk errors with and without the readout
bias. Each (task, regime, W) cell is cached under ``results/redundancy_digits/`` (gitignored), so an
interrupted run resumes; the summaries go to ``experiments/data/redundancy_digits.json``,
``redundancy_digits.csv``, ``redundancy_digits_noisy.json`` and ``redundancy_digits_bias.json``. Tables, numbers and figures are
made from those files by ``experiments/redundancy_report.py``.

``python experiments/redundancy_digits.py`` runs both tasks; ``--quick`` is a small smoke run
(tag ``_quick``); ``--task clean|noisy`` runs one.
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
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from benign.redundancy import (  # noqa: E402
    chunk_errors,
    chunk_reconstruction,
    critical_chunk_size,
    default_sizes,
    draw_chunk,
)

F32 = jnp.float32
DATA_DIR = ROOT / "experiments" / "data"
CACHE = ROOT / "results" / "redundancy_digits"
CLEAN_REGIMES = ("wd", "wd_zero", "nowd", "strong", "untrained")
NOISY_REGIMES = ("nowd", "nowd_zero")


# ----------------------------------------------------------------------------- data / model
def load_clean(seed: int = 0):
    """Digits / 16, stratified 50/50 split: float32 X (n, 64), int64 y (n,)."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)


def load_noisy(n_train: int, noise: float, seed: int = 0):
    """``n_train`` stratified training images with a ``noise`` fraction of labels moved to another
    class (uniformly), the rest as a clean test set. Returns Xtr, Xte, ytr_noisy, yte, flipped mask."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y, train_size=n_train, stratify=y, random_state=seed)
    rng = np.random.default_rng(seed + 1)
    flip = rng.random(n_train) < noise
    ytr_n = np.where(flip, (ytr + rng.integers(1, 10, n_train)) % 10, ytr)
    return Xtr, Xte, ytr_n, yte, flip


def init_params(key, W: int, zero_readout: bool):
    """64 -> W -> W -> 10: He-normal hidden layers, LeCun-normal (or zero) readout, zero biases."""
    dims = (64, W, W, 10)
    ks = jax.random.split(key, 3)
    params = []
    for i, (k, fi, fo) in enumerate(zip(ks, dims[:-1], dims[1:])):
        gain = 1.0 if i == 2 else 2.0
        scale = 0.0 if (i == 2 and zero_readout) else jnp.sqrt(gain / fi)
        params.append((jax.random.normal(k, (fi, fo), F32) * scale, jnp.zeros((fo,), F32)))
    return params


def forward(params, x):
    """(last hidden representation (n, W), logits (n, 10))."""
    h = x
    for Wl, bl in params[:-1]:
        h = jax.nn.relu(h @ Wl + bl)
    return h, h @ params[-1][0] + params[-1][1]


def train_cell(keys, W: int, X, y, *, wd: float, zero_readout: bool, epochs: int, batch: int, lr: float,
               train: bool = True):
    """Train len(keys) networks (vmapped). Returns (initial params, final params), numpy, stacked."""
    n = X.shape[0]
    spe = n // batch
    sched = optax.cosine_decay_schedule(lr, max(1, epochs * spe))
    opt = optax.chain(optax.add_decayed_weights(wd), optax.sgd(sched, momentum=0.9))
    x, yy = jnp.asarray(X), jnp.asarray(y)

    def loss_fn(p, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(forward(p, xb)[1], yb).mean()

    def one(key):
        p0 = init_params(key, W, zero_readout)
        if not train:
            return p0, p0

        def epoch(c, k):
            idx = jax.random.permutation(k, n)[: spe * batch].reshape(spe, batch)

            def step(c, ib):
                p, s = c
                g = jax.grad(loss_fn)(p, x[ib], yy[ib])
                u, s = opt.update(g, s, p)
                return (optax.apply_updates(p, u), s), None

            return jax.lax.scan(step, c, idx)[0], None

        (p, _), _ = jax.lax.scan(epoch, (p0, opt.init(p0)), jax.random.split(jax.random.fold_in(key, 1), epochs))
        return p0, p

    P0, P = jax.jit(jax.vmap(one))(keys)
    return jax.tree.map(np.asarray, P0), jax.tree.map(np.asarray, P)


def unstack(P, i):
    return [(W[i], b[i]) for W, b in P]


def represent(p, X):
    h, logits = jax.jit(forward)([(jnp.asarray(W), jnp.asarray(b)) for W, b in p], jnp.asarray(X))
    return np.asarray(h, np.float64), np.asarray(logits, np.float64)


def survival(p0, p) -> dict:
    """Share of each layer's initial weights left in the final ones: <W_T, W_0> / |W_0|^2, and |W_T| / |W_0|."""
    out = {}
    for name, (a0, _), (a, _) in zip(("layer1", "layer2", "readout"), p0, p):
        n0 = float(np.sum(a0.astype(np.float64) ** 2))
        out[f"{name}_init_share"] = float(np.sum(a.astype(np.float64) * a0) / n0) if n0 > 0 else None
        out[f"{name}_norm_ratio"] = float(np.linalg.norm(a) / np.sqrt(n0)) if n0 > 0 else None
    return out


# ----------------------------------------------------------------------------- analysis
def chunk_sizes(W: int, args) -> np.ndarray:
    """``--per-octave`` sizes per octave up to ``--fine-max``, powers of 2 above, and W."""
    fine = default_sizes(W, args.per_octave)
    return np.unique(np.concatenate([fine[fine <= args.fine_max], default_sizes(W)]))


def analyse_clean(p0, p, data, args, seed: int) -> dict:
    """The protocol on one network of the clean task (see the module docstring)."""
    Xtr, Xte, ytr, yte = data
    Htr, Ltr = represent(p, Xtr)
    Hte, Lte = represent(p, Xte)
    W = Hte.shape[1]
    A, b = p[-1][0].T.astype(np.float64), p[-1][1].astype(np.float64)
    A0 = p0[-1][0].T.astype(np.float64)
    ro = (A, b)
    sizes = chunk_sizes(W, args)
    tr = chunk_errors(Htr, ro, ytr, sizes, args.draws, seed)
    te = chunk_errors(Hte, ro, yte, sizes, args.draws, seed)
    tr_s = chunk_errors(Htr, ro, ytr, sizes, args.draws, seed, balanced=True)
    out = dict(width=W, sizes=sizes.tolist(), train_err=float(np.mean(np.argmax(Ltr, 1) != ytr)),
               test_err=float(np.mean(np.argmax(Lte, 1) != yte)),
               chunk_train_err=tr.mean.tolist(), chunk_test_err=te.mean.tolist(), chunk_test_err_std=te.std.tolist(),
               chunk_train_err_strat=tr_s.mean.tolist(),
               readout_norm=float(np.linalg.norm(A)), readout_init_norm=float(np.linalg.norm(A0)))
    if np.any(A0 != 0) and np.any(A != A0):  # the readout minus its initial value
        ro_d = (A - A0, b)
        out["chunk_test_err_minus_init"] = chunk_errors(Hte, ro_d, yte, sizes, args.draws, seed).mean.tolist()
        out["test_err_minus_init"] = float(np.mean(np.argmax(Hte @ (A - A0).T + b, 1) != yte))
    rec = chunk_reconstruction(Hte, sizes, args.draws_rec, seed + 1, "cv", H_fit=Htr, max_corr=args.max_corr,
                               max_targets=args.max_targets, max_size=args.max_rec_size, cv_targets=args.cv_targets,
                               corr_all=False)
    out.update(r2=rec.r2_mean.tolist(), r2_std=rec.r2_std.tolist(), r2_out=rec.r2_out_mean.tolist(),
               corr_out=rec.corr_out_mean.tolist(), corr_out_std=rec.corr_out_std.tolist(),
               alpha=rec.alpha.tolist(), skipped=rec.skipped.tolist(),
               n_dead=rec.n_dead, n_fit=rec.n_fit, n_eval=rec.n_eval)
    th = dict(r2_min=args.r2_min, corr_max=args.corr_max)
    crits = {
        "paper": dict(train_err=tr.mean, train_err_max=args.train_err_max),
        "paper_strat": dict(train_err=tr_s.mean, train_err_max=args.train_err_max),
        "info": dict(),
        # chunk training error within train_err_max of the whole network's (for non-interpolating nets)
        "relative": dict(train_err=tr.mean, train_err_max=out["train_err"] + args.train_err_max),
    }
    for name, kw in crits.items():
        g = critical_chunk_size(sizes, W, r2=rec.r2_mean, corr_out=rec.corr_out_mean, **th, **kw)
        out.update({f"w_c_{name}": g.w_c, f"w_star_{name}": g.w_star, f"groups_{name}": g.groups,
                    f"groups_star_{name}": g.groups_star, f"found_{name}": g.found})
    return out


def noisy_points(p, data, sizes, draws: int, seed: int) -> dict:
    """Per-test-point error of uniform chunks of one network, averaged over ``draws`` chunks: (S, N_test)."""
    Xtr, Xte, ytr, yte, _ = data
    Hte, Lte = represent(p, Xte)
    A, b = p[-1][0].T.astype(np.float64), p[-1][1].astype(np.float64)
    W = Hte.shape[1]
    rng = np.random.default_rng(seed)
    wrong = np.zeros((len(sizes), len(yte)))
    for i, w in enumerate(sizes):
        nd = draws if w < W else 1
        for _ in range(nd):
            S = draw_chunk(W, int(w), rng)
            wrong[i] += np.argmax(Hte[:, S] @ A[:, S].T + b, 1) != yte
        wrong[i] /= nd
    Htr, Ltr = represent(p, Xtr)
    return dict(wrong=wrong, logits=Lte, train_err=float(np.mean(np.argmax(Ltr, 1) != ytr)))


# ----------------------------------------------------------------------------- cells
def cell_path(tag: str, task: str, regime: str, W: int, ext: str) -> Path:
    return CACHE / f"{task}{tag}" / f"{regime}_W{W}.{ext}"


def regime_setup(regime: str, args, n_train: int) -> dict:
    steps = args.epochs * (n_train // args.batch)
    mean_lr = args.lr / 2  # cosine from lr to 0
    wd = {"wd": args.wd, "wd_zero": args.wd, "nowd": 0.0, "nowd_zero": 0.0, "untrained": 0.0,
          "strong": args.strong_product / (mean_lr * steps)}[regime]
    return dict(wd=wd, zero_readout=regime.endswith("_zero"), train=regime != "untrained", steps=steps,
                lr_wd_steps=mean_lr * wd * steps)


def run_clean(args) -> None:
    data = load_clean(0)
    Xtr, Xte, ytr, yte = data
    root = jax.random.PRNGKey(args.seed)
    for W in args.widths:
        for regime in CLEAN_REGIMES:
            if W > args.controls_max and regime not in args.wide_regimes:
                continue
            path = cell_path(args.tag, "clean", regime, W, "json")
            if path.exists():
                continue
            setup = regime_setup(regime, args, len(Xtr))
            keys = jax.random.split(jax.random.fold_in(root, W), args.seeds)  # same inits in every regime
            t = time.time()
            P0, P = train_cell(keys, W, Xtr, ytr, wd=setup["wd"], zero_readout=setup["zero_readout"],
                               epochs=args.epochs, batch=args.batch, lr=args.lr, train=setup["train"])
            t_train = time.time() - t
            t = time.time()
            nets = []
            for s in range(args.seeds):
                p0, p = unstack(P0, s), unstack(P, s)
                r = analyse_clean(p0, p, data, args, seed=1000 * W + 10 * s)
                nets.append(dict(regime=regime, seed=s, **setup, **survival(p0, p), **r))
            t_an = time.time() - t
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(dict(nets=nets, t_train=t_train, t_analyse=t_an), allow_nan=True))
            g = [n["groups_star_paper"] for n in nets]
            gi = [n["groups_star_info"] for n in nets]
            print(f"clean W={W:5d} {regime:9s} train err {np.mean([n['train_err'] for n in nets]):.4f} "
                  f"test err {np.mean([n['test_err'] for n in nets]):.4f} groups* paper {np.round(g, 2)} "
                  f"info {np.round(gi, 2)} (train {t_train:.0f}s, analyse {t_an:.0f}s)", flush=True)


def run_noisy(args) -> None:
    data = load_noisy(args.noisy_train, args.noise, 0)
    Xtr, Xte, ytr, yte, flip = data
    root = jax.random.PRNGKey(args.seed + 1)
    Wmax = max(args.noisy_widths)
    sizes = chunk_sizes(Wmax, args)
    for regime in NOISY_REGIMES:
        for W in args.noisy_widths:
            path = cell_path(args.tag, "noisy", regime, W, "npz")
            if path.exists():
                continue
            setup = regime_setup(regime, args, len(Xtr))
            n = args.ensemble if W == Wmax else args.seeds
            keys = jax.random.split(jax.random.fold_in(root, W), n)
            t = time.time()
            P0, P = train_cell(keys, W, Xtr, ytr, wd=setup["wd"], zero_readout=setup["zero_readout"],
                               epochs=args.noisy_epochs, batch=args.batch, lr=args.lr)
            t_train = time.time() - t
            full_wrong, train_err, logits, chunk_wrong = [], [], [], []
            for s in range(n):
                p = unstack(P, s)
                Hte, Lte = represent(p, Xte)
                logits.append(Lte)
                full_wrong.append(np.argmax(Lte, 1) != yte)
                train_err.append(float(np.mean(np.argmax(represent(p, Xtr)[1], 1) != ytr)))
                if W == Wmax:
                    chunk_wrong.append(noisy_points(p, data, sizes, args.draws, 77 + s)["wrong"])
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(path, full_wrong=np.array(full_wrong), train_err=np.array(train_err),
                                logits=np.array(logits, np.float32), sizes=sizes,
                                chunk_wrong=np.array(chunk_wrong) if chunk_wrong else np.zeros((0,)),
                                t_train=t_train, lr_wd_steps=setup["lr_wd_steps"])
            print(f"noisy W={W:5d} {regime:9s} train err {np.round(train_err, 4)} test err "
                  f"{np.mean(full_wrong):.4f} ({t_train:.0f}s)", flush=True)


def run_bias(args) -> None:
    """Diagnostic: chunk test error at fixed sizes with and without the readout bias.

    Retrains the ``--bias-regimes`` cells of the clean task for W <= ``--bias-max`` (same keys,
    so the same networks as ``run_clean`` up to floating-point reassociation) and evaluates
    uniform chunks of sizes ``--bias-sizes`` with the trained readout ``(A, b)``, with ``(A, 0)``
    and with ``(A - A_0, 0)``. Writes ``experiments/data/redundancy_digits_bias{tag}.json``.
    """
    data = load_clean(0)
    Xtr, Xte, ytr, yte = data
    root = jax.random.PRNGKey(args.seed)
    rows = []
    for W in [w for w in args.widths if w <= args.bias_max]:
        for regime in args.bias_regimes:
            path = cell_path(args.tag, "bias", regime, W, "json")
            if not path.exists():
                setup = regime_setup(regime, args, len(Xtr))
                keys = jax.random.split(jax.random.fold_in(root, W), args.seeds)
                P0, P = train_cell(keys, W, Xtr, ytr, wd=setup["wd"], zero_readout=setup["zero_readout"],
                                   epochs=args.epochs, batch=args.batch, lr=args.lr)
                sizes = np.array([w for w in args.bias_sizes if w < W] + [W])
                nets = []
                for s in range(args.seeds):
                    p0, p = unstack(P0, s), unstack(P, s)
                    Hte, Lte = represent(p, Xte)
                    A, b = p[-1][0].T.astype(np.float64), p[-1][1].astype(np.float64)
                    A0 = p0[-1][0].T.astype(np.float64)
                    r = dict(regime=regime, width=W, seed=s, sizes=sizes.tolist(),
                             test_err=float(np.mean(np.argmax(Lte, 1) != yte)),
                             bias_norm=float(np.linalg.norm(b)), logit_std=float(Lte.std()))
                    for name, ro in (("with_bias", (A, b)), ("no_bias", (A, np.zeros_like(b))),
                                     ("minus_init_no_bias", (A - A0, np.zeros_like(b)))):
                        r[name] = chunk_errors(Hte, ro, yte, sizes, args.draws, 1000 * W + 10 * s).mean.tolist()
                    nets.append(r)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(nets))
                print(f"bias W={W:5d} {regime:8s} chunk err at w={sizes[0]}: with b "
                      f"{np.mean([n['with_bias'][0] for n in nets]):.3f}, without "
                      f"{np.mean([n['no_bias'][0] for n in nets]):.3f}", flush=True)
            rows += json.loads(path.read_text())
    (DATA_DIR / f"redundancy_digits_bias{args.tag}.json").write_text(
        json.dumps(_clean_json(dict(args=vars(args), nets=rows)), indent=1, allow_nan=False))


# ----------------------------------------------------------------------------- summaries
def _clean_json(o):
    if isinstance(o, dict):
        return {str(k): _clean_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean_json(v) for v in o]
    if isinstance(o, (float, np.floating)):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, np.ndarray):
        return _clean_json(o.tolist())
    return o.item() if isinstance(o, np.generic) else o


def summarise_clean(args) -> None:
    nets, timing = [], {}
    for f in sorted((CACHE / f"clean{args.tag}").glob("*.json")):
        cell = json.loads(f.read_text())
        nets += cell["nets"]
        timing[f.stem] = dict(train_s=cell["t_train"], analyse_s=cell["t_analyse"])
    nets.sort(key=lambda r: (CLEAN_REGIMES.index(r["regime"]), r["width"], r["seed"]))
    blob = dict(task="digits, 10 classes, 898 train / 899 test", args=vars(args), nets=nets, timing=timing,
                platform=f"{jax.default_backend()} x{jax.device_count()}")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    (DATA_DIR / f"redundancy_digits{args.tag}.json").write_text(json.dumps(_clean_json(blob), indent=1, allow_nan=False))
    cols = ["regime", "width", "seed", "wd", "lr_wd_steps", "train_err", "test_err", "test_err_minus_init",
            "readout_init_share", "layer2_init_share", "w_star_paper", "groups_star_paper", "w_star_paper_strat",
            "w_star_info", "groups_star_info", "w_star_relative", "w_c_paper", "w_c_info", "n_dead"]
    with open(DATA_DIR / f"redundancy_digits{args.tag}.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(cols)
        for r in nets:
            wr.writerow([r.get(c) for c in cols])
    print(f"wrote {len(nets)} networks to experiments/data/redundancy_digits{args.tag}.{{json,csv}}")


def _slope(x, y) -> float:
    x, y = np.log(x), np.log(y)
    return float(np.polyfit(x, y, 1)[0])


def summarise_noisy(args) -> None:
    """Error-scaling exponents with bootstrap CIs over test points and networks."""
    Wmax = max(args.noisy_widths)
    data = load_noisy(args.noisy_train, args.noise, 0)
    yte = data[3]
    rng = np.random.default_rng(12345)
    out = dict(task=f"digits, {args.noisy_train} training images with {args.noise:.0%} of labels flipped, "
                    f"{len(yte)} clean test images", args=vars(args), regimes={})
    for regime in NOISY_REGIMES:
        cells = {W: np.load(cell_path(args.tag, "noisy", regime, W, "npz")) for W in args.noisy_widths}
        wide = cells[Wmax]
        sizes = wide["sizes"]
        chunk = wide["chunk_wrong"]  # (nets, S, N)
        probs = np.exp(wide["logits"] - wide["logits"].max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ens_wrong = np.argmax(probs.mean(0), 1) != yte  # (N,)
        full = {W: c["full_wrong"].astype(float) for W, c in cells.items()}  # (nets, N)
        fit_c = (sizes >= args.fit_min) & (sizes <= Wmax // 2)
        fit_f = np.array([W >= args.fit_min for W in args.noisy_widths])
        mid = np.sqrt(args.fit_min * (Wmax // 2))  # geometric middle of the chunk fit range
        fit_lo, fit_hi = fit_c & (sizes <= mid), fit_c & (sizes >= mid)
        Ws = np.array(args.noisy_widths)

        def stats(pts, nets_c, nets_f):
            ei = ens_wrong[pts].mean()
            ce = chunk[nets_c][:, :, pts].mean(axis=(0, 2))
            fe = np.array([full[W][nets_f[W]][:, pts].mean() for W in args.noisy_widths])
            mem = full[Wmax][:, pts].mean(1).mean()
            exc_c, exc_f = ce - ei, fe - ei
            sc = _slope(sizes[fit_c], exc_c[fit_c]) if np.all(exc_c[fit_c] > 0) else np.nan
            sf = _slope(Ws[fit_f], exc_f[fit_f]) if np.all(exc_f[fit_f] > 0) else np.nan
            lo = _slope(sizes[fit_lo], exc_c[fit_lo]) if np.all(exc_c[fit_lo] > 0) else np.nan
            hi = _slope(sizes[fit_hi], exc_c[fit_hi]) if np.all(exc_c[fit_hi] > 0) else np.nan
            return ei, mem, ce, fe, sc, sf, lo, hi

        N = len(yte)
        all_f = {W: np.arange(full[W].shape[0]) for W in args.noisy_widths}
        ei, mem, ce, fe, sc, sf, slo, shi = stats(np.arange(N), np.arange(chunk.shape[0]), all_f)
        boot = []
        for _ in range(args.boot):
            pts = rng.integers(N, size=N)
            nc = rng.integers(chunk.shape[0], size=chunk.shape[0])
            nf = {W: rng.integers(full[W].shape[0], size=full[W].shape[0]) for W in args.noisy_widths}
            b = stats(pts, nc, nf)
            boot.append((b[0], b[1], b[1] - b[0], b[4], b[5], b[6], b[7]))
        boot = np.array(boot)

        def ci(col):
            v = boot[:, col]
            v = v[np.isfinite(v)]
            return [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if v.size else [None, None]

        # chunk of size w vs full network of width w (shared widths)
        shared = [int(W) for W in Ws if W in set(sizes.tolist())]
        cvf = {}
        for W in shared:
            i = int(np.flatnonzero(sizes == W)[0])
            cvf[W] = dict(chunk=float(ce[i]), full=float(fe[list(Ws).index(W)]))
        local = np.diff(np.log(ce - ei)) / np.diff(np.log(sizes)) if np.all(ce > ei) else None
        out["regimes"][regime] = dict(
            err_inf=float(ei), err_inf_ci=ci(0), member_err=float(mem), member_err_ci=ci(1),
            member_minus_ensemble=float(mem - ei), member_minus_ensemble_ci=ci(2),
            slope_chunks=sc, slope_chunks_ci=ci(3), slope_full=sf, slope_full_ci=ci(4),
            slope_chunks_low=slo, slope_chunks_low_ci=ci(5), slope_chunks_high=shi, slope_chunks_high_ci=ci(6),
            fit_low_sizes=sizes[fit_lo].tolist(), fit_high_sizes=sizes[fit_hi].tolist(),
            fit_chunks_sizes=sizes[fit_c].tolist(), fit_full_widths=Ws[fit_f].tolist(),
            sizes=sizes.tolist(), chunk_err=ce.tolist(), widths=Ws.tolist(), full_err=fe.tolist(),
            full_err_seeds=[full[W].mean(1).tolist() for W in args.noisy_widths],
            train_err_max=float(max(c["train_err"].max() for c in cells.values())),
            train_err_max_by_width=[float(cells[W]["train_err"].max()) for W in args.noisy_widths],
            chunk_vs_full=cvf, local_slope=None if local is None else local.tolist(),
            n_nets_wide=int(chunk.shape[0]), n_nets=[int(full[W].shape[0]) for W in args.noisy_widths],
            t_train={int(W): float(c["t_train"]) for W, c in cells.items()})
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    (DATA_DIR / f"redundancy_digits_noisy{args.tag}.json").write_text(
        json.dumps(_clean_json(out), indent=1, allow_nan=False))
    for reg, r in out["regimes"].items():
        print(f"noisy {reg}: err_inf {r['err_inf']:.4f} members {r['member_err']:.4f} gap "
              f"{r['member_minus_ensemble']:.4f} {np.round(r['member_minus_ensemble_ci'], 4)} | slope chunks "
              f"{r['slope_chunks']:.2f} {np.round(r['slope_chunks_ci'], 2)} full {r['slope_full']:.2f} "
              f"{np.round(r['slope_full_ci'], 2)}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=("all", "clean", "noisy", "bias"), default="all")
    ap.add_argument("--bias-regimes", nargs="+", default=["wd", "wd_zero", "nowd"])
    ap.add_argument("--bias-max", type=int, default=1024, help="widest W of the bias diagnostic")
    ap.add_argument("--bias-sizes", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--quick", action="store_true", help="small smoke run (tag _quick)")
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048, 4096])
    ap.add_argument("--controls-max", type=int, default=2048,
                    help="widths above this train only --wide-regimes (compute budget)")
    ap.add_argument("--wide-regimes", nargs="+", default=["wd_zero", "untrained"])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--wd", type=float, default=2e-3)
    ap.add_argument("--strong-product", type=float, default=2.0, help="mean lr * wd * steps of 'strong'")
    ap.add_argument("--per-octave", type=int, default=4, help="chunk sizes per octave")
    ap.add_argument("--fine-max", type=int, default=1024, help="largest size of the fine grid")
    ap.add_argument("--draws", type=int, default=30, help="chunks per size for the errors")
    ap.add_argument("--draws-rec", type=int, default=3, help="chunks per size for the reconstruction")
    ap.add_argument("--max-corr", type=int, default=128, help="neurons for the residual correlation")
    ap.add_argument("--max-targets", type=int, default=512, help="target neurons of the reconstruction")
    ap.add_argument("--cv-targets", type=int, default=128, help="target neurons for choosing alpha")
    ap.add_argument("--max-rec-size", type=int, default=512, help="largest chunk size reconstructed")
    ap.add_argument("--r2-min", type=float, default=0.95)
    ap.add_argument("--corr-max", type=float, default=0.1)
    ap.add_argument("--train-err-max", type=float, default=0.01)
    ap.add_argument("--noisy-train", type=int, default=400)
    ap.add_argument("--noise", type=float, default=0.3)
    ap.add_argument("--noisy-widths", type=int, nargs="+", default=[16, 32, 64, 128, 256, 512, 1024])
    ap.add_argument("--noisy-epochs", type=int, default=100)
    ap.add_argument("--ensemble", type=int, default=10, help="networks at the widest noisy width")
    ap.add_argument("--fit-min", type=int, default=16, help="smallest w in the error-scaling fits")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="")
    ap.add_argument("--blas-threads", type=int, default=1)
    args = ap.parse_args(argv)
    if args.quick:
        args.widths, args.seeds, args.epochs, args.controls_max = [64, 256], 2, 10, 128
        args.noisy_widths, args.noisy_epochs, args.ensemble, args.draws, args.boot = [16, 64], 20, 3, 10, 50
        args.tag = args.tag or "_quick"
    t0 = time.time()
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        if args.task in ("all", "clean"):
            run_clean(args)
            summarise_clean(args)
        if args.task in ("all", "noisy"):
            run_noisy(args)
            summarise_noisy(args)
        if args.task in ("all", "bias"):
            run_bias(args)
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
