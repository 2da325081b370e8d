"""Figures of simulation results (matplotlib), with the theory drawn on them.

Every function returns a matplotlib ``Figure`` (:func:`heatmap` returns the ``Axes`` it drew on) and
saves a PNG when given ``path``. Nothing here fits: a measured boundary (a
:class:`benign.analysis.BoundaryFit`, or the per-init-scale table of :func:`benign.analysis.boundaries`)
and calibrated constants are arguments, and :func:`benign.analysis.figure_fits` computes all of them
for a sweep (the same fits :func:`benign.analysis.compare` reports).

What the figures draw:

- **Phase diagrams** (:func:`heatmap`, :func:`phase_diagram`): the seed mean of the test error and
  the fraction of seeds that are benign (``test_error <= p + tol``); the theorem's thresholds
  ``phi = C1`` (benign at and above) and ``phi = C3`` (harmful at and below) as lines with the
  undetermined band between them hatched (calibrated constants when given, else the theory's
  uncalibrated defaults; the legend says which); the measured boundary ``phi = phi*`` (dashed) with
  its confidence interval (dotted), and per-column boundaries with error bars when given.
- **1-D slices** (:func:`line`): mean over seeds with the inter-quartile band; the label-noise
  floor ``p``; the theorem's upper bound ``p + exp(-phi/C2)`` where ``phi >= C1`` and lower bound
  ``p + C4`` where ``phi <= C3``; the thresholds and the measured boundary as vertical lines and bands.
- **Layer norms** (:func:`layer_norms`) of one run (a :class:`benign.Result`) or a sweep: ``|w|``,
  ``|a|`` and the ratio of the mean norms, beside the ratio the conservation law predicts from step 0.
- **Signal vs noise coefficients** (:func:`gamma_rho`) and **the boundary versus the init scale**
  (:func:`boundary_vs_init`).

The theory's phase variable is ``phi = n |mu|^4 / (sigma_p^4 d)`` (ReLU; Kou et al. 2023, also used
for Shang et al. 2024 and Meng et al. 2024) or ``n SNR^q`` (polynomial ReLU; Cao et al. 2022); it is
evaluated by :func:`benign.theory.predict` from the plotted axes and the sweep's constant arguments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
from matplotlib import patheffects
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .analysis.fits import BENIGN_TOL, BoundaryFit, is_benign

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .analysis.compare import FigureFits

SIGNAL_AXES = ("mu_norm", "snr")
#: Axis labels (matplotlib mathtext).
LABELS = {
    "mu_norm": r"$|\mu|$",
    "snr": r"SNR $= |\mu| / (\sigma_p \sqrt{d})$",
    "init_scale": r"output init scale $a_0$",
    "sigma_p": r"$\sigma_p$",
    "sigma_0": r"$\sigma_0$",
    "n": r"$n$ (training points)",
    "d": r"$d$ (dimension)",
    "m": r"$m$ (filters per class)",
    "p": r"label-noise rate $p$",
    "phi": r"$\Phi$",
    "test_error": "test error",
    "train_error": "train error",
    "train_loss": "train loss",
}
#: Font sizes used by every figure.
FONT = {"title": 11, "label": 11, "tick": 10, "legend": 9}
_STROKE = [patheffects.withStroke(linewidth=3.5, foreground="white")]
_THEORY = {"benign": "#1f5fbf", "harmful": "#c0392b", "band": "0.35"}
_MEASURED = "black"


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " "))


def _style(ax, title: str | None = None) -> None:
    ax.tick_params(labelsize=FONT["tick"])
    ax.xaxis.label.set_size(FONT["label"])
    ax.yaxis.label.set_size(FONT["label"])
    if title is not None:
        ax.set_title(title, fontsize=FONT["title"])


def grid_dims(ds) -> list[str]:
    """Swept dimensions of a results dataset (every dim but ``seed`` and ``step``)."""
    return [str(d) for d in ds.dims if d not in ("seed", "step")]


def default_axes(ds) -> tuple[str, str | None]:
    """``(x, y)``: the signal axis (``mu_norm``/``snr``) on y when swept, the longest other dim on x."""
    dims = sorted(grid_dims(ds), key=lambda d: -ds.sizes[d])
    if not dims:
        raise ValueError("the dataset has no swept dimension to plot")
    sig = [d for d in dims if d in SIGNAL_AXES]
    y = sig[0] if sig else (dims[1] if len(dims) > 1 else None)
    rest = [d for d in dims if d != y]
    x = rest[0] if rest else y
    assert x is not None  # dims is not empty
    return (x, y) if x != y else (x, None)


def _valid(ds, var: str):
    da = ds[var].astype(float)
    if "diverged" in ds and var != "diverged":
        da = da.where(~ds["diverged"].astype(bool))
    return da


def cell_mean(ds, var: str = "test_error", keep: Sequence[str] = ()):
    """Mean of ``var`` over seeds (diverged runs excluded) and every dim not in ``keep`` (``step`` kept)."""
    da = _valid(ds, var)
    drop = [d for d in da.dims if d not in keep and d != "step"]
    return da.mean(drop, skipna=True).transpose(*keep, ...) if keep else da.mean(drop, skipna=True)


def seed_quantiles(ds, var: str = "test_error", keep: Sequence[str] = (), q: Sequence[float] = (0.25, 0.5, 0.75)):
    """Quantiles over seeds of ``var`` (diverged runs excluded), after averaging every dim not in
    ``keep``/``seed``/``step``. Returns a DataArray with a leading ``quantile`` dim."""
    da = _valid(ds, var)
    drop = [d for d in da.dims if d not in keep and d not in ("seed", "step")]
    if drop:
        da = da.mean(drop, skipna=True)
    if "seed" not in da.dims:
        da = da.expand_dims("seed")
    out = da.quantile(list(q), dim="seed", skipna=True)
    return out.transpose("quantile", *keep, ...)


def benign_fraction(ds, tol: float = BENIGN_TOL, keep: Sequence[str] = ()):
    """Fraction of runs with ``test_error <= p + tol`` (diverged runs left out) over seeds and every
    dim not in ``keep``."""
    import xarray as xr

    p = ds["p"] if "p" in ds.variables else float(ds.attrs.get("p", 0.0) or 0.0)
    div = ds["diverged"].astype(bool) if "diverged" in ds else False
    te = ds["test_error"].astype(float)
    lab = xr.apply_ufunc(lambda e, pp, dv: is_benign(e, pp, tol, dv), te, p, div)
    drop = [d for d in lab.dims if d not in keep and d != "step"]
    return lab.mean(drop, skipna=True).transpose(*keep, ...)


def _is_numeric(values: np.ndarray) -> bool:
    return values.dtype.kind in "iuf"


def _log_axis(values: np.ndarray) -> bool:
    """Positive values spread over a decade or more and closer to geometric than arithmetic spacing."""
    v = np.sort(np.asarray(values, float))
    if len(v) < 3 or v[0] <= 0 or v[-1] / v[0] < 10:
        return False
    lin, geo = np.diff(v), np.diff(np.log(v))
    return bool(np.std(geo) / np.mean(geo) < np.std(lin) / np.mean(lin))


def _value_ticks(axis, values: np.ndarray, max_ticks: int = 8) -> None:
    """Label a log axis at (a subsample of) the swept values, '%g'-formatted, no minor labels."""
    v = np.asarray(values, float)
    v = v[:: max(1, -(-len(v) // max_ticks))]
    axis.set_major_locator(matplotlib.ticker.FixedLocator(v.tolist()))
    axis.set_major_formatter(matplotlib.ticker.FixedFormatter([f"{x:.3g}" for x in v]))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around sorted ``values`` (geometric midpoints on a log axis). On a linear axis the
    edges of a non-negative quantity never go below 0."""
    vals = np.asarray(values, float)
    v = np.log(vals) if log else vals
    if len(v) == 1:
        half = 0.5 if log or v[0] == 0 else 0.1 * abs(v[0])
        e = np.array([v[0] - half, v[0] + half])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    if log:
        return np.exp(e)
    if vals.min() >= 0:
        e[0] = max(e[0], 0.0)
    return e


