"""Closed-form predictions of the benign-overfitting theorems (docs/science.md, "Theorems" and "Conservation law").

One function per result.  Each takes a configuration (scalars or numpy arrays, broadcast against
each other) and returns a frozen :class:`Prediction`.  For array inputs every field is a numpy array
of the broadcast shape (``phi``, ``lower``, ``upper``: float64; ``regime``: ``<U12`` strings;
``conditions`` values: bool); for scalar inputs the fields are Python scalars.

All absolute constants (``C1`` ... ``C4``, ``C``) are keyword parameters whose defaults live in
:data:`DEFAULTS`.  The defaults are **uncalibrated** placeholders: the theorems only say "some
absolute constant".  They are chosen so that the undetermined band is a factor 2 on each side of
``phi = 1``; :mod:`benign.analysis` fits them from sweeps.

Every function validates its inputs and raises ``ValueError`` naming the parameter, the offending
value and the allowed range.  Nothing here does I/O or touches a random number generator.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ._checks import check as _check
from ._checks import out as _out
from .laws import limiting_ratio, regime_of_init

__all__ = ["DEFAULTS", "Prediction", "cao2022", "karhadkar2024", "kou2023", "meng2024", "shang2024", "thresholds", "predict", "THEORIES",
           "xor_patches"]

#: Default (uncalibrated) absolute constants per theory.  See docs/theory.md.
DEFAULTS: Mapping[str, Mapping[str, float]] = MappingProxyType({
    # benign iff phi >= C1; harmful iff phi <= C3; upper = p + exp(-phi/C2); lower = p + C4.
    "kou2023": MappingProxyType({"C1": 2.0, "C2": 1.0, "C3": 0.5, "C4": 0.1, "C": 1.0}),
    "meng2024": MappingProxyType({"C1": 2.0, "C2": 1.0, "C3": 0.5, "C4": 0.1, "C": 1.0}),
    "shang2024": MappingProxyType({"C1": 2.0, "C2": 1.0, "C3": 0.5, "C4": 0.1, "C": 1.0,
                                   "small_init_shift": 1.0}),
    # benign iff n SNR^q >= C1; harmful iff n^-1 SNR^-q >= C3 (paper form);
    # test-loss bound exp(-n^2/C2) turned into an error bound via 1{yf<0} <= loss/log 2.
    "cao2022": MappingProxyType({"C1": 2.0, "C2": 100.0, "C3": 2.0}),
    # benign iff snr >= C1, harmful iff snr <= C3: unknown (NaN); d >= C_d n; p <= 1/C.
    "karhadkar2024": MappingProxyType({"C1": math.nan, "C3": math.nan, "C_d": 1.0, "C": 1.0}),
})
_K, _M, _S, _C, _H = (DEFAULTS[t] for t in ("kou2023", "meng2024", "shang2024", "cao2022", "karhadkar2024"))


@dataclass(frozen=True, eq=False)
class Prediction:
    """A theorem's prediction for one configuration (or an array of them).

    Attributes:
        phi: phase variable (float or float64 array); ``n |mu|^4 / (sigma_p^4 d)`` for ReLU,
            ``n SNR^q`` for Cao 2022.
        regime: ``"benign"``, ``"harmful"`` or ``"undetermined"`` (between the two thresholds).
        lower: lower bound on the (noisy) test error, NaN where the theorem gives none.
        upper: upper bound on the (noisy) test error, NaN where the theorem gives none.
            Bounds are clipped to ``[p, 1]``.
        conditions: name -> bool (or bool array) for the theorem's side conditions that could be
            evaluated from the inputs given.
        source: short citation with certainty tag.
        extra: further theory-specific outputs (e.g. ``init_regime``, ``limiting_ratio``).
    """

    phi: Any
    regime: Any
    lower: Any
    upper: Any
    conditions: Mapping[str, Any]
    source: str
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: phi, regime, lower, upper, source, ``cond_<name>``, extras."""
        out = {"phi": self.phi, "regime": self.regime, "lower": self.lower,
               "upper": self.upper, "source": self.source}
        out.update({f"cond_{k}": v for k, v in self.conditions.items()})
        out.update(self.extra)
        return out


