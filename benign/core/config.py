"""Configuration of one simulation: a frozen, validated dataclass.

A :class:`Config` splits into *static* fields (shapes and structural choices: changing one means a new
compiled program) and *dynamic* fields (floats and the seed: they are vmapped over in batched calls).
:func:`make_config` is the only constructor users need: it resolves ``snr`` / ``mu_norm`` / ``mu``,
``eta`` / ``eta_w`` / ``eta_a``, and validates every argument *before* any compute, raising a
``ValueError`` that names the argument, its value and the allowed range.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ACTIVATIONS = ("relu", "leaky_relu", "poly_relu")
OUTPUT_INITS = ("constant", "gaussian")
HIDDEN_INITS = ("gaussian", "uniform")
REDUCES = ("sum", "mean")
NOISES = ("orthogonal", "isotropic")
PRECISIONS = ("float32", "float64")
ENGINES = ("auto", "dense", "coef")
TEST_ERRORS = ("gaussian", "test_set")

#: Fields that are vmapped over in a batched call (floats, plus the integer seed).
DYNAMIC_FIELDS = (
    "mu_norm",
    "init_scale",
    "sigma_p",
    "p",
    "sigma_0",
    "eta_w",
    "eta_a",
    "weight_decay",
    "seed",
)
#: Fields left out of the random-key hash: they do not change the numbers (precision, engine,
#: bookkeeping), or, for ``steps``, they only say how long to run: a shorter run is exactly the
#: prefix of a longer one with the same data and init.
_NOT_HASHED = ("precision", "engine", "n_checkpoints", "mu_vec", "test_error_method", "n_mc", "n_test", "steps")


@dataclass(frozen=True)
class Config:
    """One fully resolved simulation configuration (see :func:`make_config` for meanings).

    Static: ``n, d, m, steps, n_test, n_checkpoints, activation, q, leaky_slope, train_output,
    output_value, output_init, hidden_init, bias, reduce, noise, precision, engine, test_error_method, n_mc``.
    ``engine``: 'dense' (GD on W), 'coef' (exact GD on signal/noise coefficients, docs/science.md, "The coefficient engine";
    plain GD only) or 'auto' (coef when it is cheaper and no optax optimizer is given).
    ``test_error_method``: 'gaussian' (estimator of docs/science.md, "The Gaussian test-error estimator", on ``n_mc`` fixed Gaussian points) or
    'test_set' (``n_test`` fresh test points).
    Dynamic (batchable): ``mu_norm, init_scale, sigma_p, p, sigma_0, eta_w, eta_a, weight_decay, seed``.
    ``mu_vec`` is an optional signal direction of shape ``(d,)`` (``None``: ``e_1``).
    """

    n: int = 50
    d: int = 500
    m: int = 20
    steps: int = 1000
    n_test: int = 2000
    n_checkpoints: int = 40
    activation: str = "relu"
    q: float = 3.0
    leaky_slope: float = 0.1
    train_output: bool = True
    output_value: float | None = None
    output_init: str = "constant"
    hidden_init: str = "gaussian"
    bias: bool = False
    reduce: str = "sum"
    noise: str = "orthogonal"
    precision: str = "float32"
    engine: str = "auto"
    test_error_method: str = "gaussian"
    n_mc: int = 4096
    mu_norm: float = 1.0
    init_scale: float = 0.1
    sigma_p: float = 1.0
    p: float = 0.1
    sigma_0: float = 0.01
    eta_w: float = 0.1
    eta_a: float = 0.1
    weight_decay: float = 0.0
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

    def static(self) -> Config:
        """This config with its dynamic fields reset to defaults: a hashable jit-static argument."""
        base = Config()
        return dataclasses.replace(self, mu_vec=None, **{k: getattr(base, k) for k in DYNAMIC_FIELDS})

    def cell_hash(self) -> int:
        """A 31-bit integer derived from every number-changing field but the seed.

        Random keys are ``fold_in(fold_in(PRNGKey(0), seed), cell_hash)``: they depend on the seed
        and the configuration, never on a position in a batch, on the precision or on the engine.
        """
        parts = []
        for f in dataclasses.fields(self):
            if f.name in _NOT_HASHED or f.name == "seed":
                continue
            v = getattr(self, f.name)
            parts.append(f"{f.name}={float(v)!r}" if isinstance(v, float) else f"{f.name}={v!r}")
        if self.mu_vec is not None:
            parts.append("mu_vec=" + hashlib.sha256(np.asarray(self.mu_vec, np.float64).tobytes()).hexdigest())
        digest = hashlib.sha256(";".join(parts).encode()).digest()
        return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF

    def to_dict(self) -> dict[str, Any]:
        """Flat dict of the configuration (``mu_vec`` left out), plus the derived ``snr``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "mu_vec"}
        out["snr"] = self.snr
        out["output_value"] = self.fixed_output
        return out