def _positions(ds, name: str):
    vals = np.asarray(ds[name].values)
    if not _is_numeric(vals):
        pos = np.arange(len(vals), dtype=float)
        return pos, _edges(pos, False), False, [str(v) for v in vals]
    log = _log_axis(vals)
    return vals.astype(float), _edges(vals.astype(float), log), log, None


#: Arguments the theory checks to be integers: their fine grids are rounded.
_INTEGER = ("n", "d", "m")


def _fine(edges: np.ndarray, log: bool, name: str = "", num: int = 300) -> np.ndarray:
    """A fine grid over ``edges[0] .. edges[-1]`` for drawing the theory (integers for n, d, m)."""
    lo, hi = float(edges[0]), float(edges[-1])
    v = np.geomspace(lo, hi, num) if log and lo > 0 else np.linspace(lo, hi, num)
    if name in _INTEGER:
        v = np.unique(np.maximum(np.round(v), 1.0))
    return v


# ----------------------------------------------------------------------------- theory on a grid
_PHI_ARGS = ("n", "d", "sigma_p", "mu_norm", "snr", "q", "p")


def theory_name(ds, theory: str | None = None) -> str:
    """The theory to draw: ``theory``, else the one the sweep recorded, else ``cao2022`` for polynomial
    ReLU and ``kou2023`` otherwise."""
    if theory:
        return theory
    rec = ds.attrs.get("theory")
    if rec and rec != "none":
        return str(rec)
    return "cao2022" if ds.attrs.get("activation") == "poly_relu" else "kou2023"


def theory_grid(ds, axes: Mapping[str, np.ndarray], theory: str | None = None,
                constants: Mapping[str, float] | None = None):
    """The theory's :class:`benign.theory.Prediction` on a grid of plotted values.

    ``axes``: name -> array (broadcast against each other), every other argument from the sweep's
    constant attributes. ``None`` when the prediction is not defined there: an argument is missing,
    another swept dim enters ``phi`` or the bounds, or the constants are invalid.
    """
    from . import theory as th

    name = theory_name(ds, theory)
    others = set(grid_dims(ds)) - set(axes)
    if others & set(_PHI_ARGS) or not set(axes) & set(_PHI_ARGS):
        return None
    kw: dict[str, Any] = {k: v for k, v in ds.attrs.items() if np.ndim(v) == 0 and not isinstance(v, str)}
    kw.pop("theory", None)
    kw.setdefault("p", 0.0)
    if "snr" in axes or "mu_norm" in axes:
        kw.pop("snr", None)
        kw.pop("mu_norm", None)
    kw.update({k: np.asarray(v, float) for k, v in axes.items()})
    try:
        with np.errstate(all="ignore"):
            return th.predict(kw, name, **dict(constants or {}))
    except (ValueError, TypeError, KeyError):
        return None


def _thresholds(theory: str, constants: Mapping[str, float] | None) -> tuple[float, float] | None:
    from . import theory as th

    try:
        return th.thresholds(theory, **dict(constants or {}))
    except (ValueError, KeyError):
        return None


def _constants_note(constants: Mapping[str, float] | None, calibrated: bool) -> str:
    if calibrated:
        return "calibrated"
    return "given constants" if constants else "default constants, uncalibrated"


