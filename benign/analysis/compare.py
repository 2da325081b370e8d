"""Compare simulation results with the theory (docs/science.md, "Theorems" and "Conservation law").

Input: one row per run, as a ``pandas.DataFrame``, a list of objects with ``.to_dict()`` (or
dicts), or an ``xarray.Dataset`` (dims = swept arguments + ``seed``, data variables = final
metrics, attrs = fixed arguments).  Needs ``test_error``; uses ``n, d, mu_norm (or snr), sigma_p,
p, m, q, sigma_0, init_scale, eta_w, eta_a, train_output, activation, diverged, ratio,
ratio_predicted, conserved_drift`` when present and skips a summary (with a note) otherwise.
:func:`compare` is the entry point; its pieces are public.  Every boundary comes from
:mod:`benign.analysis.fits` (one definition, shared with the figures); intervals are deterministic
(cluster jackknife over seeds), so no random generator is involved.
"""
# pyright: reportAttributeAccessIssue=false, reportArgumentType=false, reportGeneralTypeIssues=false, reportCallIssue=false, reportIndexIssue=false, reportOptionalSubscript=false, reportOptionalOperand=false
# (pandas' and numpy's overloads are too loose for pyright's basic mode in this table-heavy module)

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .. import theory as th
from .fits import BENIGN_TOL, BoundaryFit, boundaries, boundary, calibrate, fit_scaling, is_benign, theory_constants

#: Per-run outputs (averaged per cell); every other column but ``seed`` is a config column.
METRIC_COLUMNS = ("train_loss", "train_error", "test_error", "test_error_clean", "test_error_se", "min_margin",
                  "diverged", "diverged_step", "w_norm", "a_norm", "ratio", "ratio_predicted",
                  "conserved_drift", "phi", "regime_theory", "lower_bound", "upper_bound", "gamma_max",
                  "gamma_mean", "rho_pos_max", "rho_pos_mean", "rho_neg_min", "rho_neg_mean", "D")


def to_frame(results: Any) -> pd.DataFrame:
    """One row per run as a DataFrame (copy).  For a Dataset: ``to_dataframe().reset_index()``
    with scalar attrs broadcast as columns; ``.attrs["cell_keys"]`` lists its non-seed dims."""
    keys: list[str] | None = None
    if isinstance(results, pd.DataFrame):
        df = results.copy()
    elif type(results).__name__ == "Dataset" and hasattr(results, "to_dataframe"):
        keys = [str(k) for k in results.dims if k != "seed"] + [str(k) for k in results.coords
                if k not in results.dims and "seed" not in results[k].dims]
        df = results.to_dataframe().reset_index()
        for k, v in results.attrs.items():
            if k not in df.columns and (np.ndim(v) == 0 or isinstance(v, str)):
                df[k] = v.item() if isinstance(v, np.generic) else v
                keys.append(k)
    elif isinstance(results, Mapping):
        df = pd.DataFrame(dict(results))
    elif isinstance(results, Iterable):
        df = pd.DataFrame([r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in results])
    else:
        raise TypeError(f"cannot convert {type(results).__name__} to a DataFrame")
    for col in ("train_output", "diverged"):  # netCDF stores bools as ints
        if col in df.columns and df[col].notna().all() and df[col].dtype != bool:
            df[col] = df[col].astype(bool)
    if "mu_norm" not in df.columns and {"snr", "sigma_p", "d"} <= set(df.columns):
        df["mu_norm"] = df["snr"] * df["sigma_p"] * np.sqrt(df["d"])
    df.attrs["cell_keys"] = keys
    return df