def _regime(phi: np.ndarray, benign_at: float, harmful_at: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(phi >= benign_at, "benign",
                        np.where(phi <= harmful_at, "harmful", "undetermined")).astype("<U12")


def _relu_phi(n: np.ndarray, d: np.ndarray, mu: np.ndarray, sp: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return n * mu**4 / (sp**4 * d)  # sigma_p = 0: inf (mu > 0) or NaN (mu = 0)


def _base(n, d, mu_norm, sigma_p, p):
    n = _check("n", n, lo=1, integer=True)
    d = _check("d", d, lo=1, integer=True)
    mu = _check("mu_norm", mu_norm, lo=0)
    sp = _check("sigma_p", sigma_p, lo=0)
    p = _check("p", p, lo=0, hi=0.5, hi_open=True)
    return np.broadcast_arrays(n, d, mu, sp, p)


def _kou_form(phi, p, C1, C2, C3, C4, label_c=("C1", "C3")) -> tuple[np.ndarray, ...]:
    """Regime and bounds of the Kou-type statement (benign phi>=C1, harmful phi<=C3)."""
    C1 = float(_check(label_c[0], C1, lo=0, lo_open=True))
    C3 = float(_check(label_c[1], C3, lo=0, lo_open=True))
    if C3 > C1:
        raise ValueError(f"{label_c[1]}={C3!r} is invalid: must be <= {label_c[0]}={C1!r}")
    C2 = float(_check("C2", C2, lo=0, lo_open=True))
    C4 = float(_check("C4", C4, lo=0))
    reg = _regime(phi, C1, C3)
    with np.errstate(invalid="ignore", over="ignore"):
        upper = np.where(reg == "benign", np.clip(p + np.exp(-phi / C2), p, 1.0), np.nan)
    lower = np.where(reg == "harmful", np.clip(p + C4, p, 1.0), np.nan)
    return reg, lower, upper


# ----------------------------------------------------------------------------- theorems
def cao2022(n: Any, snr: Any, q: Any, *, p: Any = 0.0, C1: float = _C["C1"],
            C2: float = _C["C2"], C3: float = _C["C3"]) -> Prediction:
    """Cao et al. 2022, polynomial ReLU ``max(0,z)^q`` (q > 2), fixed output, no label noise.

    [recalled] benign if ``n SNR^q >= C1``; harmful (test *loss* >= 0.1) if
    ``n^-1 SNR^-q >= C3``, i.e. ``phi <= 1/C3`` with ``phi = n SNR^q``.  The benign theorem bounds
    the test loss by ``6 eps + exp(-n^2/C2)``; with ``eps -> 0`` and ``1{yf<0} <= loss/log 2``
    this gives ``upper = p + exp(-n^2/C2)/log 2``.  The harmful statement bounds the loss, not the
    error, so ``lower`` is NaN.  ``p`` (default 0, the theorem's setting) only sets the clipping
    range; ``conditions["no_label_noise"]`` records whether ``p == 0``.

    Args: n (int >= 1), snr (>= 0), q (> 2), p in [0, 0.5); scalars or broadcastable arrays.
    """
    n = _check("n", n, lo=1, integer=True)
    snr = _check("snr", snr, lo=0)
    q = _check("q", q, lo=2, lo_open=True)
    p = _check("p", p, lo=0, hi=0.5, hi_open=True)
    C1 = float(_check("C1", C1, lo=0, lo_open=True))
    C3 = float(_check("C3", C3, lo=0, lo_open=True))
    if 1.0 / C3 > C1:
        raise ValueError(f"C3={C3!r} is invalid: need 1/C3 <= C1={C1!r} (disjoint regimes)")
    C2 = float(_check("C2", C2, lo=0, lo_open=True))
    n, snr, q, p = np.broadcast_arrays(n, snr, q, p)
    with np.errstate(over="ignore"):
        phi = n * snr**q
    reg = _regime(phi, C1, 1.0 / C3)
    upper = np.where(reg == "benign", np.clip(p + np.exp(-n**2 / C2) / math.log(2), p, 1), np.nan)
    lower = np.full(phi.shape, np.nan)
    return Prediction(_out(phi), _out(reg), _out(lower), _out(upper),
                      MappingProxyType({"no_label_noise": _out(p == 0)}),
                      "Cao, Chen, Belkin, Gu 2022 (NeurIPS), Thm 4.3/4.4 [recalled]")


def kou2023(n: Any, d: Any, mu_norm: Any, sigma_p: Any, p: Any, m: Any = None,
            sigma_0: Any = None, eta: Any = None, T: Any = None, *, C1: float = _K["C1"],
            C2: float = _K["C2"], C3: float = _K["C3"], C4: float = _K["C4"],
            C: float = _K["C"]) -> Prediction:
    """Kou et al. 2023, ReLU CNN, fixed output, label-flip noise ``p``.  [recalled]

    ``phi = n |mu|^4 / (sigma_p^4 d)``; benign if ``phi >= C1`` with
    ``test error <= p + exp(-phi/C2)``; harmful if ``phi <= C3`` with ``test error >= p + C4``.
    Side conditions (each evaluated only when its inputs are given; ``C`` is their constant):
    ``p_small`` p <= 1/C; ``n_vs_log_m`` n >= C log m; ``m_vs_log_n`` m >= C log n;
    ``d_large`` d >= C max(n|mu|^2/sigma_p^2 log T, n^2 log(nm) (log T)^2) (needs m, T);
    ``sigma_0_small`` sigma_0 <= 1/(C max(sigma_p d/sqrt n, sqrt(log m)|mu|)) (needs m, sigma_0);
    ``eta_small`` eta <= 1/(C max(sigma_p^2 d^1.5/n^2, sigma_p^2 d/n)) (needs eta).

    Args: n, d (int >= 1), mu_norm, sigma_p (>= 0), p in [0, 0.5), m (int >= 1), sigma_0 (>= 0),
    eta (> 0), T (int >= 1); scalars or broadcastable arrays.
    """
    n, d, mu, sp, p = _base(n, d, mu_norm, sigma_p, p)
    phi = _relu_phi(n, d, mu, sp)
    reg, lower, upper = _kou_form(phi, p, C1, C2, C3, C4)
    C = float(_check("C", C, lo=0, lo_open=True))
    cond = {"p_small": p <= 1.0 / C}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if m is not None:
            m = _check("m", m, lo=1, integer=True)
            cond["n_vs_log_m"] = n >= C * np.log(m)
            cond["m_vs_log_n"] = m >= C * np.log(n)
            if T is not None:
                lt = np.log(_check("T", T, lo=1, integer=True))
                cond["d_large"] = d >= C * np.maximum(n * mu**2 / sp**2 * lt,
                                                      n**2 * np.log(n * m) * lt**2)
            if sigma_0 is not None:
                s0 = _check("sigma_0", sigma_0, lo=0)
                cond["sigma_0_small"] = s0 <= 1.0 / (C * np.maximum(
                    sp * d / np.sqrt(n), np.sqrt(np.log(m)) * mu))
        if eta is not None:
            eta = _check("eta", eta, lo=0, lo_open=True)
            cond["eta_small"] = eta <= 1.0 / (C * np.maximum(sp**2 * d**1.5 / n**2, sp**2 * d / n))
    shape = np.broadcast_shapes(phi.shape, *(np.shape(v) for v in cond.values()))
    phi, reg, lower, upper = (np.broadcast_to(x, shape) for x in (phi, reg, lower, upper))
    cond = {k: _out(np.broadcast_to(v, shape)) for k, v in cond.items()}
    return Prediction(_out(phi), _out(reg), _out(lower), _out(upper), MappingProxyType(cond),
                      "Kou, Chen, Chen, Gu 2023 (ICML), benign/harmful theorems [recalled]")


def xor_patches(mu_norm: Any, xor_angle: Any) -> tuple[np.ndarray, np.ndarray]:
    """Norms ``(|a + b|, |a - b|)`` of the two signal-patch directions of the project's XOR data
    (``|a| = |b| = mu_norm`` at angle ``xor_angle``): ``mu_norm sqrt(2 (1 +- cos xor_angle))``. [exact]

    The two directions ``a + b`` and ``a - b`` are orthogonal for every angle (``|a| = |b|``); the angle
    only makes their norms unequal.
    """
    mu = _check("mu_norm", mu_norm, lo=0)
    ang = _check("xor_angle", xor_angle, lo=0, hi=math.pi, lo_open=True, hi_open=True)
    c = np.cos(ang)
    return mu * np.sqrt(2 * (1 + c)), mu * np.sqrt(2 * (1 - c))


def meng2024(n: Any, d: Any, mu_norm: Any, sigma_p: Any, p: Any, xor_angle: Any = math.pi / 2, *,
             C1: float = _M["C1"], C2: float = _M["C2"], C3: float = _M["C3"], C4: float = _M["C4"],
             C: float = _M["C"]) -> Prediction:
    """Meng, Zou, Cao 2024 (ICML; arXiv 2310.01975), XOR data, ReLU CNN, fixed output, label flips ``p``.

    What is encoded, and how sure each piece is:

    - Inputs are the project's XOR data (``data='xor'``): ``mu_norm = |a| = |b|``, signal patches
      ``+-(a + b)`` (label +1) and ``+-(a - b)`` (label -1), ``a`` and ``b`` at ``xor_angle``.
    - The paper's data [recalled]: two signal-patch vectors of *equal* norm ``|mu|`` (label +1 on one
      pair ``+-u``, -1 on the other ``+-v``), whose angle may be small ("correlated features"). At
      ``xor_angle = pi/2`` the project's data is that model with ``u`` orthogonal to ``v`` and
      ``|mu| = sqrt(2) mu_norm``. At any other angle the project's patches stay orthogonal but get
      unequal norms (:func:`xor_patches`), a geometry the paper does not treat; ``conditions["paper_geometry"]``
      is then False and ``phi`` uses the smaller patch norm (a convention, not a theorem).
    - Phase variable [recalled]: ``phi = n |mu|^4 / (sigma_p^4 d)``, the same as Kou et al. 2023:
      near-Bayes-optimal error ``<= p + exp(-phi/C2)`` when ``phi >= C1``, error ``>= p + C4`` when
      ``phi <= C3``. How the paper's angle between ``u`` and ``v`` enters its conditions when that
      angle is not a right angle is **unknown** here (not encoded: the project's data never has it).
    - ``C1 .. C4``, ``C`` are **unknown** absolute constants (uncalibrated defaults, :data:`DEFAULTS`).
      ``conditions``: ``p_small`` (p <= 1/C) and ``paper_geometry``; ``extra``: ``patch_norm_plus``,
      ``patch_norm_minus`` (:func:`xor_patches`).

    Args: as :func:`kou2023` without the optimisation parameters, plus ``xor_angle`` in (0, pi).
    """
    n, d, mu, sp, p = _base(n, d, mu_norm, sigma_p, p)
    plus, minus = xor_patches(mu, xor_angle)
    shape = np.broadcast_shapes(n.shape, np.shape(plus))
    n, d, sp, p, plus, minus = (np.broadcast_to(x, shape) for x in (n, d, sp, p, plus, minus))
    ang = np.broadcast_to(np.asarray(xor_angle, dtype=float), shape)
    phi = _relu_phi(n, d, np.minimum(plus, minus), sp)
    reg, lower, upper = _kou_form(phi, p, C1, C2, C3, C4)
    C = float(_check("C", C, lo=0, lo_open=True))
    cond = {"p_small": _out(p <= 1.0 / C), "paper_geometry": _out(np.isclose(ang, math.pi / 2, rtol=0, atol=1e-9))}
    extra = {"patch_norm_plus": _out(plus), "patch_norm_minus": _out(minus)}
    return Prediction(_out(phi), _out(reg), _out(lower), _out(upper), MappingProxyType(cond),
                      "Meng, Zou, Cao 2024 (ICML), XOR [recalled; constants unknown]", MappingProxyType(extra))


def karhadkar2024(n: Any, d: Any, snr: Any, p: Any = 0.0, *, C1: float = _H["C1"], C3: float = _H["C3"],
                  C_d: float = _H["C_d"], C: float = _H["C"]) -> Prediction:
    """Karhadkar, George, Murray, Montufar, Needell 2024 (NeurIPS; arXiv 2403.06903): two-layer leaky ReLU
    network, hinge loss, trained by GD to zero training error, input dimension of order ``n``.

    What is encoded, and how sure each piece is:

    - [abstract] Data: a common signal plus noise on orthogonal subspaces, noisy labels. High SNR gives
      benign overfitting, low SNR harmful overfitting; the benign result needs only
      ``d = Omega(n log(1/eps))`` (error within ``eps`` of optimal), not ``d = Omega(n^2 log n)``.
    - ``phi = snr = |mu| / (sigma_p sqrt(d))`` (the project's SNR). How the paper's thresholds depend on
      ``n`` and ``d`` (the exponents of the boundary) is **unknown** here, so the thresholds are plain
      numbers on ``snr``: benign iff ``snr >= C1``, harmful iff ``snr <= C3``. Both default to NaN
      (**unknown**): every regime is then ``"undetermined"``; pass fitted values to use them.
    - No error bound is encoded (``lower``, ``upper`` NaN).
    - ``conditions``: ``d_moderate`` (``d >= C_d n``; ``C_d`` **unknown**, default 1, the
      ``log(1/eps)`` factor left out) and ``p_small`` (``p <= 1/C``, ``C`` **unknown**).

    Args: n, d (int >= 1), snr (>= 0), p in [0, 0.5); scalars or broadcastable arrays. C1, C3: NaN or
    > 0 with C3 <= C1; C_d, C > 0.
    """
    n = _check("n", n, lo=1, integer=True)
    d = _check("d", d, lo=1, integer=True)
    snr = _check("snr", snr, lo=0)
    p = _check("p", p, lo=0, hi=0.5, hi_open=True)
    c1, c3 = (float(v) if math.isnan(float(v)) else float(_check(k, v, lo=0, lo_open=True)) for k, v in (("C1", C1), ("C3", C3)))
    if c3 > c1:
        raise ValueError(f"C3={C3!r} is invalid: must be <= C1={C1!r}")
    C_d = float(_check("C_d", C_d, lo=0, lo_open=True))
    C = float(_check("C", C, lo=0, lo_open=True))
    n, d, snr, p = np.broadcast_arrays(n, d, snr, p)
    phi = np.asarray(snr, dtype=float)
    reg = _regime(phi, c1, c3)
    nan = np.full(phi.shape, np.nan)
    cond = {"d_moderate": _out(d >= C_d * n), "p_small": _out(p <= 1.0 / C)}
    return Prediction(_out(phi), _out(reg), _out(nan), _out(nan), MappingProxyType(cond),
                      "Karhadkar et al. 2024 (NeurIPS), leaky ReLU + hinge [abstract; thresholds unknown]")


def shang2024(n: Any, d: Any, mu_norm: Any, sigma_p: Any, p: Any, init_scale: Any,
              sigma_0: Any, eta_w: Any = None, eta_a: Any = None, *, C1: float = _S["C1"],
              C2: float = _S["C2"], C3: float = _S["C3"], C4: float = _S["C4"],
              C: float = _S["C"], small_init_shift: float = _S["small_init_shift"]) -> Prediction:
    """Shang et al. 2024, trainable output layer: a PLACEHOLDER for what is not known.  [abstract]

    Only the paper's abstract is used here (its full text, hence its conditions and constants, is not
    available): the thresholds below are Kou et al.'s, not Shang et al.'s; see docs/science.md, "Theorems".

    Large output init (``init_scale > sigma_0 sqrt d``, a heuristic, see :func:`regime_of_init`)
    behaves like the fixed-output model: the Kou 2023 prediction.  For small init the sharp
    conditions are [open]; by default the same thresholds are used, multiplied by
    ``small_init_shift`` (> 0, default 1 = "the boundary does not move"), so a measured shift can be
    plugged in.  ``extra`` holds ``init_regime`` and, when both step sizes are given,
    ``limiting_ratio = sqrt(eta_w/eta_a)`` [exact; docs/science.md, "Conservation law"].  ``conditions`` holds ``p_small`` and
    ``fixed_output_limit`` (init regime is "large").
    """
    n, d, mu, sp, p = _base(n, d, mu_norm, sigma_p, p)
    init = regime_of_init(init_scale, sigma_0, d)
    shift = float(_check("small_init_shift", small_init_shift, lo=0, lo_open=True))
    shape = np.broadcast_shapes(n.shape, np.shape(init))
    n, d, mu, sp, p = (np.broadcast_to(x, shape) for x in (n, d, mu, sp, p))
    phi = _relu_phi(n, d, mu, sp)
    large = np.broadcast_to(np.asarray(init) == "large", shape)
    with np.errstate(invalid="ignore"):
        phi_eff = np.where(large, phi, phi / shift)
    reg, lower, upper = _kou_form(phi_eff, p, C1, C2, C3, C4)
    C = float(_check("C", C, lo=0, lo_open=True))
    extra: dict[str, Any] = {"init_regime": _out(np.broadcast_to(init, phi.shape))}
    if eta_w is not None and eta_a is not None:
        extra["limiting_ratio"] = _out(np.broadcast_to(limiting_ratio(eta_w, eta_a), phi.shape))
    cond = {"p_small": _out(p <= 1.0 / C), "fixed_output_limit": _out(large)}
    return Prediction(_out(phi), _out(reg), _out(lower), _out(upper), MappingProxyType(cond),
                      "Shang, Meng, Cao, Zou 2024 (arXiv 2410.19139) [placeholder from the abstract: Kou thresholds; small-init "
                      "thresholds open]", MappingProxyType(extra))


THEORIES = MappingProxyType({"cao2022": cao2022, "karhadkar2024": karhadkar2024, "kou2023": kou2023,
                             "meng2024": meng2024, "shang2024": shang2024})


def thresholds(theory: str = "kou2023", **constants: float) -> tuple[float, float]:
    """``(harmful_at, benign_at)`` on the theory's ``phi`` axis: harmful iff phi <= harmful_at,
    benign iff phi >= benign_at (large-init thresholds for shang2024)."""
    if theory not in DEFAULTS:
        raise ValueError(f"theory={theory!r} is invalid: must be one of {sorted(DEFAULTS)}")
    c = {**DEFAULTS[theory], **constants}
    return (1.0 / c["C3"], c["C1"]) if theory == "cao2022" else (c["C3"], c["C1"])


# ----------------------------------------------------------------------------- vectorised helper
_ALIASES = {"eta": ("eta", "eta_w"), "T": ("T", "steps", "n_steps"), "mu_norm": ("mu_norm", "mu")}


def _lookup(src: Any, name: str, get) -> Any:
    for key in _ALIASES.get(name, (name,)):
        v = get(src, key)
        if v is not None:
            return v
    if name == "mu_norm" and all(get(src, k) is not None for k in ("snr", "sigma_p", "d")):
        return get(src, "snr") * get(src, "sigma_p") * np.sqrt(get(src, "d"))
    if name == "snr" and all(get(src, k) is not None for k in ("mu_norm", "sigma_p", "d")):
        return get(src, "mu_norm") / (get(src, "sigma_p") * np.sqrt(get(src, "d")))
    return None


def _gather(src: Any, func, get, theory: str) -> dict[str, Any]:
    """Collect the non-constant arguments of ``func`` from ``src`` (missing optionals skipped)."""
    kwargs = {}
    for name, par in inspect.signature(func).parameters.items():
        if par.kind is inspect.Parameter.KEYWORD_ONLY and name != "p":
            continue  # constants
        v = _lookup(src, name, get)
        if v is None or (par.default is not inspect.Parameter.empty
                         and np.isnan(np.asarray(v, dtype=float)).any()):
            if par.default is inspect.Parameter.empty:
                raise ValueError(f"predict(theory={theory!r}) needs {name!r} "
                                 f"(column, variable or key); not found")
            continue
        kwargs[name] = v
    return kwargs


def predict(df_or_kwargs: Any, theory: str = "kou2023", **constants: float) -> Any:
    """Vectorised predictions for a sweep.

    Args:
        df_or_kwargs: a ``pandas.DataFrame`` (one row per cell or run), an ``xarray.Dataset``
            (arguments taken from data variables, coordinates or scalar attrs, broadcast by
            dimension name) or a mapping of keyword arguments.  Names as in the theory function;
            ``eta`` may come from ``eta_w``, ``T`` from ``steps``; ``mu_norm``/``snr`` are derived
            from each other (with ``sigma_p``, ``d``) when only one is present.  Optional inputs
            that are absent or contain NaN are skipped (their conditions are not evaluated).
        theory: one of :data:`THEORIES`.
        **constants: absolute constants passed to the theory function.

    Returns:
        DataFrame input: a DataFrame with the same index and float/str/bool columns ``phi``,
        ``regime_theory``, ``lower_bound``, ``upper_bound``, ``cond_<name>`` and extras (source
        in ``.attrs["source"]``).  Dataset input: a Dataset with those variables on the broadcast
        dims.  Mapping input: the :class:`Prediction`.
    """
    import pandas as pd

    if theory not in THEORIES:
        raise ValueError(f"theory={theory!r} is invalid: must be one of {sorted(THEORIES)}")
    func = THEORIES[theory]
    if isinstance(df_or_kwargs, pd.DataFrame):
        df = df_or_kwargs
        kw = _gather(df, func, lambda s, k: s[k].to_numpy() if k in s.columns else None, theory)
        pred = func(**{k: np.asarray(v, dtype=float) for k, v in kw.items()}, **constants)
        cols = {("regime_theory" if k == "regime" else f"{k}_bound" if k in ("lower", "upper")
                 else k): np.broadcast_to(v, (len(df),))
                for k, v in pred.to_dict().items() if k != "source"}
        out = pd.DataFrame(cols, index=df.index)
        out.attrs["source"] = pred.source
        return out
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - xarray is a dependency
        xr = None
    if xr is not None and isinstance(df_or_kwargs, xr.Dataset):
        ds = df_or_kwargs

        def get(s, k):
            if k in s.variables:
                return s[k]
            return s.attrs.get(k)
        kw = _gather(ds, func, get, theory)
        das = [v if isinstance(v, xr.DataArray) else xr.DataArray(v) for v in kw.values()]
        das = xr.broadcast(*das)
        order = [d for d in ds.dims if d in das[0].dims]
        das = [a.transpose(*order, ...) for a in das]
        pred = func(**{k: np.asarray(a.values, dtype=float) for k, a in zip(kw, das)},
                    **constants)
        tmpl = das[0]
        data = {("regime_theory" if k == "regime" else f"{k}_bound" if k in ("lower", "upper")
                 else k): (tmpl.dims, np.broadcast_to(v, tmpl.shape))
                for k, v in pred.to_dict().items() if k != "source"}
        return xr.Dataset(data, coords=tmpl.coords, attrs={"source": pred.source})
    if isinstance(df_or_kwargs, Mapping):
        kw = _gather(df_or_kwargs, func, lambda s, k: s.get(k), theory)
        return func(**kw, **constants)
    raise TypeError(f"df_or_kwargs must be a DataFrame, Dataset or mapping, "
                    f"got {type(df_or_kwargs).__name__}")