# ----------------------------------------------------------------------------- phase diagrams
def heatmap(ds, x: str | None = None, y: str | None = None, var: str = "test_error", *, ax=None,
            kind: str = "mean", tol: float | None = None, boundary: BoundaryFit | None = None,
            boundary_by: pd.DataFrame | None = None, constants: Mapping[str, float] | None = None,
            calibrated: bool = False, theory: str | None = None, cmap: str | None = None,
            vmin: float | None = None, vmax: float | None = None, legend: bool | str = True):
    """Heat map over swept dims ``x`` (horizontal) and ``y``, with the theory drawn on top.

    Args:
        ds: a sweep's Dataset.
        x, y: swept dims (default :func:`default_axes`).
        var: the variable shown with ``kind="mean"``.
        kind: ``"mean"`` (seed mean of ``var``, diverged runs left out: the statistic the cell
            regimes and calibrated constants of :func:`benign.analysis.compare` use) or ``"benign"``
            (fraction of seeds with ``test_error <= p + tol``: the labels of the measured boundary).
        tol: benign tolerance (default: ``boundary.tol`` when given, else ``BENIGN_TOL``).
        boundary: measured boundary on ``phi`` (drawn as the curve ``phi = phi*`` with its interval)
            or on ``x``/``y`` (a straight line).
        boundary_by: table of :func:`benign.analysis.boundaries` whose ``axis`` is ``y`` and whose
            ``by`` column is ``x``: one boundary with error bar per column.
        constants: the theory's constants (``C1``, ``C3`` ...; default: the theory's defaults).
        calibrated: whether ``constants`` are calibrated (legend wording only).
        theory: theory to draw (default :func:`theory_name`).
        legend: draw the legend (one entry per drawn mark): ``True`` (inside, best place), ``"below"``
            (under the Axes), another matplotlib ``loc``, or ``False``.

    Returns:
        The Axes. Axis ticks are the swept values.
    """
    ax, handles = _heatmap(ds, x, y, var, ax=ax, kind=kind, tol=tol, boundary=boundary, boundary_by=boundary_by,
                           constants=constants, calibrated=calibrated, theory=theory, cmap=cmap, vmin=vmin, vmax=vmax)
    if handles and legend:
        _legend(ax, handles, legend)
    return ax


def _heatmap(ds, x, y, var, *, ax, kind, tol, boundary, boundary_by, constants, calibrated, theory, cmap, vmin, vmax):
    """The heat map of :func:`heatmap`; returns ``(ax, legend handles)``."""
    if x is None or y is None:
        dx, dy = default_axes(ds)
        x, y = x or dx, y or dy
    if y is None:
        raise ValueError("a heat map needs two swept dims; use line() for one")
    if kind not in ("mean", "benign"):
        raise ValueError(f"kind={kind!r} is invalid: must be 'mean' or 'benign'")
    tol = tol if tol is not None else (boundary.tol if boundary is not None and np.isfinite(boundary.tol) else BENIGN_TOL)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.6), constrained_layout=True)
    xs, xe, xlog, xticks = _positions(ds, x)
    ys, ye, ylog, yticks = _positions(ds, y)
    n_seeds = ds.sizes.get("seed", 1)
    if kind == "benign":
        Z = benign_fraction(ds, tol, keep=(y, x)).values
        mesh = ax.pcolormesh(xe, ye, Z, cmap=cmap or "RdBu", vmin=0, vmax=1)
        cb = plt.colorbar(mesh, ax=ax)
        cb.set_label(f"fraction of {n_seeds} seeds benign\n(test error $\\leq p + {tol:g}$)", fontsize=FONT["label"])
    else:
        Z = cell_mean(ds, var, keep=(y, x)).values
        mesh = ax.pcolormesh(xe, ye, Z, cmap=cmap or "viridis", vmin=vmin, vmax=vmax)
        cb = plt.colorbar(mesh, ax=ax)
        cb.set_label(f"{_label(var)}, mean of {n_seeds} seeds", fontsize=FONT["label"])
    cb.ax.tick_params(labelsize=FONT["tick"])
    for vals, log, ticks, axis, which in ((xs, xlog, xticks, ax.xaxis, "x"), (ys, ylog, yticks, ax.yaxis, "y")):
        if log:
            (ax.set_xscale if which == "x" else ax.set_yscale)("log")
            _value_ticks(axis, vals)
        if ticks is not None:
            axis.set_ticks(np.arange(len(ticks)))
            axis.set_ticklabels(ticks)
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    _style(ax)
    name = theory_name(ds, theory)
    handles: list = []
    if xticks is None and yticks is None:
        GX, GY = np.meshgrid(_fine(xe, xlog, x), _fine(ye, ylog, y))
        pred = theory_grid(ds, {x: GX, y: GY}, name, constants)
        phi = None if pred is None else np.asarray(pred.phi, float)
        if phi is not None and np.isfinite(phi).any():
            handles += _draw_theory_2d(ax, GX, GY, phi, name, constants, calibrated)
        handles += _draw_boundary_2d(ax, GX, GY, phi, boundary, x, y)
    if boundary_by is not None and len(boundary_by) and x in boundary_by.columns and (boundary_by["axis"] == y).all():
        handles.append(_errorbars(ax, boundary_by[x].to_numpy(float), boundary_by,
                                  label=f"measured boundary per {_label(x)}"))
    return ax, handles


def _log_level(phi: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.where(phi > 0, phi, np.nan))


def _in_range(L: np.ndarray, value: float) -> bool:
    return bool(np.isfinite(value) and value > 0 and np.nanmin(L) < math.log(value) < np.nanmax(L))


def _draw_theory_2d(ax, GX, GY, phi, theory, constants, calibrated) -> list:
    """Threshold curves phi = C1 (benign) and phi = C3 (harmful) with the undetermined band hatched.
    Returns legend handles (labelled proxies)."""
    thr = _thresholds(theory, constants)
    if thr is None:
        return []
    harm, ben = thr
    L = _log_level(phi)
    note = _constants_note(constants, calibrated)
    handles = []
    lo, hi = math.log(harm) if harm > 0 else -np.inf, math.log(ben) if ben > 0 else np.inf
    if np.nanmax(L) > lo and np.nanmin(L) < hi and hi > lo:
        with plt.rc_context({"hatch.color": _THEORY["band"], "hatch.linewidth": 0.9}):
            band = ax.contourf(GX, GY, L, levels=[max(lo, np.nanmin(L)), min(hi, np.nanmax(L))],
                               colors="none", hatches=["//"])
        band.set_gid("theory_band")
        handles.append(Patch(facecolor="none", edgecolor=_THEORY["band"], hatch="//",
                             label=f"theory: undetermined, $C_3 < \\Phi < C_1$ ({note})"))
    for value, key, color, sym, rel in ((ben, "benign", _THEORY["benign"], "C_1", "\\geq"),
                                        (harm, "harmful", _THEORY["harmful"], "C_3", "\\leq")):
        if _in_range(L, value):
            cs = ax.contour(GX, GY, L, levels=[math.log(value)], colors=[color], linewidths=2.2)
            cs.set_path_effects(_STROKE)
            cs.set_gid(f"theory_{key}")
            handles.append(Line2D([], [], color=color, lw=2.2, path_effects=_STROKE,
                                  label=f"theory: {key} for $\\Phi {rel} {sym} = {value:.3g}$"))
    return handles