def _err(name: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{name}={value!r} is invalid: allowed range is {allowed}")


def _check_int(name: str, v: Any, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise _err(name, v, f"an integer >= {lo}")
    return int(v)


def _check_float(name: str, v: Any, lo: float, hi: float = math.inf, lo_open: bool = False, hi_open: bool = False) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise _err(name, v, "a finite real number") from None
    if isinstance(v, bool) or not math.isfinite(x):
        raise _err(name, v, "a finite real number")
    bad_lo = x <= lo if lo_open else x < lo
    bad_hi = x >= hi if hi_open else x > hi
    if bad_lo or bad_hi:
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        raise _err(name, v, f"{lb}{lo}, {hi}{rb}")
    return x


def _check_choice(name: str, v: Any, choices: tuple[str, ...]) -> str:
    if v not in choices:
        raise _err(name, v, "one of " + ", ".join(repr(c) for c in choices))
    return v


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
    """Build and validate a :class:`Config`.

    Signal strength: give exactly one of ``snr`` (``mu_norm = snr * sigma_p * sqrt(d)``), ``mu_norm``
    (signal along ``e_1``) or ``mu`` (a vector of shape ``(d,)``); none gives the default ``snr=0.1``.
    Step sizes: ``eta`` sets both ``eta_w`` and ``eta_a``; ``eta_w`` / ``eta_a`` override it each.
    Every other keyword is a :class:`Config` field. Raises ``ValueError`` naming the bad argument.
    """
    names = {f.name for f in dataclasses.fields(Config)} - {"mu_norm", "eta_w", "eta_a", "mu_vec"}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown}; allowed: {sorted(names | {'snr', 'mu_norm', 'mu', 'eta', 'eta_w', 'eta_a'})}")
    base = Config()
    kw: dict[str, Any] = {f: kwargs.get(f, getattr(base, f)) for f in names}

    for k in ("n", "d", "m", "steps", "n_test"):
        kw[k] = _check_int(k, kw[k], 1)
    kw["n_checkpoints"] = _check_int("n_checkpoints", kw["n_checkpoints"], 2)
    kw["seed"] = _check_int("seed", kw["seed"], 0)
    if kw["seed"] >= 2**31:
        raise _err("seed", kw["seed"], "[0, 2**31)")
    kw["activation"] = _check_choice("activation", kw["activation"], ACTIVATIONS)
    kw["output_init"] = _check_choice("output_init", kw["output_init"], OUTPUT_INITS)
    kw["hidden_init"] = _check_choice("hidden_init", kw["hidden_init"], HIDDEN_INITS)
    kw["reduce"] = _check_choice("reduce", kw["reduce"], REDUCES)
    kw["noise"] = _check_choice("noise", kw["noise"], NOISES)
    kw["precision"] = _check_choice("precision", kw["precision"], PRECISIONS)
    kw["engine"] = _check_choice("engine", kw["engine"], ENGINES)
    kw["test_error_method"] = _check_choice("test_error_method", kw["test_error_method"], TEST_ERRORS)
    kw["n_mc"] = _check_int("n_mc", kw["n_mc"], 2)
    if kw["n_mc"] % 2:
        raise _err("n_mc", kw["n_mc"], "an even integer >= 2")
    for k in ("train_output", "bias"):
        if not isinstance(kw[k], (bool, np.bool_)):
            raise _err(k, kw[k], "True or False")
        kw[k] = bool(kw[k])
    kw["q"] = _check_float("q", kw["q"], 1.0)
    kw["leaky_slope"] = _check_float("leaky_slope", kw["leaky_slope"], 0.0, 1.0, hi_open=True)
    if kw["output_value"] is not None:
        kw["output_value"] = _check_float("output_value", kw["output_value"], 0.0, lo_open=True)
    kw["p"] = _check_float("p", kw["p"], 0.0, 0.5, hi_open=True)
    for k in ("init_scale", "sigma_p", "sigma_0", "weight_decay"):
        kw[k] = _check_float(k, kw[k], 0.0)

    given = [k for k, v in (("snr", snr), ("mu_norm", mu_norm), ("mu", mu)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give only one of snr, mu_norm, mu (got {given}): mu_norm = snr * sigma_p * sqrt(d)")
    mu_vec = None
    if mu is not None:
        arr = np.asarray(mu, dtype=np.float64)
        if arr.shape != (kw["d"],) or not np.all(np.isfinite(arr)):
            raise _err("mu", f"array of shape {arr.shape}", f"a finite vector of shape ({kw['d']},)")
        kw["mu_norm"] = float(np.linalg.norm(arr))
        if kw["mu_norm"] > 0:
            mu_vec = tuple(float(x) for x in arr / kw["mu_norm"])
    elif mu_norm is not None:
        kw["mu_norm"] = _check_float("mu_norm", mu_norm, 0.0)
    else:
        s = _check_float("snr", 0.1 if snr is None else snr, 0.0)
        kw["mu_norm"] = s * kw["sigma_p"] * math.sqrt(kw["d"])

    e = None if eta is None else _check_float("eta", eta, 0.0, lo_open=True)
    kw["eta_w"] = _check_float("eta_w", eta_w, 0.0, lo_open=True) if eta_w is not None else (e if e is not None else base.eta_w)
    kw["eta_a"] = _check_float("eta_a", eta_a, 0.0, lo_open=True) if eta_a is not None else (e if e is not None else base.eta_a)
    kw["mu_vec"] = mu_vec
    return Config(**kw)


def replace(cfg: Config, **changes: Any) -> Config:
    """A validated copy of ``cfg`` with ``changes`` (same keywords as :func:`make_config`)."""
    kw = cfg.to_dict()
    for k in ("snr", "mu_norm", "eta_w", "eta_a"):
        kw.pop(k)
    if cfg.output_value is None:
        kw["output_value"] = None
    sig = {k: changes.pop(k) for k in ("snr", "mu_norm", "mu") if k in changes}
    if not sig:
        sig = {"mu": np.asarray(cfg.mu_vec) * cfg.mu_norm} if cfg.mu_vec is not None else {"mu_norm": cfg.mu_norm}
    steps = {k: changes.pop(k) for k in ("eta", "eta_w", "eta_a") if k in changes}
    if "eta" not in steps:
        steps = {"eta_w": cfg.eta_w, "eta_a": cfg.eta_a, **steps}
    kw.update(changes)
    return make_config(**sig, **steps, **kw)
