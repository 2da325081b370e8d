"""Configuration of one simulation: a frozen, validated dataclass.

A :class:`Config` splits into *static* fields (shapes and structural choices: changing one means a new
compiled program) and *dynamic* fields (floats and the seed: they are vmapped over in batched calls,
listed once in :data:`DYNAMIC_FIELDS`). :func:`make_config` is the only constructor users need: it
resolves ``snr`` / ``mu_norm`` / ``mu`` and ``eta`` / ``eta_w`` / ``eta_a``, and validates every
argument *before* any compute, raising a ``ValueError`` that names the argument, its value and the
allowed range. :func:`replace` is its validated copy-with-changes.

Randomness is *paired*: a run's random draws (training data, initial parameters, test set) depend
only on its ``seed`` and its draw shape (:data:`DRAW_FIELDS`), never on the dynamic
hyper-parameters. Two runs with the same seed and shapes but a different ``snr``, ``init_scale``,
``sigma_0``, ``p`` or step size see the same standard-normal noise, the same label-flip uniforms and
the same initial directions, so differences between them are free of sampling noise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ACTIVATIONS = ("relu", "leaky_relu", "poly_relu")
LOSSES = ("logistic", "hinge", "exponential")
DATAS = ("signal_noise", "xor", "custom")
OUTPUT_INITS = ("constant", "gaussian")
HIDDEN_INITS = ("gaussian", "uniform")
REDUCES = ("sum", "mean")
NOISES = ("orthogonal", "isotropic")
STOPS = ("none", "interpolation", "loss")
PRECISIONS = ("float32", "float64")
ENGINES = ("auto", "dense", "coef")
TEST_ERRORS = ("gaussian", "test_set")
SAMPLERS = ("explicit", "gram", "auto")
#: Largest number of GD steps (step counters are int32).
MAX_STEPS = 2**31 - 1

#: Fields that are vmapped over in a batched call (floats, plus the integer seed), declared once:
#: :class:`benign.core.dynamics.Hyper` has exactly these fields but ``seed``.
DYNAMIC_FIELDS = (
    "mu_norm",
    "init_scale",
    "sigma_p",
    "p",
    "sigma_0",
    "eta_w",
    "eta_a",
    "weight_decay",
    "stop_margin",
    "stop_loss",
    "xor_angle",
    "seed",
)
#: The fields a run's random draws depend on (besides the seed): the shapes of what is drawn.
DRAW_FIELDS = ("data", "n", "d", "m", "n_patches")


@dataclass(frozen=True)
class Config:
    """One fully resolved simulation configuration (see :func:`make_config` for every meaning).

    Static (a change means a new compiled program): ``n, d, m, n_patches, data, steps, n_test,
    n_checkpoints, activation, q, leaky_slope, loss, train_output, output_value, output_init,
    hidden_init, bias, reduce, noise, stop, precision, engine, sampler, test_error_method, n_mc, n_mc_traj``.
    Dynamic (batchable, :data:`DYNAMIC_FIELDS`): ``mu_norm, init_scale, sigma_p, p, sigma_0, eta_w,
    eta_a, weight_decay, stop_margin, stop_loss, xor_angle, seed``.
    ``mu_vec`` is an optional unit signal direction of shape ``(d,)`` (``None``: ``e_1``).
    """

    n: int = 50
    d: int = 500
    m: int = 20
    n_patches: int = 2
    data: str = "signal_noise"
    steps: int = 1000
    n_test: int = 2000
    n_checkpoints: int = 40
    activation: str = "relu"
    q: float = 3.0
    leaky_slope: float = 0.1
    loss: str = "logistic"
    train_output: bool = True
    output_value: float | None = None
    output_init: str = "constant"
    hidden_init: str = "gaussian"
    bias: bool = False
    reduce: str = "sum"
    noise: str = "orthogonal"
    stop: str = "none"
    precision: str = "float32"
    engine: str = "auto"
    sampler: str = "explicit"
    test_error_method: str = "gaussian"
    n_mc: int = 4096
    n_mc_traj: int = 1024
    mu_norm: float = 1.0
    init_scale: float = 0.1
    sigma_p: float = 1.0
    p: float = 0.1
    sigma_0: float = 0.01
    eta_w: float = 0.1
    eta_a: float = 0.1
    weight_decay: float = 0.0
    stop_margin: float = 0.0
    stop_loss: float = 0.01
    xor_angle: float = math.pi / 2
    seed: int = 0
    mu_vec: tuple[float, ...] | None = field(default=None, repr=False)

    @property
    def snr(self) -> float:
        """``|mu| / (sigma_p sqrt(d))`` (``inf`` when ``sigma_p = 0`` and ``|mu| > 0``)."""
        denom = self.sigma_p * math.sqrt(self.d)
        if denom == 0:
            return math.inf if self.mu_norm > 0 else 0.0
        return self.mu_norm / denom

    @property
    def fixed_output(self) -> float:
        """The output-layer value used when ``train_output=False`` (default ``1/m``)."""
        return 1.0 / self.m if self.output_value is None else float(self.output_value)

    @property
    def degree(self) -> float:
        """Degree of positive homogeneity of the activation: ``q`` for ``poly_relu``, else 1."""
        return float(self.q) if self.activation == "poly_relu" else 1.0

    @property
    def n_signal(self) -> int:
        """Number of signal vectors: 1 (``mu``) for signal-plus-noise data, 2 (``a``, ``b``) for XOR."""
        return 2 if self.data == "xor" else 1

    def static(self) -> Config:
        """This config with its dynamic fields reset to defaults: a hashable jit-static argument."""
        base = Config()
        return dataclasses.replace(self, mu_vec=None, **{k: getattr(base, k) for k in DYNAMIC_FIELDS})

    def cell_hash(self) -> int:
        """A 31-bit integer from the draw shape (:data:`DRAW_FIELDS`): the second half of the run key.

        Random keys are ``fold_in(fold_in(PRNGKey(0), seed), cell_hash)``: they depend on the seed and
        the shapes of what is drawn, never on a dynamic hyper-parameter, a position in a batch, the
        precision or the engine (paired randomness, see the module docstring).
        """
        # A run on the user's own data (data='custom') draws W(0) as the signal-noise run of its shapes.
        shape = {k: ("signal_noise" if k == "data" and self.data == "custom" else getattr(self, k)) for k in DRAW_FIELDS}
        text = ";".join(f"{k}={v!r}" for k, v in shape.items())
        digest = hashlib.sha256(text.encode()).digest()
        return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF

    def to_dict(self) -> dict[str, Any]:
        """Flat dict of the configuration (``mu_vec`` left out), plus the derived ``snr``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "mu_vec"}
        out["snr"] = self.snr
        out["output_value"] = self.fixed_output
        return out