def _draw_boundary_2d(ax, GX, GY, phi, boundary: BoundaryFit | None, x: str, y: str) -> list:
    """The measured boundary (dashed) and its interval (dotted) on the heat map; returns legend handles."""
    if boundary is None or not np.isfinite(boundary.estimate):
        return []
    if boundary.axis == "phi":
        if phi is None:
            return []
        field = _log_level(phi)
        sym = "\\Phi"
    elif boundary.axis in (x, y):
        field = np.log(GX if boundary.axis == x else GY)
        sym = _symbol(boundary.axis)
    else:
        return []
    handles = []
    if _in_range(field, boundary.estimate):
        cs = ax.contour(GX, GY, field, levels=[math.log(boundary.estimate)], colors=[_MEASURED], linewidths=2,
                        linestyles="--")
        cs.set_path_effects(_STROKE)
        cs.set_gid("measured_boundary")
        handles.append(Line2D([], [], color=_MEASURED, lw=2, ls="--", path_effects=_STROKE,
                              label=f"measured boundary, $P(\\mathrm{{benign}}) = 1/2$: ${sym}^* = {boundary.estimate:.3g}$"))
    if np.isfinite(boundary.ci_low):
        levels = sorted({math.log(v) for v in (boundary.ci_low, boundary.ci_high) if _in_range(field, v)})
        if levels:
            cs = ax.contour(GX, GY, field, levels=levels, colors=[_MEASURED], linewidths=1.3, linestyles=":")
            cs.set_path_effects(_STROKE)
            cs.set_gid("measured_boundary_ci")
        handles.append(Line2D([], [], color=_MEASURED, lw=1.3, ls=":", path_effects=_STROKE,
                              label=f"measured {boundary.ci:.0%} CI [{boundary.ci_low:.3g}, {boundary.ci_high:.3g}]"))
    else:
        handles.append(Line2D([], [], color="none", label=f"measured boundary: no CI ({boundary.note})"))
    return handles


def _symbol(name: str) -> str:
    """The mathtext symbol of an axis name (without dollars), e.g. ``\\mathrm{SNR}`` or ``|\\mu|``."""
    return {"snr": "\\mathrm{SNR}", "mu_norm": "|\\mu|", "phi": "\\Phi", "init_scale": "a_0"}.get(name, f"\\mathrm{{{name}}}")


def _errorbars(ax, xs: np.ndarray, table, label: str, color: str = _MEASURED, marker: str = "s"):
    """Boundary estimates with their intervals as error bars (no bar where there is no interval);
    returns the errorbar container (a legend handle)."""
    est = table["estimate"].to_numpy(float)
    lo, hi = table["ci_low"].to_numpy(float), table["ci_high"].to_numpy(float)
    yerr = np.vstack([np.where(np.isfinite(lo), est - lo, 0.0), np.where(np.isfinite(hi), hi - est, 0.0)])
    eb = ax.errorbar(xs, est, yerr=yerr, fmt=marker, color=color, mfc="white", mew=1.5, ms=6, capsize=3, lw=1.3,
                     label=f"{label} ({table['ci'].iloc[0]:.0%} CI)" if "ci" in table else label, zorder=5)
    for artist in (eb.lines[0], *eb.lines[2]):
        artist.set_path_effects(_STROKE)
    return eb


def phase_diagram(ds, x: str | None = None, y: str | None = None, var: str = "test_error", *,
                  tol: float | None = None, boundary: BoundaryFit | None = None,
                  boundary_by: pd.DataFrame | None = None, constants: Mapping[str, float] | None = None,
                  calibrated: bool = False, theory: str | None = None, path: str | Path | None = None,
                  title: str | None = None):
    """Two panels over ``x`` and ``y``: the seed mean of ``var`` and the fraction of seeds benign,
    both with the theory's thresholds and band and the measured boundary (arguments as
    :func:`heatmap`). One legend below the panels. Saves a PNG at ``path`` if given; returns the Figure."""
    if x is None or y is None:
        dx, dy = default_axes(ds)
        x, y = x or dx, y or dy
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 5.4), constrained_layout=True)
    kw = dict(tol=tol, boundary=boundary, boundary_by=boundary_by, constants=constants, calibrated=calibrated,
              theory=theory, cmap=None, vmin=None, vmax=None)
    _, handles = _heatmap(ds, x, y, var, ax=axes[0], kind="mean", **kw)
    _heatmap(ds, x, y, var, ax=axes[1], kind="benign", **kw)
    n_seeds = ds.sizes.get("seed", 1)
    axes[0].set_title(f"{_label(var)}: mean over {n_seeds} seeds", fontsize=FONT["title"])
    used = tol if tol is not None else (boundary.tol if boundary is not None and np.isfinite(boundary.tol) else BENIGN_TOL)
    axes[1].set_title(f"benign runs (test error $\\leq p + {used:g}$)", fontsize=FONT["title"])
    if handles:  # one legend for both panels, below them
        fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=FONT["legend"], frameon=False)
    other = [d for d in grid_dims(ds) if d not in (x, y) and ds.sizes[d] > 1]
    sup = title or ""
    if other:
        sup += ("\n" if sup else "") + f"(averaged over {', '.join(other)})"
    if sup:
        fig.suptitle(sup, fontsize=FONT["title"] + 1)
    return _save(fig, path)


