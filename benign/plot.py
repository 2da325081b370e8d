"""Figures of sweep results (matplotlib): phase diagrams with the theory's boundary,
layer-norm and ratio trajectories, signal-vs-noise coefficients, and the boundary versus init scale.

Every function takes the ``xarray.Dataset`` of :func:`benign.sweep` (dims = swept arguments +
``seed``), returns a ``matplotlib`` Figure (or Axes), and saves a PNG when given ``path``.

The theory's phase variable is ``Phi = n |mu|^4 / (sigma_p^4 d)`` (ReLU; Kou et al. 2023) or
``n SNR^q`` (polynomial ReLU; Cao et al. 2022). Its constant is unspecified, so the overlaid
boundary ``Phi = C`` uses the ``C`` that best separates the measured benign cells (mean test error
``<= threshold``) from the others, unless ``C`` is given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from .analysis.fits import crossing, fit_threshold

SIGNAL_AXES = ("mu_norm", "snr")
_LABELS = {"mu_norm": "|μ|", "snr": "SNR = |μ|/(σp√d)", "init_scale": "output init scale", "sigma_p": "σp", "sigma_0": "σ0"}


def _label(name: str) -> str:
    return _LABELS.get(name, name)


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
    return (x, y) if x != y else (x, None)


def cell_mean(ds, var: str = "test_error", keep: Sequence[str] = ()):
    """Mean of ``var`` over seeds (diverged runs excluded) and every dim not in ``keep``."""
    da = ds[var].astype(float)
    if "diverged" in ds and var != "diverged":
        da = da.where(~ds["diverged"].astype(bool))
    drop = [d for d in da.dims if d not in keep and d != "step"]
    return da.mean(drop, skipna=True).transpose(*keep, ...) if keep else da.mean(drop, skipna=True)


def _is_numeric(values: np.ndarray) -> bool:
    return values.dtype.kind in "iuf"


def _log_axis(values: np.ndarray) -> bool:
    """Positive values spread over a decade or more and closer to geometric than arithmetic spacing."""
    v = np.sort(np.asarray(values, float))
    if len(v) < 3 or v[0] <= 0 or v[-1] / v[0] < 10:
        return False
    lin, geo = np.diff(v), np.diff(np.log(v))
    return np.std(geo) / np.mean(geo) < np.std(lin) / np.mean(lin)


def _value_ticks(axis, values: np.ndarray, max_ticks: int = 8) -> None:
    """Label a log axis at (a subsample of) the swept values, '%g'-formatted, no minor labels."""
    v = np.asarray(values, float)
    v = v[:: max(1, -(-len(v) // max_ticks))]
    axis.set_major_locator(matplotlib.ticker.FixedLocator(v))
    axis.set_major_formatter(matplotlib.ticker.FixedFormatter([f"{x:.3g}" for x in v]))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    v = np.log(values) if log else np.asarray(values, float)
    if len(v) == 1:
        half = 0.5 if log or v[0] == 0 else 0.1 * abs(v[0])
        e = np.array([v[0] - half, v[0] + half])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(e) if log else e


def _param(ds, name: str):
    """A constant parameter from attrs, or ``None``."""
    v = ds.attrs.get(name)
    return None if v is None or isinstance(v, str) else float(v)


def phi_function(ds, x: str, y: str | None):
    """``f(X, Y) -> Phi`` with every other parameter taken from the dataset's attrs, or ``None`` when
    Phi is not defined (a missing parameter, another swept dim that enters Phi, or Phi constant)."""
    swept = set(grid_dims(ds)) - {x, y}
    names = ("n", "d", "sigma_p", "mu_norm", "snr", "q")
    if swept & set(names):
        return None
    if not ({x, y} & set(names)):
        return None
    poly = ds.attrs.get("activation") == "poly_relu"

    def f(X, Y):
        vals = {x: X}
        if y is not None:
            vals[y] = Y
        get = lambda k: vals[k] if k in vals else _param(ds, k)  # noqa: E731
        n, d, sp = get("n"), get("d"), get("sigma_p")
        if n is None or d is None or sp is None:
            return None
        if "mu_norm" in vals or "snr" not in vals:
            mu = get("mu_norm")
            if mu is None:
                return None
            snr = mu / (sp * np.sqrt(d))
        else:
            snr = vals["snr"]
            mu = snr * sp * np.sqrt(d)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return n * snr ** (get("q") or 3.0) if poly else n * mu**4 / (sp**4 * d)

    return f


def _positions(ds, name: str):
    vals = np.asarray(ds[name].values)
    if not _is_numeric(vals):
        pos = np.arange(len(vals), dtype=float)
        return pos, _edges(pos, False), False, [str(v) for v in vals]
    log = _log_axis(vals)
    return vals.astype(float), _edges(vals.astype(float), log), log, None


def heatmap(ds, x: str | None = None, y: str | None = None, var: str = "test_error", *, ax=None,
            threshold: float | None = None, boundary_at: float = 0.2, C: float | str | None = "fit",
            cmap: str = "viridis", vmin: float | None = None, vmax: float | None = None):
    """Heat map of the seed-mean of ``var`` over swept dims ``x`` (horizontal) and ``y``.

    ``threshold``: show ``mean <= threshold`` (1) instead of the values. ``C``: ``"fit"`` overlays
    ``Phi = C`` with ``C`` fitted so that cells with mean test error ``<= boundary_at`` lie on the
    benign side; a number overlays that ``C``; ``None`` draws no boundary. Returns the Axes (its
    ``fitted_C`` attribute holds the ``C`` drawn, NaN if none). Axis ticks are the swept values.
    """
    if x is None or y is None:
        dx, dy = default_axes(ds)
        x, y = x or dx, y or dy
    if y is None:
        raise ValueError("a heat map needs two swept dims; use line() for one")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.2))
    Z = cell_mean(ds, var, keep=(y, x)).values
    xs, xe, xlog, xticks = _positions(ds, x)
    ys, ye, ylog, yticks = _positions(ds, y)
    if threshold is not None:
        Z = np.where(np.isfinite(Z), (Z <= threshold).astype(float), np.nan)
        mesh = ax.pcolormesh(xe, ye, Z, cmap=matplotlib.colors.ListedColormap(["#b2182b", "#2166ac"]), vmin=0, vmax=1)
        cb = plt.colorbar(mesh, ax=ax, ticks=[0.25, 0.75])
        cb.ax.set_yticklabels([f"> {threshold:g}", f"<= {threshold:g}"])
    else:
        mesh = ax.pcolormesh(xe, ye, Z, cmap=cmap, vmin=vmin, vmax=vmax)
        plt.colorbar(mesh, ax=ax, label=f"{var} (mean over seeds)")
    for vals, log, ticks, setter, tick_setter, axis in ((xs, xlog, xticks, ax.set_xscale, (ax.set_xticks, ax.set_xticklabels), ax.xaxis),
                                                        (ys, ylog, yticks, ax.set_yscale, (ax.set_yticks, ax.set_yticklabels), ax.yaxis)):
        if log:
            setter("log")
            _value_ticks(axis, vals)
        if ticks is not None:
            tick_setter[0](np.arange(len(ticks)))
            tick_setter[1](ticks)
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    ax.fitted_C = math.nan
    f = phi_function(ds, x, y) if (xticks is None and yticks is None) else None
    if C is not None and f is not None:
        value = C
        if C == "fit":
            XX, YY = np.meshgrid(xs, ys)
            phi = f(XX, YY)
            err = cell_mean(ds, "test_error", keep=(y, x)).values
            if phi is not None:  # cells without a finite error (all seeds diverged) are left out
                value = fit_threshold(np.where(np.isfinite(err), phi, np.nan).ravel(), (err <= boundary_at).ravel())
            else:
                value = math.nan
        gx = np.geomspace(xe[0], xe[-1], 300) if xlog else np.linspace(xe[0], xe[-1], 300)
        gy = np.geomspace(ye[0], ye[-1], 300) if ylog else np.linspace(ye[0], ye[-1], 300)
        GX, GY = np.meshgrid(gx, gy)
        fine = f(GX, GY)
        if fine is not None and np.isfinite(value) and value > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                L = np.log(np.maximum(fine, 1e-300))
            if np.nanmin(L) < math.log(value) < np.nanmax(L):
                ax.contour(GX, GY, L, levels=[math.log(value)], colors="white", linewidths=2, linestyles="--")
                ax.plot([], [], "w--", label=f"Φ = C, C = {value:.3g}" + (" (fit)" if C == "fit" else ""))
                leg = ax.legend(loc="lower right", fontsize=8, facecolor="0.3", labelcolor="white", framealpha=0.8)
                leg.get_frame().set_edgecolor("none")
            ax.fitted_C = float(value)
    return ax


def phase_diagram(ds, x: str | None = None, y: str | None = None, var: str = "test_error", *,
                  threshold: float = 0.2, C: float | str | None = "fit", path: str | Path | None = None, title: str | None = None):
    """Two panels: the heat map of ``var`` and the map thresholded at ``threshold``, both with the
    boundary ``Phi = C`` (fitted at ``threshold`` by default). Saves a PNG at ``path`` if given."""
    if x is None or y is None:
        dx, dy = default_axes(ds)
        x, y = x or dx, y or dy
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3), constrained_layout=True)
    a0 = heatmap(ds, x, y, var, ax=axes[0], C=C, boundary_at=threshold)
    heatmap(ds, x, y, var, ax=axes[1], threshold=threshold, C=a0.fitted_C if np.isfinite(a0.fitted_C) else None)
    axes[0].set_title(f"{var}, mean over {ds.sizes.get('seed', 1)} seeds")
    axes[1].set_title(f"{var} <= {threshold:g}")
    other = [d for d in grid_dims(ds) if d not in (x, y) and ds.sizes[d] > 1]
    fig.suptitle(title or ("" if not other else f"(mean over {', '.join(other)})"))
    fig.fitted_C = a0.fitted_C
    return _save(fig, path)


def line(ds, x: str | None = None, var: str = "test_error", *, hue: str | None = None, ax=None, path: str | Path | None = None):
    """Seed-mean of ``var`` versus swept dim ``x`` (one line per value of ``hue``), with the seed spread."""
    x = x or default_axes(ds)[0]
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4))
    hues = [None] if hue is None else list(ds[hue].values)
    xs = np.asarray(ds[x].values)
    for h in hues:
        sub = ds if h is None else ds.sel({hue: h})
        keep = (x, "seed")
        runs = cell_mean(sub, var, keep=keep).values
        mean = np.nanmean(runs, axis=1)
        lab = None if h is None else f"{hue}={h}"
        ax.plot(xs, mean, "o-", ms=3, label=lab)
        ax.fill_between(xs, np.nanmin(runs, axis=1), np.nanmax(runs, axis=1), alpha=0.2)
    if _is_numeric(xs) and _log_axis(xs):
        ax.set_xscale("log")
        _value_ticks(ax.xaxis, xs)
    ax.set_xlabel(_label(x))
    ax.set_ylabel(var)
    if hue is not None:
        ax.legend(fontsize=8)
    return _save(fig, path) if fig is not None else ax


def layer_norms(ds, by: str = "init_scale", *, path: str | Path | None = None, sel: dict[str, Any] | None = None,
                conservation: bool = True):
    """Trajectories of the mean hidden norm ``|w|``, output norm ``|a|`` and ratio ``|w|/|a|``, one
    line per value of ``by`` (mean over seeds and other dims). Needs ``trajectories=True`` sweeps.
    The ratio panel shows the neuron mean of ``|w_{j,r}|/|a_{j,r}|`` (solid; spiky when some
    ``a_{j,r}`` pass near 0) and the ratio of the mean norms (dashed). The dotted line is the
    limiting ratio ``sqrt(eta_w/eta_a)``; crosses mark the neuron-mean ratio predicted by the
    conservation law at the final step. With ``conservation``, dotted curves in the output panel
    show ``|a|`` implied by the measured ``|w|`` through ``|a|^2/eta_a - |w|^2/eta_w = const``
    (docs/science.md, "Conservation law", applied to the neuron-mean norms)."""
    _need(ds, ("traj_w_norm", "traj_a_norm", "traj_ratio"))
    sub = ds.sel(sel) if sel else ds
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    steps = np.asarray(sub["step"].values, float)
    t = steps + 1  # log axis that keeps the initialisation
    colors = plt.cm.viridis(np.linspace(0, 0.9, sub.sizes[by]))
    ew, ea = _param(ds, "eta_w"), _param(ds, "eta_a")
    law = conservation and ew and ea and not _param(ds, "weight_decay") and ds.attrs.get("train_output", 1)
    for c, v in zip(colors, sub[by].values):
        one = sub.sel({by: v})
        for ax, var in zip(axes, ("traj_w_norm", "traj_a_norm", "traj_ratio")):
            ax.plot(t, cell_mean(one, var, keep=("step",)).values, color=c, label=f"{_label(by)} = {v:g}")
        w, a = cell_mean(one, "traj_w_norm", keep=("step",)).values, cell_mean(one, "traj_a_norm", keep=("step",)).values
        axes[2].plot(t, w / a, color=c, ls="--", lw=1)
        if law:  # |a|^2/eta_a - |w|^2/eta_w conserved (mean norms: approximate across neurons)
            pred = np.sqrt(np.maximum(a[0] ** 2 + ea / ew * (w**2 - w[0] ** 2), 0.0))
            axes[1].plot(t, pred, color=c, ls=":", lw=2)
        if "ratio_predicted" in one:
            axes[2].plot(t[-1], float(cell_mean(one, "ratio_predicted")), "x", color=c, ms=9, mew=2)
    for ax, name in zip(axes, ("mean |w_{j,r}| (hidden)", "mean |a_{j,r}| (output)", "|w|/|a| (solid: mean ratio, dashed: ratio of means)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("GD step + 1")
        ax.set_title(name, fontsize=10)
    if ew and ea:
        axes[2].axhline(math.sqrt(ew / ea), color="k", ls=":", lw=1, label="√(η_w/η_a)")
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=8, loc="best")
    return _save(fig, path)


def gamma_rho(ds, by: str | None = None, *, path: str | Path | None = None, sel: dict[str, Any] | None = None):
    """Signal learning ``gamma`` versus noise memorisation ``rho`` over training (coefficient engine's
    ``traj_gamma_max``, ``traj_rho_pos_max``, ``traj_rho_neg_min``), one line per value of ``by``."""
    _need(ds, ("traj_gamma_max", "traj_rho_pos_max"))
    sub = ds.sel(sel) if sel else ds
    if not np.isfinite(sub["traj_gamma_max"].values).any():
        raise ValueError("gamma/rho trajectories are all NaN: the runs used the dense engine (use engine='coef' or 'auto')")
    by = by or next((d for d in grid_dims(sub) if d in SIGNAL_AXES), None) or (grid_dims(sub) or [None])[0]
    vals = [None] if by is None else list(sub[by].values)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    steps = np.asarray(sub["step"].values, float) + 1  # log axis that keeps the initialisation
    colors = plt.cm.plasma(np.linspace(0, 0.85, len(vals)))
    for c, v in zip(colors, vals):
        one = sub if v is None else sub.sel({by: v})
        g = cell_mean(one, "traj_gamma_max", keep=("step",)).values
        r = cell_mean(one, "traj_rho_pos_max", keep=("step",)).values
        lab = None if v is None else f"{_label(by)} = {v:.3g}"
        axes[0].plot(steps, g, color=c, label=lab)
        axes[1].plot(steps, r, color=c, label=lab)
        if "traj_rho_neg_min" in one:
            axes[1].plot(steps, -cell_mean(one, "traj_rho_neg_min", keep=("step",)).values, color=c, ls=":")
        axes[2].plot(r, g, "o-", ms=2, color=c, label=lab)
    axes[0].set(xlabel="GD step + 1", title="max γ (signal learning)", xscale="log")
    axes[1].set(xlabel="GD step + 1", title="max ρ⁺ (solid), max |ρ⁻| (dotted)", xscale="log")
    axes[2].set(xlabel="max ρ⁺ (noise memorisation)", ylabel="max γ", title="γ versus ρ")
    lim = [0, max(np.nanmax(axes[2].get_xlim()), np.nanmax(axes[2].get_ylim()))]
    axes[2].plot(lim, lim, color="0.6", lw=1, ls="--", label="γ = ρ")
    for ax in axes:
        ax.legend(fontsize=7)
    return _save(fig, path)


def boundary_vs_init(ds, signal: str | None = None, init: str = "init_scale", *, threshold: float = 0.2,
                     reference: float | None = None, ax=None, path: str | Path | None = None):
    """The benign/harmful boundary on the ``signal`` axis (where the seed-mean test error crosses
    ``threshold``, see :func:`crossing`) versus the output init scale.

    ``reference``: the fixed-output boundary (horizontal line). The dotted vertical line marks
    ``init_scale = sigma_0 sqrt(d)`` (``|a(0)| = |w(0)|``: the conservation law's small/large split).
    Returns the Figure (the Axes if ``ax`` is given); its ``boundary`` attribute holds
    ``(init values, boundary values)``.
    """
    signal = signal or next((d for d in grid_dims(ds) if d in SIGNAL_AXES), None)
    if signal is None or init not in ds.dims:
        raise ValueError(f"boundary_vs_init needs a swept signal axis ({'/'.join(SIGNAL_AXES)}) and a swept {init!r}")
    err = cell_mean(ds, "test_error", keep=(init, signal)).values
    s = np.asarray(ds[signal].values, float)
    b = np.array([crossing(s, row, threshold) for row in err])
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    inits = np.asarray(ds[init].values, float)
    ax.plot(inits, b, "o-", label=f"trainable output (test error = {threshold:g})")
    if reference is not None and np.isfinite(reference):
        ax.axhline(reference, color="C3", ls="--", label="fixed output layer")
    s0, d = _param(ds, "sigma_0"), _param(ds, "d")
    if s0 and d and inits.min() < s0 * math.sqrt(d) < inits.max():
        ax.axvline(s0 * math.sqrt(d), color="0.5", ls=":", label="init = σ0√d")
    ax.set_xscale("log" if inits.min() > 0 else "linear")
    ax.set_xlabel(_label(init))
    ax.set_ylabel(f"boundary {_label(signal)}")
    ax.set_ylim(s.min(), s.max())
    ax.legend(fontsize=8)
    target = fig if fig is not None else ax
    target.boundary = (inits, b)
    return _save(fig, path) if fig is not None else ax


def _need(ds, names: Sequence[str]) -> None:
    missing = [n for n in names if n not in ds]
    if missing:
        raise ValueError(f"the dataset lacks {missing}: run the sweep with trajectories=True")


def _save(fig, path):
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig


def plot_all(ds, outdir: str | Path, threshold: float = 0.2) -> list[Path]:
    """Every figure that applies to ``ds``, saved as PNGs under ``outdir``; returns their paths."""
    outdir = Path(outdir)
    paths: list[Path] = []
    dims = grid_dims(ds)
    x, y = default_axes(ds)
    if y is not None:
        paths.append(outdir / f"phase_{x}_{y}.png")
        plt.close(phase_diagram(ds, x, y, threshold=threshold, path=paths[-1]))
    else:
        paths.append(outdir / f"test_error_{x}.png")
        plt.close(line(ds, x, path=paths[-1]))
    if "traj_w_norm" in ds and "init_scale" in dims:
        paths.append(outdir / "layer_norms.png")
        plt.close(layer_norms(ds, path=paths[-1]))
    if "traj_gamma_max" in ds and np.isfinite(ds["traj_gamma_max"].values).any():
        paths.append(outdir / "gamma_rho.png")
        plt.close(gamma_rho(ds, path=paths[-1]))
    if "init_scale" in dims and any(d in SIGNAL_AXES for d in dims):
        paths.append(outdir / "boundary_vs_init.png")
        plt.close(boundary_vs_init(ds, threshold=threshold, path=paths[-1]))
    return paths
