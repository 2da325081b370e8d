"""Exact laws of the layer dynamics (numpy only): the per-neuron conserved quantity and what follows.

For a positively homogeneous activation of degree ``q`` (ReLU and leaky ReLU: ``q = 1``; polynomial
ReLU ``max(0, z)^q``), every neuron satisfies ``q a dL/da = <w, dL/dw>``. Under gradient flow with
step sizes ``eta_w``, ``eta_a`` the quantity ``Q = q a^2/eta_a - |w|^2/eta_w`` is therefore
conserved; plain GD changes it by exactly ``q eta_a |dL/da|^2 - eta_w |dL/dw|^2`` per step (an
``O(eta)`` fraction of ``Q``'s terms). With a bias, ``w`` is the filter with its bias appended.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import check as _check
from ._checks import out as _out


def _q(q: Any) -> np.ndarray:
    return _check("q", q, lo=0, lo_open=True)


def conserved_quantity(a: Any, w_norm: Any, eta_w: Any = 1.0, eta_a: Any = 1.0, q: Any = 1.0) -> Any:
    """``q a^2/eta_a - |w|^2/eta_w`` per neuron, conserved by gradient flow [exact; docs/science.md, "Conservation law"].

    ``q``: the activation's degree of homogeneity (1 for ReLU and leaky ReLU, ``q`` for
    ``max(0, z)^q``). Shapes broadcast (e.g. ``a`` and ``w_norm`` of shape ``(2, m)``); float64 out.
    """
    a = _check("a", a)
    w = _check("w_norm", w_norm, lo=0)
    ew = _check("eta_w", eta_w, lo=0, lo_open=True)
    ea = _check("eta_a", eta_a, lo=0, lo_open=True)
    return _out(_q(q) * a**2 / ea - w**2 / ew)


def limiting_ratio(eta_w: Any, eta_a: Any, q: Any = 1.0) -> Any:
    """``sqrt(q eta_w/eta_a)``: the limit of ``|w|/|a|`` once ``a^2 >> |Q0|`` [exact; docs/science.md, "Conservation law"]."""
    ew = _check("eta_w", eta_w, lo=0, lo_open=True)
    ea = _check("eta_a", eta_a, lo=0, lo_open=True)
    return _out(np.sqrt(_q(q) * ew / ea))


def _sqrt_tol(rad: np.ndarray, scale: np.ndarray, rtol: float = 1e-12) -> np.ndarray:
    """sqrt of ``rad``; rounding-level negatives (``> -rtol*scale``) give 0, others NaN."""
    with np.errstate(invalid="ignore"):
        return np.where(rad >= -rtol * scale, np.sqrt(np.maximum(rad, 0.0)), np.nan)


def predicted_ratio(a: Any, Q0: Any, eta_w: Any = 1.0, eta_a: Any = 1.0, q: Any = 1.0) -> Any:
    """``|w|/|a|`` implied by conservation of ``Q0 = q a^2/eta_a - |w|^2/eta_w`` [exact; docs/science.md, "Conservation law"]:
    ``sqrt(q eta_w/eta_a - eta_w Q0 / a^2)``.  NaN where the radicand is negative (inconsistent
    inputs); ``inf`` for ``a = 0`` with ``Q0 < 0``.  Use the measured ``Q0`` of each neuron and
    the activation's degree ``q`` (1 for ReLU and leaky ReLU).
    """
    a = _check("a", a)
    q0 = _check("Q0", Q0)
    ew = _check("eta_w", eta_w, lo=0, lo_open=True)
    ea = _check("eta_a", eta_a, lo=0, lo_open=True)
    qq = _q(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        lim, corr = qq * ew / ea, ew * q0 / a**2
        return _out(_sqrt_tol(lim - corr, lim + np.abs(corr)))


def expected_conserved_quantity(init_scale: Any, sigma_0: Any, d: Any, eta_w: Any = 1.0, eta_a: Any = 1.0,
                                q: Any = 1.0) -> Any:
    """``q a0^2/eta_a - sigma_0^2 d/eta_w``: the expectation of ``Q0`` over ``W(0) ~ N(0, sigma_0^2 I_d)``
    for a constant output init ``|a(0)| = init_scale`` [exact, in expectation].

    Put into :func:`predicted_ratio` it gives ``|w|/|a|`` as a function of ``|a|`` from the
    configuration alone (no measured ``W(0)``); per neuron ``|w(0)|^2`` scatters around
    ``sigma_0^2 d`` with relative spread ``sqrt(2/d)``. Float64 out; shapes broadcast.
    """
    a0 = _check("init_scale", init_scale)
    s0 = _check("sigma_0", sigma_0, lo=0)
    dd = _check("d", d, lo=1)
    ew = _check("eta_w", eta_w, lo=0, lo_open=True)
    ea = _check("eta_a", eta_a, lo=0, lo_open=True)
    return _out(_q(q) * a0**2 / ea - s0**2 * dd / ew)


def predicted_output_norm_large_init(a0: Any, w_norm: Any, w0_norm: Any) -> Any:
    """``|a| = sqrt(a0^2 + |w|^2 - |w0|^2)`` (one step size, conservation) [exact; docs/science.md, "Conservation law"].

    NaN where the radicand is negative (inputs inconsistent with conservation).
    """
    a0 = _check("a0", a0)
    w = _check("w_norm", w_norm, lo=0)
    w0 = _check("w0_norm", w0_norm, lo=0)
    return _out(_sqrt_tol(a0**2 + w**2 - w0**2, a0**2 + w**2 + w0**2))


def fixed_output_equivalent(output_value: Any, eta_w: Any, sigma_0: Any, target: Any = 1.0, q: Any = 1.0) -> tuple[Any, Any]:
    """``(eta_eff, sigma_0_eff)`` that make the fixed-output model at ``a = target`` follow exactly the
    trajectory of the fixed-output model at ``a = output_value`` [exact].

    For an activation positively homogeneous of degree ``q``, ``a act(<w, x>) = target act(<c w, x>)``
    with ``c = (a/target)^(1/q)``; GD on ``w`` with step ``eta_w`` is GD on ``w' = c w`` with step
    ``eta_w c^2``, started from ``c W(0)``. So the output scale enters the fixed-output model only
    through an effective step ``eta_w (a/target)^(2/q)`` and an effective init ``sigma_0
    (a/target)^(1/q)`` (same data, same directions of ``W(0)``). With ``target = 1/m`` this maps
    the model at ``a = a0`` onto Kou et al.'s normalisation: ``eta (m a0)^2`` and ``sigma_0 m a0``
    for ReLU, whose conditions ask both to be small. Float64 out; shapes broadcast.
    """
    a = _check("output_value", output_value, lo=0, lo_open=True)
    ew = _check("eta_w", eta_w, lo=0, lo_open=True)
    s0 = _check("sigma_0", sigma_0, lo=0)
    t = _check("target", target, lo=0, lo_open=True)
    c = (a / t) ** (1.0 / _q(q))
    return _out(ew * c**2), _out(s0 * c)


def regime_of_init(init_scale: Any, sigma_0: Any, d: Any) -> Any:
    """``"large"`` if ``init_scale > sigma_0 sqrt(d)`` else ``"small"``.

    Heuristic: it is the sign of ``D = a(0)^2 - |w(0)|^2`` with ``|w(0)| ~ sigma_0 sqrt d``
    (docs/science.md, "Conservation law"), not a threshold from Shang et al. (whose sharp conditions are [open]).
    """
    s = _check("init_scale", np.abs(np.asarray(init_scale, dtype=float)), lo=0)
    s0 = _check("sigma_0", sigma_0, lo=0)
    d = _check("d", d, lo=1)
    return _out(np.where(s > s0 * np.sqrt(d), "large", "small").astype("<U5"))