# ----------------------------------------------------------------------------- 1-D slices
def line(ds, x: str | None = None, var: str = "test_error", *, hue: str | None = None, ax=None,
         boundary: BoundaryFit | None = None, constants: Mapping[str, float] | None = None,
         calibrated: bool = False, theory: str | None = None, label: str | None = None,
         legend: bool | str = True, path: str | Path | None = None):
    """Seed mean of ``var`` versus swept dim ``x`` (one line per value of ``hue``) with the
    inter-quartile band over seeds; for the test error also the theory (label-noise floor ``p``,
    upper bound ``p + exp(-phi/C2)`` where ``phi >= C1``, lower bound ``p + C4`` where ``phi <= C3``,
    the thresholds and the undetermined band) and the measured ``boundary`` (on ``x`` or ``phi``) with
    its interval. ``legend``: as :func:`heatmap` (on its own figure ``True`` puts it beside the Axes).
    Returns the Figure (the Axes when ``ax`` is given)."""
    x = x or default_axes(ds)[0]
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(10.5, 4.8), layout="constrained")
    hues = [None] if hue is None else list(ds[hue].values)
    xs = np.asarray(ds[x].values)
    keep = (x,)
    n_seeds = ds.sizes.get("seed", 1)
    for i, h in enumerate(hues):
        sub = ds if h is None else ds.sel({hue: h})
        qs = seed_quantiles(sub, var, keep=keep).values
        mean = cell_mean(sub, var, keep=keep).values
        color = f"C{i}"
        lab = label if h is None or hue is None else f"{_label(hue)} = {h:g}" if isinstance(h, (int, float, np.number)) else f"{hue} = {h}"
        ax.plot(xs, mean, "o-", ms=3.5, color=color, label=(lab or f"measured: mean of {n_seeds} seeds"))
        ax.fill_between(xs, qs[0], qs[2], color=color, alpha=0.2, lw=0,
                        label="inter-quartile range over seeds" if i == 0 else None)
    xlog = _is_numeric(xs) and _log_axis(xs)
    if xlog:
        ax.set_xscale("log")
        _value_ticks(ax.xaxis, xs)
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(var))
    _style(ax)
    if _is_numeric(xs):
        xf = _fine(np.array([xs.min(), xs.max()], float), xlog, x)
        pred = theory_grid(ds, {x: xf}, theory, constants) if (var == "test_error" and (hue is None or hue not in _PHI_ARGS)) else None
        phi = None if pred is None else np.asarray(pred.phi, float)
        if pred is not None:
            _draw_theory_1d(ax, ds, xf, pred, theory_name(ds, theory), constants, calibrated)
        _draw_boundary_1d(ax, xf, phi, boundary, x)
    if fig is not None and legend is True:  # own figure: the legend goes beside the axes, off the data
        fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", fontsize=FONT["legend"], frameon=False)
    elif legend:
        _legend(ax, ax.get_legend_handles_labels()[0], legend)
    return _save(fig, path) if fig is not None else ax


def _legend(ax, handles: list, where: bool | str) -> None:
    """A legend of ``handles`` on ``ax``: inside (``True``: best place, or a matplotlib ``loc``) or
    ``"below"`` the Axes."""
    if where == "below":
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
                  fontsize=FONT["legend"] - 0.5, frameon=False)
    else:
        leg = ax.legend(handles=handles, loc="best" if where is True else where, fontsize=FONT["legend"],
                        framealpha=0.85)
        leg.set_zorder(10)


def _phi_to_x(xf: np.ndarray, phi: np.ndarray, value: float) -> float:
    """The ``x`` where ``phi(x) = value`` on the fine grid (phi monotone in x), NaN outside."""
    ok = np.isfinite(phi) & (phi > 0)
    if not ok.any() or not np.isfinite(value) or value <= 0:
        return math.nan
    L, X = np.log(phi[ok]), xf[ok]
    if L[-1] < L[0]:
        L, X = L[::-1], X[::-1]
    lv = math.log(value)
    if not L[0] <= lv <= L[-1]:
        return math.nan
    return float(np.interp(lv, L, X))


def _draw_theory_1d(ax, ds, xf, pred, theory, constants, calibrated) -> None:
    note = _constants_note(constants, calibrated)
    p = float(ds.attrs.get("p", 0.0) or 0.0)
    ax.axhline(p, color="0.4", lw=1, ls="-", label=f"label-noise floor $p = {p:g}$")
    upper, lower = np.asarray(pred.upper, float), np.asarray(pred.lower, float)
    if np.isfinite(upper).any():
        ax.plot(xf, upper, color=_THEORY["benign"], lw=2, gid="theory_upper",
                label=f"theory upper bound $p + e^{{-\\Phi/C_2}}$, $\\Phi \\geq C_1$ ({note})")
    if np.isfinite(lower).any():
        ax.plot(xf, lower, color=_THEORY["harmful"], lw=2, gid="theory_lower",
                label=f"theory lower bound $p + C_4$, $\\Phi \\leq C_3$ ({note})")
    thr = _thresholds(theory, constants)
    if thr is None:
        return
    phi = np.asarray(pred.phi, float)
    xh, xb = _phi_to_x(xf, phi, thr[0]), _phi_to_x(xf, phi, thr[1])
    if np.isfinite(xh) or np.isfinite(xb):
        a = xh if np.isfinite(xh) else xf[0]
        b = xb if np.isfinite(xb) else xf[-1]
        ax.axvspan(min(a, b), max(a, b), facecolor="none", edgecolor=_THEORY["band"], hatch="//", lw=0,
                   alpha=0.5, label="theory: undetermined band", gid="theory_band")
    for xv, color, sym, key, value in ((xb, _THEORY["benign"], "C_1", "benign", thr[1]),
                                       (xh, _THEORY["harmful"], "C_3", "harmful", thr[0])):
        if np.isfinite(xv):
            ax.axvline(xv, color=color, lw=1.2, ls="-.", gid=f"theory_{key}",
                       label=f"theory threshold $\\Phi = {sym} = {value:.3g}$ ({key} side)")