def _err(name: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{name}={value!r} is invalid: allowed range is {allowed}")


def _check_int(name: str, v: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "iu":
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or (hi is not None and v > hi):
        raise _err(name, v, f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]")
    return int(v)


def _check_float(name: str, v: Any, lo: float, hi: float = math.inf, lo_open: bool = False, hi_open: bool = False) -> float:
    if isinstance(v, (bool, np.bool_, str, bytes)) or (isinstance(v, np.ndarray) and v.ndim != 0):
        raise _err(name, v, "a finite real number")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise _err(name, v, "a finite real number") from None
    if not math.isfinite(x):
        raise _err(name, v, "a finite real number")
    bad_lo = x <= lo if lo_open else x < lo
    bad_hi = x >= hi if hi_open else x > hi
    if bad_lo or bad_hi:
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        raise _err(name, v, f"{lb}{lo}, {hi}{rb}")
    return x


def _check_choice(name: str, v: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v not in choices:
        raise _err(name, v, "one of " + ", ".join(repr(c) for c in choices))
    return v


def _check_bool(name: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise _err(name, v, "True or False")
    return bool(v)


#: Keywords of :func:`make_config` that are not :class:`Config` fields.
_ALIASES = ("snr", "mu", "eta")


def make_config(
    *,
    snr: float | None = None,
    mu_norm: float | None = None,
    mu: Any = None,
    eta: float | None = None,
    eta_w: float | None = None,
    eta_a: float | None = None,
    **kwargs: Any,
) -> Config:
    """Build and validate a :class:`Config`; every argument is a keyword and has a default.

    Args:
        snr, mu_norm, mu: signal strength; give at most one. ``snr`` (default 0.1) sets
            ``mu_norm = snr * sigma_p * sqrt(d)`` (needs ``sigma_p > 0``); ``mu_norm`` is ``|mu|``
            along ``e_1``; ``mu`` is the signal vector itself, shape ``(d,)``. For ``data='xor'``,
            ``mu_norm`` is ``|a| = |b|``.
        eta, eta_w, eta_a: GD step sizes; ``eta`` sets both, ``eta_w`` / ``eta_a`` override it.
        n, d, m: training points (>= 1), patch dimension (>= 1), filters per class (>= 1).
        n_patches: patches per input (>= 2): one signal patch and ``n_patches - 1`` noise patches
            (>= 1 for ``data='custom'``).
        data: ``'signal_noise'`` (signal patch ``y_hat mu``) or ``'xor'`` (signal patch
            ``+-(a+b)`` for label +1, ``+-(a-b)`` for -1; ``a``, ``b`` at angle ``xor_angle``);
            ``'custom'`` marks a run on the user's own arrays (set by ``simulate(data=(X, y), ...)``:
            dense engine, test error on the given test set, ``p = 0``).
        sigma_p, p, noise: noise std (>= 0), label-flip rate in [0, 0.5), ``'orthogonal'`` (noise
            covariance ``sigma_p^2 (I - projection on the signal directions)``) or ``'isotropic'``.
        activation, q, leaky_slope: ``'relu'``, ``'leaky_relu'`` (slope in [0, 1)) or
            ``'poly_relu'`` (``max(0, z)^q``, q >= 1).
        loss: ``'logistic'`` (default), ``'hinge'`` or ``'exponential'``, on the margin ``y f(x)``.
        init_scale, output_init: output layer init ``a(0) = init_scale`` (``'constant'``) or
            ``N(0, init_scale^2)`` (``'gaussian'``).
        train_output, output_value: ``False`` fixes the output layer at ``output_value``
            (default ``1/m``); giving ``output_value`` with a trained output is an error.
        sigma_0, hidden_init: hidden init ``N(0, sigma_0^2)`` (``'gaussian'``) or PyTorch's
            ``U(-1/sqrt(d), 1/sqrt(d))`` (``'uniform'``).
        bias, reduce: a per-filter bias; ``'sum'`` or ``'mean'`` over patches.
        steps, weight_decay: GD steps (at most 2**31 - 1); L2 penalty ``wd/2 (|W|^2 + |a|^2)``.
        stop, stop_margin, stop_loss: ``'none'`` runs ``steps`` steps; ``'interpolation'`` stops a
            run at the first step where every training margin exceeds ``stop_margin`` (default 0:
            zero training error); ``'loss'`` stops when the training loss is <= ``stop_loss``.
            ``steps`` is the cap.
        engine: ``'auto'``, ``'dense'`` (GD on W) or ``'coef'`` (exact GD on signal/noise
            coefficients; plain GD only).
        sampler: how the coefficient engine draws a run's data and ``W(0)``: ``'explicit'`` (the
            d-dimensional vectors, then their Gram matrices; the dense engine's numbers),
            ``'gram'`` (the Gram matrices drawn directly, exact in law, no d-dimensional array for a
            Gaussian init: any d; needs ``d > k + n(n_patches-1) + 2m``, the Gaussian test error and
            plain GD) or ``'auto'`` (gram where it is exact and d is large, see
            :func:`benign.core.gram.resolve_sampler`).
        test_error_method, n_mc, n_mc_traj, n_test: ``'gaussian'`` (the estimator on ``n_mc``
            points at the last checkpoint, ``n_mc_traj`` at the others) or ``'test_set'``
            (``n_test`` fresh points).
        n_checkpoints, precision, seed: log-spaced checkpoints (>= 2), ``'float32'`` or
            ``'float64'``, seed in [0, 2**31).

    Raises:
        ValueError: naming the argument, its value and the allowed range.
    """
    names = {f.name for f in dataclasses.fields(Config)} - {"mu_norm", "eta_w", "eta_a", "mu_vec"}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown}; allowed: {sorted(names | {'snr', 'mu_norm', 'mu', 'eta', 'eta_w', 'eta_a'})}")
    base = Config()
    kw: dict[str, Any] = {f: kwargs.get(f, getattr(base, f)) for f in names}

    for k in ("n", "d", "m", "n_test"):
        kw[k] = _check_int(k, kw[k], 1)
    kw["steps"] = _check_int("steps", kw["steps"], 1, MAX_STEPS)
    kw["n_patches"] = _check_int("n_patches", kw["n_patches"], 1 if kw["data"] == "custom" else 2)
    kw["n_checkpoints"] = _check_int("n_checkpoints", kw["n_checkpoints"], 2)
    kw["seed"] = _check_int("seed", kw["seed"], 0, 2**31 - 1)
    for k, choices in (("activation", ACTIVATIONS), ("loss", LOSSES), ("data", DATAS), ("output_init", OUTPUT_INITS),
                       ("hidden_init", HIDDEN_INITS), ("reduce", REDUCES), ("noise", NOISES), ("stop", STOPS),
                       ("precision", PRECISIONS), ("engine", ENGINES), ("sampler", SAMPLERS),
                       ("test_error_method", TEST_ERRORS)):
        kw[k] = _check_choice(k, kw[k], choices)
    for k in ("n_mc", "n_mc_traj"):
        kw[k] = _check_int(k, kw[k], 2)
        if kw[k] % 2:
            raise _err(k, kw[k], "an even integer >= 2")
    for k in ("train_output", "bias"):
        kw[k] = _check_bool(k, kw[k])
    kw["q"] = _check_float("q", kw["q"], 1.0)
    kw["leaky_slope"] = _check_float("leaky_slope", kw["leaky_slope"], 0.0, 1.0, hi_open=True)
    if kw["output_value"] is not None:
        if kw["train_output"]:
            raise ValueError(f"output_value={kw['output_value']!r} is only used with train_output=False (a fixed output layer); "
                             "for a trained output layer set its initial value with init_scale")
        kw["output_value"] = _check_float("output_value", kw["output_value"], 0.0, lo_open=True)
    kw["p"] = _check_float("p", kw["p"], 0.0, 0.5, hi_open=True)
    for k in ("init_scale", "sigma_p", "sigma_0", "weight_decay", "stop_margin"):
        kw[k] = _check_float(k, kw[k], 0.0)
    kw["stop_loss"] = _check_float("stop_loss", kw["stop_loss"], 0.0, lo_open=True)
    kw["xor_angle"] = _check_float("xor_angle", kw["xor_angle"], 0.0, math.pi, lo_open=True, hi_open=True)
    if kw["data"] == "custom":
        if kw["engine"] == "coef":
            raise _err("engine", kw["engine"], "'dense' or 'auto' with data='custom' (your own arrays train on the dense engine)")
        if kw["test_error_method"] != "test_set":
            raise _err("test_error_method", kw["test_error_method"], "'test_set' with data='custom' (the error is measured on your test set)")
    if kw["data"] == "xor" and kw["d"] < 2:
        raise _err("d", kw["d"], "an integer >= 2 for data='xor' (two signal directions)")

    given = [k for k, v in (("snr", snr), ("mu_norm", mu_norm), ("mu", mu)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give only one of snr, mu_norm, mu (got {given}): mu_norm = snr * sigma_p * sqrt(d)")
    mu_vec = None
    if mu is not None:
        if kw["data"] == "xor":
            raise ValueError("mu (a signal vector) is not supported with data='xor'; give mu_norm (= |a| = |b|) and xor_angle")
        arr = np.asarray(mu, dtype=np.float64)
        if arr.shape != (kw["d"],) or not np.all(np.isfinite(arr)):
            raise _err("mu", f"array of shape {arr.shape}", f"a finite vector of shape ({kw['d']},)")
        kw["mu_norm"] = float(np.linalg.norm(arr))
        if not math.isfinite(kw["mu_norm"]):
            raise _err("mu", "a vector with |mu| = inf", "a vector whose norm is finite")
        if kw["mu_norm"] > 0:
            mu_vec = tuple(float(x) for x in arr / kw["mu_norm"])
    elif mu_norm is not None:
        kw["mu_norm"] = _check_float("mu_norm", mu_norm, 0.0)
    else:
        s = _check_float("snr", 0.1 if snr is None else snr, 0.0)
        if kw["sigma_p"] == 0 and s > 0:
            raise ValueError(f"snr={s!r} needs sigma_p > 0 (snr = |mu| / (sigma_p sqrt(d))); with sigma_p=0 give mu_norm instead")
        kw["mu_norm"] = s * kw["sigma_p"] * math.sqrt(kw["d"])
        if not math.isfinite(kw["mu_norm"]):
            raise _err("snr", s, f"a value whose mu_norm = snr * sigma_p * sqrt(d) is finite (here {kw['mu_norm']})")

    e = None if eta is None else _check_float("eta", eta, 0.0, lo_open=True)
    kw["eta_w"] = _check_float("eta_w", eta_w, 0.0, lo_open=True) if eta_w is not None else (e if e is not None else base.eta_w)
    kw["eta_a"] = _check_float("eta_a", eta_a, 0.0, lo_open=True) if eta_a is not None else (e if e is not None else base.eta_a)
    kw["mu_vec"] = mu_vec
    cfg = Config(**kw)
    if cfg.sampler == "gram":
        from .gram import unsupported

        why = unsupported(cfg)
        if why is not None:
            raise ValueError(why)
    return cfg


def replace(cfg: Config, **changes: Any) -> Config:
    """A validated copy of ``cfg`` with ``changes`` (same keywords as :func:`make_config`)."""
    kw = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in ("mu_norm", "eta_w", "eta_a", "mu_vec")}
    if "train_output" in changes and changes["train_output"] and "output_value" not in changes:
        kw["output_value"] = None
    sig = {k: changes.pop(k) for k in ("snr", "mu_norm", "mu") if k in changes}
    if not sig:
        sig = {"mu": np.asarray(cfg.mu_vec) * cfg.mu_norm} if cfg.mu_vec is not None else {"mu_norm": cfg.mu_norm}
    steps = {k: changes.pop(k) for k in ("eta", "eta_w", "eta_a") if k in changes}
    if "eta" not in steps:
        steps = {"eta_w": cfg.eta_w, "eta_a": cfg.eta_a, **steps}
    kw.update(changes)
    return make_config(**sig, **steps, **kw)


def theorem_scaled(d: int, *, s0: float = 0.1, e0: float = 0.5, sigma_p: float = 1.0) -> dict[str, float]:
    """Initialisation and step size at the scale the theorems assume, as :func:`make_config` keywords.

    Kou et al. (2023) and Cao et al. (2022) take ``sigma_0`` below ``1 / (sigma_p sqrt(d))`` (so a
    filter's initial response to a noise patch, about ``sigma_0 sigma_p sqrt(d)``, is O(1) or less)
    and ``eta`` below ``1 / (sigma_p^2 d)`` (so a step moves a noise response by O(1), since
    ``|xi|^2 ~ sigma_p^2 d``). This helper sets them to fixed fractions of those scales,

        sigma_0 = s0 / (sigma_p sqrt(d)),    eta = e0 / (sigma_p^2 d),

    so runs at different ``d`` have the same initial noise responses and the same per-step change of
    them: the dynamics depend on d only through ``|mu|`` relative to ``sigma_p sqrt(d)``.

    Args:
        d: patch dimension (>= 1).
        s0, e0: the fractions (> 0).
        sigma_p: noise level (> 0).

    Returns:
        ``{"d", "sigma_p", "sigma_0", "eta", "s0", "e0"}``; pass all but ``s0``/``e0`` to
        :func:`benign.simulate` (``{k: v for k, v in out.items() if k not in ("s0", "e0")}``) and
        keep ``s0``, ``e0`` with the results.

    Example:
        >>> theorem_scaled(10**6, s0=0.1, e0=0.5)["eta"]
        5e-07
    """
    d = _check_int("d", d, 1)
    s0 = _check_float("s0", s0, 0.0, lo_open=True)
    e0 = _check_float("e0", e0, 0.0, lo_open=True)
    sigma_p = _check_float("sigma_p", sigma_p, 0.0, lo_open=True)
    return {"d": d, "sigma_p": sigma_p, "sigma_0": s0 / (sigma_p * math.sqrt(d)), "eta": e0 / (sigma_p**2 * d), "s0": s0, "e0": e0}