def empirical_regime(test_error: Any, p: Any, tol: float = 0.05, gap: float = 0.1) -> np.ndarray:
    """``benign`` if ``test_error <= p + tol``, ``harmful`` if ``>= p + gap``, else
    ``undetermined`` (NaN errors too).  Broadcast arrays in, ``<U12`` array out."""
    if not 0 <= tol <= gap:
        raise ValueError(f"tol={tol!r}, gap={gap!r} are invalid: need 0 <= tol <= gap")
    te, p = np.asarray(test_error, dtype=float), np.asarray(p, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(te <= p + tol, "benign",
                        np.where(te >= p + gap, "harmful", "undetermined")).astype("<U12")


def _keys(df: pd.DataFrame, cell_keys: Sequence[str] | None) -> list[str]:
    """Explicit keys, else those recorded by :func:`to_frame`, else every column that is not a
    known metric (:data:`METRIC_COLUMNS`, ``cond_*``), ``seed`` or ``cell``."""
    keys = cell_keys if cell_keys is not None else df.attrs.get("cell_keys")
    if keys is not None:
        return [k for k in keys if k in df.columns]
    return [c for c in df.columns if c not in METRIC_COLUMNS and c not in ("seed", "cell")
            and not str(c).startswith("cond_")]


def cell_table(df: pd.DataFrame, cell_keys: Sequence[str] | None = None, *, tol: float = BENIGN_TOL,
               gap: float = 0.1) -> pd.DataFrame:
    """Per-cell summaries over seeds (diverged runs excluded from every statistic but counted).

    Columns: the cell keys; the mean of every numeric metric; ``n_runs``, ``n_diverged``,
    ``test_error_sd``; the seed spread of the test error ``test_error_median``, ``test_error_q25``,
    ``test_error_q75``, ``test_error_iqr``; and ``frac_benign`` / ``frac_harmful``: the fraction of the
    non-diverged seeds with ``test_error <= p + tol`` / ``>= p + gap`` (``p = 0`` without a ``p``
    column). An integer ``cell`` id is also added to ``df`` in place. Cells = unique combinations of
    the config columns present.
    """
    keys = _keys(df, cell_keys)
    for k in keys:  # unhashable values (lists, arrays) -> their repr
        if df[k].dtype == object and df[k].map(lambda v: isinstance(v, (list, dict,
                                                                        np.ndarray))).any():
            df[k] = df[k].map(repr)
    df["cell"] = df.groupby(keys, dropna=False, sort=True).ngroup() if keys else 0
    metrics = [c for c in df.columns if c not in keys and c not in ("seed", "cell", "diverged")
               and pd.api.types.is_numeric_dtype(df[c]) and df[c].dtype != bool]
    vals = df[metrics].astype(float)
    if "diverged" in df.columns:
        vals.loc[df["diverged"].astype(bool).to_numpy()] = np.nan
    g = vals.groupby(df["cell"])
    table = df.groupby("cell")[keys].first() if keys else pd.DataFrame(index=[0])
    table = table.join(g.mean())
    table["n_runs"] = df.groupby("cell").size()
    table["n_diverged"] = (df.groupby("cell")["diverged"].sum().astype(int)
                           if "diverged" in df.columns else 0)
    if "test_error" in metrics:
        te = g["test_error"]
        table["test_error_sd"] = te.std()
        table["test_error_median"] = te.median()
        table["test_error_q25"], table["test_error_q75"] = te.quantile(0.25), te.quantile(0.75)
        table["test_error_iqr"] = table.test_error_q75 - table.test_error_q25
        p = df["p"].to_numpy(float) if "p" in df.columns else 0.0
        err = vals["test_error"].to_numpy(float)
        benign = pd.Series(is_benign(err, p, tol), index=df.index)
        with np.errstate(invalid="ignore"):
            harmful = pd.Series(np.where(np.isfinite(err), (err >= p + gap).astype(float), np.nan), index=df.index)
        table["frac_benign"] = benign.groupby(df["cell"]).mean()
        table["frac_harmful"] = harmful.groupby(df["cell"]).mean()
    return table.reset_index()


def trainable_table(runs: pd.DataFrame, theory: str = "kou2023", *, tol: float = BENIGN_TOL,
                    cluster: str = "seed", ci: float = 0.95, **constants: float) -> pd.DataFrame | None:
    """The boundary ``phi_star`` (:func:`benign.analysis.fits.boundary` on ``phi``) per ``init_scale``
    of the trainable-output runs, and once for the fixed-output runs (``train_output == False``), next
    to the theory's fixed-output band ``[harmful_at, benign_at]``.

    ``runs``: one row per run with ``phi``, ``test_error``, ``p``, ``seed``, ``train_output``,
    ``init_scale``. ``shift_vs_fixed = phi_star / phi_star(fixed)`` (or vs the band's geometric centre
    when there are no fixed-output runs). None if not applicable.
    """
    if not {"train_output", "init_scale"} <= set(runs.columns) or not runs.train_output.any():
        return None
    harm, ben = th.thresholds(theory, **constants)
    trained = runs.train_output.astype(bool)
    fixed = runs[~trained]
    groups = [("fixed", math.nan, fixed)] if len(fixed) else []
    groups += [("trainable", s, g) for s, g in runs[trained].groupby("init_scale")]
    rows = []  # one per (output, init_scale) group
    for kind, scale, g in groups:
        f = boundary(g, "phi", tol=tol, cluster=cluster, ci=ci)
        large = math.nan
        if kind == "trainable" and {"sigma_0", "d"} <= set(g.columns):
            large = float(np.mean(np.asarray(th.regime_of_init(g.init_scale.to_numpy(float),
                          g.sigma_0.to_numpy(float), g.d.to_numpy(float))) == "large"))
        rows.append({"output": kind, "init_scale": scale, "frac_large_init": large,
                     "n_runs": f.n_runs, "phi_star": f.estimate, "ci_low": f.ci_low,
                     "ci_high": f.ci_high, "note": f.note})
    out = pd.DataFrame(rows)
    ref = out.phi_star.iloc[0] if len(fixed) else math.sqrt(harm * ben)
    out["shift_vs_fixed"] = out.phi_star / ref
    out["theory_harmful_at"], out["theory_benign_at"] = harm, ben
    return out


def dynamics_summary(df: pd.DataFrame) -> pd.DataFrame | None:
    """Per ``(eta_w, eta_a, init_scale)`` group (those present) of trainable runs: median measured
    ``ratio`` and ``ratio_predicted``, median/max ``|ratio/ratio_predicted - 1|``, median/max
    ``|conserved_drift|``.  None when neither ``ratio`` nor ``conserved_drift`` exists."""
    have = [c for c in ("ratio", "ratio_predicted", "conserved_drift") if c in df.columns]
    if not ({"ratio", "ratio_predicted"} <= set(have) or "conserved_drift" in have):
        return None
    sub = df[df.train_output.astype(bool)] if "train_output" in df.columns else df
    if "diverged" in sub.columns:
        sub = sub[~sub.diverged.astype(bool)]
    sub = sub.dropna(subset=have, how="all")
    if sub.empty:
        return None
    agg: dict[str, Any] = {}
    if {"ratio", "ratio_predicted"} <= set(have):
        sub = sub.assign(rel_err=(sub.ratio / sub.ratio_predicted - 1).abs())
        agg |= {"ratio": "median", "ratio_predicted": "median"}
        agg |= {"rel_err_median": ("rel_err", "median"), "rel_err_max": ("rel_err", "max")}
    if "conserved_drift" in have:
        sub = sub.assign(abs_drift=sub.conserved_drift.abs())
        agg |= {"drift_median": ("abs_drift", "median"), "drift_max": ("abs_drift", "max")}
    keys = [k for k in ("eta_w", "eta_a", "init_scale") if k in sub.columns]
    named = {k: (v if isinstance(v, tuple) else (k, v)) for k, v in agg.items()}
    named["n_runs"] = (have[0], "size")
    sub, keys = (sub, keys) if keys else (sub.assign(group="all"), ["group"])
    return sub.groupby(keys).agg(**named)


@dataclass(frozen=True, eq=False)
class Comparison:
    """Result of :func:`compare`.  ``table``: one row per cell (config, mean metrics, seed spread
    ``test_error_median``/``_q25``/``_q75``/``_iqr``, ``frac_benign``/``frac_harmful``,
    ``regime_empirical``, ``phi``, ``regime_theory``, ``lower_bound``, ``upper_bound``, ``agree``,
    ``calibrated_lower``/``calibrated_upper``); ``boundary``: the measured boundary on ``phi``
    (:func:`benign.analysis.fits.boundary`); ``calibrated``: envelope constants
    (:func:`benign.analysis.fits.calibrate`; :attr:`constants_calibrated` gives them as the theory's
    keyword constants); the rest are the summaries (None where the needed columns were missing, see
    ``notes``)."""
    table: pd.DataFrame
    theory: str
    constants: Mapping[str, float]
    agreement: float
    n_compared: int
    confusion: pd.DataFrame
    boundary: BoundaryFit | None
    calibrated: Mapping[str, float]
    scaling: pd.DataFrame | None
    trainable: pd.DataFrame | None
    dynamics: pd.DataFrame | None
    notes: tuple[str, ...] = field(default=())
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def constants_calibrated(self) -> dict[str, float]:
        """The given constants overridden by the calibrated ones (``C1`` ... ``C4``, defined ones only)."""
        return {**self.constants, **theory_constants(self.calibrated, self.theory)}

    def report(self) -> str:
        """Human-readable multi-section summary."""
        fmt = lambda x: "(skipped)" if x is None or (hasattr(x, "empty") and x.empty) \
            else x.to_string(float_format=lambda v: f"{v:.4g}")  # noqa: E731
        b = self.boundary
        cols = [c for c in ("frac_benign", "frac_harmful", "test_error_median", "test_error_iqr") if c in self.table]
        spread = (f"cells: median frac_benign {self.table.frac_benign.median():.3g}; median test-error IQR "
                  f"{self.table.test_error_iqr.median():.3g} (per-cell columns {cols})") if len(cols) == 4 else ""
        lines = [f"benign: comparison with {self.theory} "
                 f"(constants {dict(self.constants) or 'default'}), {len(self.table)} cells, "
                 f"settings {dict(self.settings)}",
                 f"\n== Regime agreement: {self.agreement:.3f} on {self.n_compared} cells "
                 "where both are determined", fmt(self.confusion), spread,
                 "\n== Measured boundary: P(test_error <= p + tol) = 1/2, logistic in log phi over runs",
                 "(skipped)" if b is None else
                 f"phi* = {b.estimate:.4g}  {b.ci:.0%} CI [{b.ci_low:.4g}, {b.ci_high:.4g}] (jackknife over "
                 f"{b.n_clusters} {b.cluster}s)  sharpness {b.slope:.3g}  ({b.n_benign} of {b.n_runs} runs "
                 f"benign) {b.note}",
                 "envelope constants: " + ", ".join(f"{k}={v:.4g}" for k, v in
                                                    self.calibrated.items()),
                 "\n== Scaling of the critical |mu| (d log mu_crit / d log x)", fmt(self.scaling),
                 "\n== Trainable output: boundary per init_scale", fmt(self.trainable),
                 "\n== Layer dynamics: ratio vs conservation prediction", fmt(self.dynamics)]
        if self.notes:
            lines += ["\n== Notes"] + [f"- {n}" for n in self.notes]
        return "\n".join(line for line in lines if line != "")

    __str__ = report


def compare(results: Any, theory: str = "kou2023", *, tol: float = BENIGN_TOL, gap: float = 0.1,
            cluster: str = "seed", ci: float = 0.95, cell_keys: Sequence[str] | None = None,
            **constants: float) -> Comparison:
    """Compare runs with ``theory`` (see :data:`benign.theory.THEORIES`).

    Args:
        results: runs as a DataFrame, a list of results (``.to_dict()``) or a sweep Dataset.
        theory: theory name.
        tol, gap: a run or cell is benign if its test error is ``<= p + tol``, harmful if ``>= p + gap``
            (cells use their seed mean for the regime agreement; the boundary uses every run).
        cluster: independent units of the intervals (``"seed"``, ``"cell"`` or ``"run"``; see
            :func:`benign.analysis.fits.boundary`).
        ci: nominal coverage of the intervals.
        cell_keys: columns that define a cell (default: every config column).
        **constants: absolute constants passed to the theory function.

    Returns:
        A :class:`Comparison`. Needs at least ``test_error``.
    """
    df, notes = to_frame(results), []
    if "test_error" not in df.columns:
        raise ValueError("results need a 'test_error' column")
    if "p" not in df.columns:
        df["p"] = 0.0
        notes.append("no 'p' column: assumed p = 0")
    want = "poly_relu" if theory == "cao2022" else "relu"
    if "activation" in df.columns and (acts := sorted(set(df.activation.astype(str)) - {want})):
        notes.append(f"{theory} assumes activation {want!r}; results include {acts}")
    table = cell_table(df, cell_keys, tol=tol, gap=gap)
    table["regime_empirical"] = empirical_regime(table.test_error, table.p, tol, gap)
    try:
        pred = th.predict(table, theory, **constants)
        table = table.drop(columns=[c for c in pred.columns if c in table.columns]).join(pred)
    except ValueError as e:
        notes.append(f"theory prediction skipped: {e}")
        table["phi"], table["regime_theory"] = math.nan, "n/a"
    both = ["benign", "harmful"]
    det = table.regime_theory.isin(both) & table.regime_empirical.isin(both)
    table["agree"] = np.where(det, table.regime_theory == table.regime_empirical, np.nan)
    n_cmp = int(det.sum())
    rate = float(table.agree[det].mean()) if n_cmp else math.nan
    confusion = pd.crosstab(table.regime_theory, table.regime_empirical)
    runs = df.assign(phi=df.cell.map(table.set_index("cell").phi))
    fit: dict[str, Any] = {"tol": tol, "cluster": cluster, "ci": ci}
    bnd = boundary(runs, "phi", **fit) if table.phi.notna().any() else None
    if bnd is not None and bnd.note:
        notes.append(f"boundary: {bnd.note}")
    calibrated = calibrate(table, theory) if bnd is not None else {}
    if calibrated and all(np.isfinite(list(calibrated.values()))):
        try:
            cal = th.predict(table, theory, **{**constants, **theory_constants(calibrated, theory)})
            table["calibrated_lower"], table["calibrated_upper"] = cal.lower_bound, cal.upper_bound
        except ValueError as e:
            notes.append(f"calibrated bounds skipped: {e}")
    else:
        notes.append("calibrated bounds skipped (an envelope constant is undefined)")
    q = float(df.q.iloc[0]) if "q" in df.columns and df.q.nunique() == 1 else None
    scaling = None  # stays None when mu_norm does not vary
    if "mu_norm" in df.columns and df.mu_norm.nunique() > 1:
        scaling = fit_scaling(runs, q=q, **fit)
        mixed = [c for c in ("train_output", "init_scale") if c in df and df[c].nunique() > 1]
        if mixed:
            notes.append(f"scaling fit pools cells over {mixed}; see the trainable table")
    else:
        notes.append("scaling fit skipped: mu_norm missing or constant")
    trainable = trainable_table(runs, theory, tol=tol, cluster=cluster, ci=ci, **constants)
    if trainable is None:
        notes.append("trainable-output table skipped: no train_output/init_scale runs")
    dynamics = dynamics_summary(df)
    if dynamics is None:
        notes.append("layer-dynamics summary skipped: no ratio/conserved_drift columns")
    return Comparison(table, theory, MappingProxyType(dict(constants)), rate, n_cmp, confusion,
                      bnd, MappingProxyType(calibrated), scaling, trainable, dynamics,
                      tuple(notes), MappingProxyType({"tol": tol, "gap": gap, "cluster": cluster, "ci": ci}))


def compare_dataset(ds: Any, theory: str | None = None, **kwargs: Any) -> Comparison:
    """:func:`compare` on a sweep's results dataset (trajectories dropped); the theory defaults to the
    one the sweep recorded in its attrs, else ``kou2023``. ``kwargs`` go to :func:`compare`."""
    final = ds.drop_dims("step") if "step" in ds.dims else ds
    name = theory or ds.attrs.get("theory") or "kou2023"
    return compare(final, theory=name if name not in ("none", "") else "kou2023", **kwargs)


@dataclass(frozen=True)
class FigureFits:
    """What the figures of a sweep draw besides the data (every value fitted in this package).

    Attributes:
        theory: the theory whose thresholds and bounds are drawn.
        tol: benign iff ``test_error <= p + tol`` (the fraction-benign panels use it).
        boundary: the measured boundary on ``phi`` (None where ``phi`` is undefined).
        constants: the theory's constants to draw, calibrated where a fit exists (empty: defaults).
        calibrated: whether ``constants`` holds calibrated ``C1`` and ``C3``.
        by_init: the boundary on the signal axis per ``init_scale`` (:func:`boundaries`), or None.
        comparison: the full :class:`Comparison`.
    """

    theory: str
    tol: float
    boundary: BoundaryFit | None
    constants: Mapping[str, float]
    calibrated: bool
    by_init: pd.DataFrame | None
    comparison: Comparison


def figure_fits(ds: Any, theory: str | None = None, *, tol: float = BENIGN_TOL, cluster: str = "seed",
                ci: float = 0.95) -> FigureFits:
    """Every fit the figures of ``ds`` need, in one call: :func:`compare_dataset` (boundary on ``phi``,
    calibrated constants) and, when ``init_scale`` and a signal axis (``snr``/``mu_norm``) are swept,
    the boundary on that axis per ``init_scale`` (trainable-output runs only when both kinds exist)."""
    comp = compare_dataset(ds, theory, tol=tol, cluster=cluster, ci=ci)
    cal = theory_constants(comp.calibrated, comp.theory)
    by_init = None
    dims = [str(d) for d in getattr(ds, "dims", ()) if d not in ("seed", "step")]
    signal = next((d for d in ("snr", "mu_norm") if d in dims), None)
    if signal is not None and "init_scale" in dims:
        runs = to_frame(ds.drop_dims("step") if "step" in ds.dims else ds)
        if "train_output" in runs.columns and runs.train_output.nunique() > 1:
            runs = runs[runs.train_output.astype(bool)]
        by_init = boundaries(runs, signal, "init_scale", tol=tol, cluster=cluster, ci=ci)
    return FigureFits(comp.theory, tol, comp.boundary, MappingProxyType(comp.constants_calibrated),
                      {"C1", "C3"} <= set(cal), by_init, comp)