def _draw_boundary_1d(ax, xf, phi, boundary: BoundaryFit | None, x: str) -> None:
    if boundary is None or not np.isfinite(boundary.estimate):
        return
    if boundary.axis == x:
        conv = lambda v: v if np.isfinite(v) and xf[0] <= v <= xf[-1] else math.nan  # noqa: E731
    elif boundary.axis == "phi" and phi is not None:
        conv = lambda v: _phi_to_x(xf, phi, v)  # noqa: E731
    else:
        return
    est, lo, hi = conv(boundary.estimate), conv(boundary.ci_low), conv(boundary.ci_high)
    if np.isfinite(est):
        ax.axvline(est, color=_MEASURED, lw=1.8, ls="--", gid="measured_boundary",
                   label=f"measured boundary ${_symbol(x)}^* = {est:.3g}$")
    if np.isfinite(lo) or np.isfinite(hi):
        a = lo if np.isfinite(lo) else xf[0]
        b = hi if np.isfinite(hi) else xf[-1]
        ax.axvspan(min(a, b), max(a, b), color=_MEASURED, alpha=0.12, lw=0, gid="measured_boundary_ci",
                   label=f"measured boundary {boundary.ci:.0%} CI")


# ----------------------------------------------------------------------------- layer norms
def layer_norms(data, by: str = "init_scale", *, path: str | Path | None = None, sel: dict[str, Any] | None = None):
    """Hidden norm ``|w|``, output norm ``|a|`` and their ratio over training, with the conservation law.

    ``data`` is one run (a :class:`benign.Result`) or a sweep's Dataset (``trajectories=True``).

    The ratio is ``||w||/|a|`` of the **mean norms** over neurons (a mean of per-neuron ratios is
    inflated by neurons whose ``|a|`` passes near 0). Beside it, the ratio the conservation law gives:
    per neuron ``Q0 = a(0)^2/eta_a - |w(0)|^2/eta_w`` is conserved by gradient flow, so
    ``|w(t)| = |a(t)| sqrt(eta_w/eta_a - eta_w Q0/a(t)^2)`` (:func:`benign.theory.predicted_ratio`)
    from the measured ``a(t)``; the predicted ratio of mean norms is ``mean |w|_pred / mean |a|``. The
    dotted horizontal line is the limiting ratio ``sqrt(eta_w/eta_a)``. The law is drawn only for a
    trained output layer without weight decay.

    - One run: per-neuron thin lines and the neuron mean (thick) for ``|w|`` and ``|a|``; the law is
      evaluated per neuron (with a bias, ``|w|`` means the norm of ``(w, b)``).
    - A sweep: one colour per value of ``by`` (other dims averaged, or fixed by ``sel``); median over
      seeds with the inter-quartile band; the sweep keeps only neuron-mean norms, so the law uses
      ``Q0`` of the mean norms (exact when every neuron starts at the same ``|a(0)|`` and ``|w(0)|``).

    Returns the Figure.
    """
    if hasattr(data, "trajectory") and hasattr(data, "config"):
        return _save(_layer_norms_run(data), path)
    return _save(_layer_norms_sweep(data, by, sel), path)


def _law_ok(train_output: Any, weight_decay: Any, ew: Any, ea: Any) -> bool:
    return bool(train_output) and not weight_decay and bool(ew) and bool(ea)


def _layer_norms_run(result):
    from .theory import laws

    cfg, tr = result.config, result.trajectory
    t = np.asarray(result.steps, float) + 1
    w = np.asarray(tr["w_norm"], float).reshape(len(t), -1)
    a = np.abs(np.asarray(tr["a"], float)).reshape(len(t), -1)
    b = np.asarray(tr.get("b", np.zeros_like(w)), float).reshape(len(t), -1)
    hidden = np.sqrt(w**2 + b**2) if cfg.bias else w
    hname = "|(w_{j,r}, b_{j,r})|" if cfg.bias else "|w_{j,r}|"
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), constrained_layout=True)
    n_neurons = w.shape[1]
    for ax, v, name, color in ((axes[0], hidden, hname, "C0"), (axes[1], a, "|a_{j,r}|", "C1")):
        ax.plot(t, v, color=color, lw=0.6, alpha=0.35)
        ax.plot([], [], color=color, lw=0.6, alpha=0.6, label=f"each of the {n_neurons} neurons")
        ax.plot(t, v.mean(1), color=color, lw=2.5, label="mean over neurons")
        ax.set_ylabel(f"${name}$")
    ratio = hidden.mean(1) / a.mean(1)
    axes[2].plot(t, ratio, color="k", lw=2.5, gid="ratio_measured", label=r"measured $\overline{|w|} / \overline{|a|}$")
    if _law_ok(cfg.train_output, cfg.weight_decay, cfg.eta_w, cfg.eta_a):
        q0 = laws.conserved_quantity(a[0], hidden[0], cfg.eta_w, cfg.eta_a)
        with np.errstate(all="ignore"):
            w_pred = laws.predicted_ratio(a, q0[None, :], cfg.eta_w, cfg.eta_a) * a
        axes[2].plot(t, np.nanmean(w_pred, 1) / a.mean(1), color="C3", lw=2, ls="--",
                     label=r"law from step 0: $|w| = |a|\sqrt{\eta_w/\eta_a - \eta_w Q_0/a^2}$",
                     gid="law_ratio")
        axes[0].plot(t, np.nanmean(w_pred, 1), color="C3", lw=1.5, ls="--", label="conservation law (mean)", gid="law_w")
        lim = float(laws.limiting_ratio(cfg.eta_w, cfg.eta_a))
        axes[2].axhline(lim, color="0.4", lw=1.2, ls=":", label=rf"limit $\sqrt{{\eta_w/\eta_a}} = {lim:.3g}$",
                        gid="limiting_ratio")
    axes[2].set_ylabel("hidden / output norm")
    for ax, title in zip(axes, ("hidden layer", "output layer", "ratio of mean norms")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("GD step + 1")
        _style(ax, title)
        ax.legend(fontsize=FONT["legend"], loc="upper right" if ax is axes[2] else "best")
    fig.suptitle(f"one run: n={cfg.n}, d={cfg.d}, m={cfg.m}, SNR={cfg.snr:.3g}, $a_0$={cfg.init_scale:g}, "
                 f"$\\sigma_0$={cfg.sigma_0:g}, $\\eta_w$={cfg.eta_w:g}, $\\eta_a$={cfg.eta_a:g}"
                 + ("" if cfg.train_output else " (output fixed)"), fontsize=FONT["title"])
    return fig


def _need(ds, names: Sequence[str]) -> None:
    missing = [n for n in names if n not in ds]
    if missing:
        raise ValueError(f"the dataset lacks {missing}: run the sweep with trajectories=True")


def _param(ds, name: str):
    """A constant parameter from attrs, or ``None``."""
    v = ds.attrs.get(name)
    return None if v is None or isinstance(v, str) else float(v)


def _layer_norms_sweep(ds, by: str, sel: dict[str, Any] | None):
    from .theory import laws

    _need(ds, ("traj_w_norm", "traj_a_norm"))
    sub = ds.sel(sel) if sel else ds
    if by not in sub.dims:
        raise ValueError(f"by={by!r} is not a swept dim of the dataset; choose from {grid_dims(sub)}")
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), constrained_layout=True)
    t = np.asarray(sub["step"].values, float) + 1  # log axis that keeps the initialisation
    colors = plt.cm.viridis(np.linspace(0, 0.9, sub.sizes[by]))
    ew, ea = _param(ds, "eta_w"), _param(ds, "eta_a")
    law = _law_ok(ds.attrs.get("train_output", 1), _param(ds, "weight_decay"), ew, ea)
    for c, v in zip(colors, sub[by].values):
        one = sub.sel({by: v})
        w = _valid(one, "traj_w_norm")
        a = _valid(one, "traj_a_norm")
        others = [d for d in w.dims if d not in ("seed", "step")]
        w, a = (z.mean(others, skipna=True) if others else z for z in (w, a))
        w, a = (z.transpose("seed", "step").values if "seed" in z.dims else z.values[None] for z in (w, a))
        lab = f"{_label(by)} = {v:g}" if isinstance(v, (int, float, np.number)) else f"{by} = {v}"
        for ax, val in ((axes[0], w), (axes[1], a), (axes[2], w / a)):
            q = np.nanquantile(val, [0.25, 0.5, 0.75], axis=0)
            ax.plot(t, q[1], color=c, lw=2, label=lab, gid="ratio_measured" if ax is axes[2] else None)
            ax.fill_between(t, q[0], q[2], color=c, alpha=0.2, lw=0)
        if law:
            q0 = laws.conserved_quantity(a[:, :1], w[:, :1], ew, ea)
            with np.errstate(all="ignore"):
                pred = laws.predicted_ratio(a, q0, ew, ea)
            axes[2].plot(t, np.nanmedian(pred, 0), color=c, lw=1.6, ls="--", gid="law_ratio")
    for ax, name, title in zip(axes, (r"mean $|w_{j,r}|$", r"mean $|a_{j,r}|$", r"$\overline{|w|}\,/\,\overline{|a|}$"),
                               ("hidden layer", "output layer", "ratio of mean norms")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("GD step + 1")
        ax.set_ylabel(name)
        _style(ax, title)
    style = [Line2D([], [], color="0.3", lw=2, label="median over seeds"),
             Patch(color="0.3", alpha=0.2, label="inter-quartile range")]
    if law:
        lim = float(laws.limiting_ratio(ew, ea))
        axes[2].axhline(lim, color="0.4", lw=1.2, ls=":", gid="limiting_ratio")
        style += [Line2D([], [], color="0.3", lw=1.6, ls="--", label="conservation law from step 0"),
                  Line2D([], [], color="0.4", lw=1.2, ls=":", label=rf"limiting ratio $\sqrt{{\eta_w/\eta_a}} = {lim:.3g}$")]
    axes[0].legend(fontsize=FONT["legend"], loc="best", title=None)
    axes[2].legend(handles=style, fontsize=FONT["legend"], loc="best")
    return fig


# ----------------------------------------------------------------------------- gamma / rho
def gamma_rho(ds, by: str | None = None, *, path: str | Path | None = None, sel: dict[str, Any] | None = None):
    """Signal learning ``gamma`` versus noise memorisation ``rho`` over training (coefficient engine's
    ``traj_gamma_max``, ``traj_rho_pos_max``, ``traj_rho_neg_min``), one line per value of ``by``
    (seed mean)."""
    _need(ds, ("traj_gamma_max", "traj_rho_pos_max"))
    sub = ds.sel(sel) if sel else ds
    if not np.isfinite(sub["traj_gamma_max"].values).any():
        raise ValueError("gamma/rho trajectories are all NaN: the runs used the dense engine (use engine='coef' or 'auto')")
    by = by or next((d for d in grid_dims(sub) if d in SIGNAL_AXES), None) or (grid_dims(sub) or [None])[0]
    vals = [None] if by is None else list(sub[by].values)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), constrained_layout=True)
    steps = np.asarray(sub["step"].values, float) + 1  # log axis that keeps the initialisation
    colors = plt.cm.plasma(np.linspace(0, 0.85, len(vals)))
    has_neg = "traj_rho_neg_min" in sub
    for c, v in zip(colors, vals):
        one = sub if v is None else sub.sel({by: v})
        g = cell_mean(one, "traj_gamma_max", keep=("step",)).values
        r = cell_mean(one, "traj_rho_pos_max", keep=("step",)).values
        lab = None if v is None or by is None else f"{_label(by)} = {v:.3g}"
        axes[0].plot(steps, g, color=c, label=lab)
        axes[1].plot(steps, r, color=c, label=lab)
        if has_neg:
            axes[1].plot(steps, -cell_mean(one, "traj_rho_neg_min", keep=("step",)).values, color=c, ls=":")
        axes[2].plot(r, g, "o-", ms=2, color=c, label=lab)
    axes[0].set(xlabel="GD step + 1", ylabel=r"max $\gamma_{j,r}$", xscale="log")
    axes[1].set(xlabel="GD step + 1", ylabel=r"max $\rho$", xscale="log")
    axes[2].set(xlabel=r"max $\rho^+$ (noise memorisation)", ylabel=r"max $\gamma$ (signal learning)")
    _style(axes[0], r"signal learning $\gamma$")
    _style(axes[1], r"noise memorisation $\rho$")
    _style(axes[2], r"$\gamma$ versus $\rho^+$")
    lim = [0, max(np.nanmax(axes[2].get_xlim()), np.nanmax(axes[2].get_ylim()))]
    axes[2].plot(lim, lim, color="0.6", lw=1, ls="--", label=r"$\gamma = \rho^+$")
    if has_neg:
        axes[1].plot([], [], color="0.3", ls="-", label=r"max $\rho^+$")
        axes[1].plot([], [], color="0.3", ls=":", label=r"max $|\rho^-|$")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=FONT["legend"])
    return _save(fig, path)


# ----------------------------------------------------------------------------- boundary vs init
def boundary_vs_init(tables: pd.DataFrame | Mapping[str, pd.DataFrame], *, by: str = "init_scale",
                     reference: BoundaryFit | None = None, reference_label: str = "fixed output layer",
                     init_line: float | None = None, ax=None, path: str | Path | None = None):
    """The measured boundary (with its interval) versus the output init scale.

    Args:
        tables: the table of :func:`benign.analysis.boundaries` (``by`` column, ``estimate``, ``ci_low``,
            ``ci_high``, ``axis``), or label -> table for several series (e.g. trainable vs fixed at
            ``a = a0``).
        by: the column on the horizontal axis.
        reference: one boundary drawn as a horizontal line with its interval band.
        reference_label: its legend label.
        init_line: draw a vertical line here, e.g. ``sigma_0 sqrt(d)`` (``|a(0)| = |w(0)|``).
        ax: draw into this Axes.
        path: save a PNG here.

    Returns:
        The Figure (the Axes if ``ax`` is given).
    """
    series = {"measured boundary": tables} if not isinstance(tables, Mapping) else dict(tables)
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
    axis_names, inits = set(), []
    for i, (lab, tab) in enumerate(series.items()):
        xs = tab[by].to_numpy(float)
        inits.append(xs)
        axis_names |= set(tab["axis"])
        _errorbars(ax, xs, tab, lab, color=f"C{i}", marker="os^D"[i % 4])
        ax.plot(xs, tab["estimate"].to_numpy(float), color=f"C{i}", lw=1, alpha=0.7)
    allx = np.concatenate(inits) if inits else np.array([1.0])
    if reference is not None and np.isfinite(reference.estimate):
        ax.axhline(reference.estimate, color="0.2", ls="--", lw=1.5, gid="reference",
                   label=f"{reference_label}: {reference.estimate:.3g}")
        if np.isfinite(reference.ci_low):
            ax.axhspan(reference.ci_low, reference.ci_high, color="0.2", alpha=0.12, lw=0,
                       label=f"{reference_label} {reference.ci:.0%} CI")
    if init_line is not None and np.isfinite(init_line):
        ax.axvline(init_line, color="0.5", ls=":", lw=1.5, gid="init_line",
                   label=rf"$a_0 = \sigma_0\sqrt{{d}} = {init_line:.3g}$")
    if np.all(allx > 0):
        ax.set_xscale("log")
    axis = axis_names.pop() if len(axis_names) == 1 else "boundary"
    ax.set_xlabel(_label(by))
    ax.set_ylabel(f"boundary {_label(axis)}" if axis != "boundary" else "boundary")
    ests = np.concatenate([t["estimate"].to_numpy(float) for t in series.values()]) if series else np.array([])
    if ests.size and np.all(ests[np.isfinite(ests)] > 0) and np.nanmax(ests) / np.nanmin(ests) > 5:
        ax.set_yscale("log")
    _style(ax, f"measured boundary versus {_label(by)}")
    ax.legend(fontsize=FONT["legend"], loc="best")
    return _save(fig, path) if fig is not None else ax


def _save(fig, path):
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig


def plot_all(ds, outdir: str | Path, fits: FigureFits | None = None) -> list[Path]:
    """Every figure that applies to ``ds``, saved as PNGs under ``outdir``; returns their paths.

    ``fits`` (from :func:`benign.analysis.figure_fits`) supplies the measured boundaries and the
    calibrated constants; without it the theory is drawn with its default constants and no measured
    boundary is shown.
    """
    outdir = Path(outdir)
    paths: list[Path] = []
    dims = grid_dims(ds)
    x, y = default_axes(ds)
    kw: dict[str, Any] = {}
    if fits is not None:
        kw = dict(boundary=fits.boundary, constants=fits.constants, calibrated=fits.calibrated, theory=fits.theory)
    if y is not None:
        paths.append(outdir / f"phase_{x}_{y}.png")
        by = fits.by_init if fits is not None and x == "init_scale" else None
        plt.close(phase_diagram(ds, x, y, tol=fits.tol if fits else None, boundary_by=by, path=paths[-1], **kw))
    else:
        paths.append(outdir / f"test_error_{x}.png")
        plt.close(line(ds, x, path=paths[-1], **kw))  # type: ignore[arg-type]  # a Figure: no ax given
    if "traj_w_norm" in ds and "init_scale" in dims:
        paths.append(outdir / "layer_norms.png")
        plt.close(layer_norms(ds, path=paths[-1]))
    if "traj_gamma_max" in ds and np.isfinite(ds["traj_gamma_max"].values).any():
        paths.append(outdir / "gamma_rho.png")
        plt.close(gamma_rho(ds, path=paths[-1]))
    if fits is not None and fits.by_init is not None and len(fits.by_init):
        s0, d = _param(ds, "sigma_0"), _param(ds, "d")
        paths.append(outdir / "boundary_vs_init.png")
        fig = boundary_vs_init(fits.by_init, init_line=s0 * math.sqrt(d) if s0 and d else None, path=paths[-1])
        plt.close(fig)  # type: ignore[arg-type]  # a Figure: no ax given
    return paths
