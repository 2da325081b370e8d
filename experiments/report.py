"""Numbers in the docs, regenerated from the saved experiment data.

Every measured number quoted in ``docs/*.md`` lives between two markers, with the sentence that
quotes it written once, as a template, inside the opening marker::

    <!-- numbers: n_mu
    The fitted boundary is `C = {C:.3g}` (exponent of n {compare.slope.n.slope:.2f}).
    -->

    The fitted boundary is `C = 5.51` (exponent of n -0.31).

    <!-- /numbers -->

``n_mu`` names the summary ``experiments/data/n_mu.summary.json``; the template is a Python format
string over that summary's ``values`` (dotted names reach into nested tables: ``{compare.slope.n.ci_low:.2f}``,
``{per_init.0.crossing:.3f}``, ``{by_init[0.001].ratio:.2f}``). The text between the markers is generated: never edit it by hand.

A summary is a small JSON file computed from saved data files only (``experiments/data/*.nc``,
``*.json``, ``*.csv``), never by re-running a simulation. It records the SHA-256 of every input, so a
stale summary is detected. The experiment scripts refresh their summaries when they save new data
(``_common.run`` calls :func:`refresh`).

    python experiments/report.py              # recompute every summary from the saved data, then rewrite the docs blocks
    python experiments/report.py --docs-only  # rewrite the docs blocks from the existing summaries
    python experiments/report.py --check      # exit 1 if a summary or a docs block is out of date (tests/test_docs.py)
    python experiments/report.py NAME ...     # recompute only these summaries (then rewrite the docs)

To add an experiment: write ``summarize_<name>()`` returning a dict of JSON-ready values, register it
in :data:`SUMMARIES` with the data files it reads, and quote its values in the docs through a block.
See ``docs/contributing.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

DATA = ROOT / "experiments" / "data"
DOCS = ROOT / "docs"
THRESHOLD = 0.2  # test-error level of the thresholded maps (the published threshold)

BLOCK = re.compile(r"<!-- numbers: (?P<name>[A-Za-z0-9_.-]+)(?P<template>.*?)-->\n(?P<body>.*?)<!-- /numbers -->", re.S)


# ------------------------------------------------------------------------------------------ summaries


@dataclass(frozen=True)
class Summary:
    """A registered summary: ``inputs`` (file names under experiments/data) and the function that reads them."""

    name: str
    inputs: tuple[str, ...]
    compute: Callable[[], dict[str, Any]]
    script: str


SUMMARIES: dict[str, Summary] = {}


def summary(name: str, inputs: Iterable[str], script: str):
    """Register ``fn`` as the summary ``name``, computed from ``inputs`` (files in experiments/data)."""

    def deco(fn: Callable[[], dict[str, Any]]):
        SUMMARIES[name] = Summary(name, tuple(inputs), fn, script)
        return fn

    return deco


def _open(name: str):
    import xarray as xr

    with xr.open_dataset(DATA / name) as ds:
        return ds.load()


def _cell_mean(ds, var: str = "test_error"):
    return ds[var].mean("seed") if "seed" in ds[var].dims else ds[var]


def _fitted_C(ds, phi) -> float:
    """The cut ``C`` on ``phi`` that best separates cells with mean test error <= THRESHOLD (the dashed curve)."""
    import numpy as np

    from benign.analysis.fits import fit_threshold

    err = _cell_mean(ds)
    phi, err = (np.asarray(a, float).ravel() for a in np.broadcast_arrays(np.asarray(phi, float), np.asarray(err, float)))
    return fit_threshold(np.where(np.isfinite(err), phi, np.nan), err <= THRESHOLD)


def _phi(ds):
    """Kou et al.'s Phi = n |mu|^4 / (sigma_p^4 d) per cell, from coordinates and attrs."""
    import xarray as xr

    def get(k):
        if k in ds.coords:
            return ds[k]
        if k in ds.attrs:
            return float(ds.attrs[k])
        if k == "mu_norm" and "snr" in ds.coords:
            return ds["snr"] * get("sigma_p") * math.sqrt(float(get("d")))
        raise KeyError(k)

    return xr.DataArray(get("n") * get("mu_norm") ** 4 / (get("sigma_p") ** 4 * get("d")))


def _compare(ds, theory: str | None = None) -> dict[str, Any]:
    """The headline numbers of benign.analysis.compare on ``ds`` (default settings, fixed bootstrap seed)."""
    from benign.analysis.compare import compare_dataset

    c = compare_dataset(ds, theory)
    conf = c.confusion
    out: dict[str, Any] = {
        "agreement": c.agreement,
        "n_compared": c.n_compared,
        "n_cells": len(c.table),
        "n_disagree": int(round(c.n_compared * (1 - c.agreement))) if c.n_compared else 0,
        "theory_benign_empirical_harmful": int(conf.loc["benign", "harmful"]) if "benign" in conf.index and "harmful" in conf.columns else 0,
        "theory_harmful_empirical_benign": int(conf.loc["harmful", "benign"]) if "harmful" in conf.index and "benign" in conf.columns else 0,
    }
    if c.boundary is not None:
        b = c.boundary
        out["phi_star"] = {"value": b.phi_star, "ci_low": b.ci_low, "ci_high": b.ci_high}
    if c.dynamics is not None and len(c.dynamics) == 1:  # one (eta_w, eta_a, init_scale) group: medians over its runs
        r = c.dynamics.iloc[0]
        out["dynamics"] = {k: float(r[k]) for k in ("ratio", "ratio_predicted", "rel_err_median", "rel_err_max", "drift_max") if k in r}
    if c.scaling is not None and not c.scaling.empty:
        out["slope"] = {v: {"slope": r.slope, "ci_low": r.ci_low, "ci_high": r.ci_high} for v, r in c.scaling.iterrows()}
    return out


def _range(values) -> dict[str, float]:
    import numpy as np

    v = np.asarray(values, float)
    return {"min": float(np.nanmin(v)), "max": float(np.nanmax(v))}


@summary("kou2023", ["kou2023.nc"], "python experiments/kou_heatmap.py --full")
def summarize_kou2023() -> dict[str, Any]:
    """The published heat map (100 x 100 cells, 10 seeds)."""
    ds = _open("kou2023.nc")
    n = float(ds.attrs["n"])
    C = _fitted_C(ds, ds["phi"] if "phi" in ds else _phi(ds))
    err = _cell_mean(ds)
    return {
        "runs": int(ds["test_error"].size),
        "C": C,
        "mu_crit_d100": (C * 100 / n) ** 0.25,
        "mu_crit_d1000": (C * 1000 / n) ** 0.25,
        "interpolated_fraction": float((ds["train_error"] == 0).mean()),
        "test_error_at_mu0": float(err.sel(mu_norm=0.0).mean()),
        "mu_max": float(ds["mu_norm"].max()),
        "test_error_at_mu_max": float(err.sel(mu_norm=float(ds["mu_norm"].max())).mean()),
        "compare": _compare(ds, "kou2023"),
        "d_values": {"min": int(ds["d"].min()), "max": int(ds["d"].max()), "count": int(ds.sizes["d"])},
    }


@summary("n_mu", ["n_mu.nc"], "python experiments/n_mu.py")
def summarize_n_mu() -> dict[str, Any]:
    """n x |mu| map of the Kou et al. network at d = 400."""
    ds = _open("n_mu.nc")
    C = _fitted_C(ds, _phi(ds))
    d = float(ds.attrs["d"])
    n_lo, n_hi = int(ds["n"].min()), int(ds["n"].max())
    return {
        "runs": int(ds["test_error"].size),
        "C": C,
        "n_min": n_lo,
        "n_max": n_hi,
        "mu_crit_n_min": (C * d / n_lo) ** 0.25,
        "mu_crit_n_max": (C * d / n_hi) ** 0.25,
        "compare": _compare(ds, "kou2023"),
    }


@summary("snr_init", ["snr_init_trainable.nc", "snr_init_fixed.nc"], "python experiments/snr_init.py")
def summarize_snr_init() -> dict[str, Any]:
    """SNR x output init (trainable) beside the fixed-output network."""
    import numpy as np

    from benign.analysis.compare import compare_dataset
    from benign.analysis.fits import crossing

    tr, fx = _open("snr_init_trainable.nc"), _open("snr_init_fixed.nc")
    snr = np.asarray(tr["snr"].values, float)
    err = _cell_mean(tr).transpose("init_scale", "snr").values
    inits = [float(i) for i in tr["init_scale"].values]
    comp = compare_dataset(tr)
    trainable = comp.trainable.set_index("init_scale") if comp.trainable is not None else None
    dyn = comp.dynamics.reset_index().set_index("init_scale") if comp.dynamics is not None else None
    per_init = []
    for k, init in enumerate(inits):
        row: dict[str, Any] = {"init_scale": init, "crossing": crossing(snr, err[k], THRESHOLD)}
        if trainable is not None and init in trainable.index:
            t = trainable.loc[init]
            row["phi_star"], row["ci_factor"] = float(t.phi_star), float(t.ci_high / t.ci_low)
        if dyn is not None and init in dyn.index:
            r = dyn.loc[init]
            row |= {"ratio": float(r.ratio), "ratio_predicted": float(r.ratio_predicted),
                    "ratio_rel_err_median": float(r.rel_err_median), "drift_median": float(r.drift_median),
                    "drift_max": float(r.drift_max)}
        per_init.append(row)
    small = [r for r in per_init if 1e-3 <= r["init_scale"] <= 1.0]
    ci = [r["ci_factor"] for r in per_init if "ci_factor" in r]
    d, s0 = float(tr.attrs["d"]), float(tr.attrs["sigma_0"])
    return {
        "runs": int(tr["test_error"].size + fx["test_error"].size),
        "per_init": per_init,
        "by_init": {f"{r['init_scale']:g}": r for r in per_init},
        "crossing_fixed": crossing(snr, _cell_mean(fx).values, THRESHOLD),
        "crossing_small_range": _range([r["crossing"] for r in small]),
        "ci_factor_range": _range(ci) if ci else None,
        "init_split": s0 * math.sqrt(d),
        "rel_err_small_init_max": max(r.get("ratio_rel_err_median", math.nan) for r in per_init if r["init_scale"] <= 0.01),
        "drift_large_init": _range([r["drift_median"] for r in per_init if r["init_scale"] >= 1.0 and "drift_median" in r]),
    }


@summary("norm_dynamics", ["norm_dynamics.nc"], "python experiments/norm_dynamics.py")
def summarize_norm_dynamics() -> dict[str, Any]:
    """Layer-norm trajectories of the trainable network for five output init scales."""
    import numpy as np

    ds = _open("norm_dynamics.nc")
    steps = np.asarray(ds["step"].values)
    early = int(np.searchsorted(steps, 2))  # the checkpoint at step 2 (or the first after it)
    per_init = {}
    for init in ds["init_scale"].values:
        one = ds.sel(init_scale=init)
        a_final = float(one["traj_a_norm"].isel(step=-1).mean())
        per_init[f"{float(init):g}"] = {
            "w_step2": float(one["traj_w_norm"].isel(step=early).mean()),
            "a_final": a_final,
            "a_growth": a_final / float(init),
            "ratio": float(one["ratio"].mean()),
            "ratio_predicted": float(one["ratio_predicted"].mean()),
            "drift_max": float(np.abs(one["conserved_drift"]).max()),
            "test_error": float(one["test_error"].mean()),
            "train_error_max": float(one["train_error"].max()),
            "rho_over_gamma": float((one["rho_pos_max"] / one["gamma_max"]).mean()),
        }
    te = {k: v["test_error"] for k, v in per_init.items()}
    best = min(te, key=lambda k: te[k])
    small = [k for k in per_init if float(k) <= 0.01]
    large = [k for k in per_init if float(k) >= 1.0]
    return {
        "runs": int(ds["test_error"].size),
        "w0": float(ds["traj_w_norm"].isel(step=0).mean()),
        "step_early": int(steps[early]),
        "by_init": per_init,
        "test_error": _range(list(te.values())),
        "best_init": float(best),
        "best_test_error": te[best],
        "drift_small": _range([per_init[k]["drift_max"] for k in small]),
        "drift_large": _range([per_init[k]["drift_max"] for k in large]),
        "rho_over_gamma": _range([v["rho_over_gamma"] for v in per_init.values()]),
        "train_error_max": max(v["train_error_max"] for v in per_init.values()),
        "train_error_max_init": float(max(per_init, key=lambda k: per_init[k]["train_error_max"])),
    }


@summary("scaling_fit", ["scaling_fit.json", "scaling_fit.csv"], "python experiments/scaling_fit.py")
def summarize_scaling_fit() -> dict[str, Any]:
    """The joint fit of the boundary's exponents in d, n and sigma_p (saved by the script)."""
    import pandas as pd

    raw = json.loads((DATA / "scaling_fit.json").read_text())
    runs = pd.read_csv(DATA / "scaling_fit.csv")
    slope = {r["variable"]: {k: r[k] for k in ("slope", "ci_low", "ci_high", "kou2023", "cao2022", "kou2023_in_ci", "cao2022_in_ci")}
             for r in raw["fit"]}
    return {
        "runs": int(raw["runs"]),
        "runs_in_csv": len(runs),
        "interpolated_fraction": float(raw["interpolated_fraction"]),
        "seconds": float(raw["seconds"]),
        "slope": slope,
        "n_values": sorted(int(v) for v in runs["n"].unique()),
        "d_values": sorted(int(v) for v in runs["d"].unique()),
        "sigma_p_values": sorted(float(v) for v in runs["sigma_p"].unique()),
        "factor": {k: float(runs[k].max() / runs[k].min()) for k in ("d", "n", "sigma_p")},
    }


@summary("main", ["main.nc"], "python experiments/main.py")
def summarize_main() -> dict[str, Any]:
    """The main job: trainable network over n x SNR."""
    ds = _open("main.nc")
    C = _fitted_C(ds, _phi(ds))
    d = float(ds.attrs["d"])
    n_lo, n_hi = int(ds["n"].min()), int(ds["n"].max())
    out = {
        "runs": int(ds["test_error"].size),
        "C": C,
        "n_min": n_lo,
        "n_max": n_hi,
        "snr_crit_n_min": (C / (n_lo * d)) ** 0.25,
        "snr_crit_n_max": (C / (n_hi * d)) ** 0.25,
        "interpolated_fraction": float((ds["train_error"] == 0).mean()),
        "compare": _compare(ds, "kou2023"),
    }
    return out


# ------------------------------------------------------------------------------------------ files


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _jsonable(x: Any) -> Any:
    """Plain JSON values: numpy scalars as numbers, non-finite floats as None, keys as strings."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items() if not str(k).startswith("_")}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    return x


def summary_path(name: str) -> Path:
    return DATA / f"{name}.summary.json"


def compute(name: str) -> dict[str, Any]:
    """Compute summary ``name`` from its saved inputs (a dict: ``name``, ``script``, ``inputs`` hashes, ``values``)."""
    s = SUMMARIES[name]
    missing = [f for f in s.inputs if not (DATA / f).exists()]
    if missing:
        raise FileNotFoundError(f"summary {name!r} needs {missing} in experiments/data (run: {s.script})")
    return {
        "name": name,
        "script": s.script,
        "generated_by": f"python experiments/report.py {name}",
        "inputs": {f"experiments/data/{f}": _sha256(DATA / f) for f in s.inputs},
        "values": _jsonable(s.compute()),
    }


def write(name: str) -> Path:
    """Compute summary ``name`` and save it as experiments/data/NAME.summary.json."""
    path = summary_path(name)
    path.write_text(json.dumps(compute(name), indent=1, allow_nan=False) + "\n")
    return path


def save_summary(name: str, values: dict[str, Any], inputs: Iterable[str | Path] = (), script: str = "") -> Path:
    """Save a summary that a script computed itself (for experiments that do not register here).

    ``inputs``: the saved data files it came from (their hashes are recorded and checked).
    """
    paths = [Path(p) if Path(p).is_absolute() else DATA / p for p in inputs]
    doc = {"name": name, "script": script, "generated_by": script,
           "inputs": {str(p.relative_to(ROOT)): _sha256(p) for p in paths}, "values": _jsonable(values)}
    path = summary_path(name)
    path.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return path


def refresh(changed: Iterable[str]) -> list[Path]:
    """Recompute every registered summary that reads one of the ``changed`` data files (names or
    stems, e.g. ``"n_mu"`` or ``"n_mu.nc"``) and whose inputs all exist. Returns the files written."""
    changed = {Path(c).name for c in changed} | {Path(c).stem for c in changed}
    out = []
    for s in SUMMARIES.values():
        if any(f in changed or Path(f).stem in changed for f in s.inputs) and all((DATA / f).exists() for f in s.inputs):
            out.append(write(s.name))
    return out


def load(name: str) -> dict[str, Any]:
    path = summary_path(name)
    if not path.exists():
        raise FileNotFoundError(f"no summary {path.relative_to(ROOT)}; run: python experiments/report.py {name}")
    return json.loads(path.read_text())


# ------------------------------------------------------------------------------------------ docs


class _View:
    """Read-only view of a JSON value for str.format: ``{a.b.0.c}`` and ``{a[b]}`` both work."""

    def __init__(self, value: Any):
        self._v = value

    def __getattr__(self, key: str) -> Any:
        return self[key]

    def __getitem__(self, key: Any) -> Any:
        v = self._v
        if isinstance(v, list):
            item = v[int(key)]
        elif isinstance(v, dict):
            key = key if key in v else str(key)
            if key not in v:
                raise KeyError(f"{key!r} (available: {sorted(v)})")
            item = v[key]
        else:
            raise KeyError(key)
        return _View(item) if isinstance(item, (dict, list)) else item

    def __format__(self, spec: str) -> str:
        return format(self._v, spec)


def render(template: str, values: dict[str, Any]) -> str:
    """Fill ``template`` (Python format syntax, dotted names) with a summary's values."""
    view = _View(values)
    return template.format_map({k: view[k] for k in values})


FENCE = re.compile(r"^[ \t]*```.*?^[ \t]*```", re.S | re.M)


def _in_fence(text: str, pos: int) -> bool:
    """Whether ``pos`` lies inside a fenced code block (examples of the syntax are left alone)."""
    return any(f.start() <= pos < f.end() for f in FENCE.finditer(text))


def _blocks(text: str):
    return [m for m in BLOCK.finditer(text) if not _in_fence(text, m.start())]


def regenerate(text: str, where: str = "") -> str:
    """``text`` with every numbers block rendered from its summary."""

    def sub(m: re.Match) -> str:
        if _in_fence(text, m.start()):
            return m.group(0)
        name, template = m["name"], m["template"]
        if not template.strip():
            raise ValueError(f"{where}: numbers block {name!r} has no template")
        body = template.strip("\n")
        try:
            rendered = render(body, load(name)["values"])
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise ValueError(f"{where}: numbers block {name!r}: {e}") from None
        return f"<!-- numbers: {name}{template}-->\n\n{rendered}\n\n<!-- /numbers -->"

    return BLOCK.sub(sub, text)


def doc_files() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def stale_summaries() -> list[str]:
    """Summaries whose recorded input hashes differ from the saved files (or that are missing)."""
    out = []
    for path in sorted(DATA.glob("*.summary.json")):
        doc = json.loads(path.read_text())
        for rel, digest in doc.get("inputs", {}).items():
            f = ROOT / rel
            if not f.exists() or _sha256(f) != digest:
                out.append(f"{path.relative_to(ROOT)}: input {rel} changed or missing (run: python experiments/report.py {doc['name']})")
    for path in doc_files():
        for m in _blocks(path.read_text()):
            if not summary_path(m["name"]).exists():
                out.append(f"{path.relative_to(ROOT)}: block {m['name']!r} has no summary {summary_path(m['name']).relative_to(ROOT)}")
    return out


def out_of_date_docs() -> list[str]:
    """Docs files whose numbers blocks differ from what their summaries render."""
    out = []
    for path in doc_files():
        text = path.read_text()
        if _blocks(text) and regenerate(text, str(path.relative_to(ROOT))) != text:
            out.append(str(path.relative_to(ROOT)))
    return out


def write_docs() -> list[Path]:
    changed = []
    for path in doc_files():
        text = path.read_text()
        if not _blocks(text):
            continue
        new = regenerate(text, str(path.relative_to(ROOT)))
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


@summary("d_scaling", ["d_scaling.json", "d_scaling.csv", "d_scaling_control.json"], "python experiments/d_scaling.py")
def summarize_d_scaling() -> dict[str, Any]:
    """The boundary from d = 10^2 to 10^9 at theorem-scaled hyper-parameters (saved by the script)."""
    import numpy as np
    import pandas as pd

    raw = json.loads((DATA / "d_scaling.json").read_text())
    runs = pd.read_csv(DATA / "d_scaling.csv")
    keys = ("slope", "ci_low", "ci_high", "kou2023", "kou2023_in_ci")
    fit = {name: {r["variable"]: {k: r[k] for k in keys} for r in rows} for name, rows in raw["fit"].items()}
    bnd = pd.DataFrame(raw["boundaries"])
    far = bnd[(bnd["d_over_n2"] >= 100) & np.isfinite(bnd["C"])]
    near = bnd[(bnd["d_over_n2"] < 100) & np.isfinite(bnd["C"])]
    return {
        "runs": int(raw["runs"]), "runs_in_csv": len(runs), "seconds": float(raw["seconds"]),
        "interpolated_fraction": float(raw["interpolated_fraction"]), "sampler_counts": raw["sampler_counts"],
        "n_values": sorted(int(v) for v in runs["n"].unique()), "d_values": sorted(int(v) for v in runs["d"].unique()),
        "fit_all": fit["all"], "fit_far": fit["d_ge_100n2"],
        "C_far": {"min": float(far["C"].min()), "max": float(far["C"].max()), "median": float(far["C"].median()), "cells": len(far)},
        "C_near": {"min": float(near["C"].min()), "max": float(near["C"].max()), "median": float(near["C"].median()), "cells": len(near)},
        "C_by_n_far": {str(int(n)): float(g["C"].median()) for n, g in far.groupby("n")},
        "C_by_d_text": ", ".join(f"d = 10^{round(math.log10(d))}: {g['C'].median():.2g}" for d, g in bnd[np.isfinite(bnd["C"])].groupby("d")),
        "C_below_top": _range(bnd[np.isfinite(bnd["C"]) & (bnd["d"] < bnd["d"].max())].groupby("d")["C"].median()),
        "mu_grid_factor": float(np.exp(np.median(np.diff(np.unique(np.round(np.log(runs["mu_norm"] / (runs["d"] / runs["n"]) ** 0.25), 6)))))),
        "C_top": float(bnd[np.isfinite(bnd["C"]) & (bnd["d"] == bnd["d"].max())]["C"].median()),
        "control_text": ", ".join(f"{np.mean(r['test_error']):.3f} at s0 = {r['s0']:g}"
                                  for r in json.loads((DATA / "d_scaling_control.json").read_text())["rows"]),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("names", nargs="*", help=f"summaries to recompute (default: all of {sorted(SUMMARIES)})")
    p.add_argument("--docs-only", action="store_true", help="do not recompute summaries; only rewrite the docs blocks")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a summary or docs block is out of date")
    args = p.parse_args(argv)
    if args.check:
        problems = stale_summaries() + [f"{f}: numbers blocks out of date (run: python experiments/report.py --docs-only)" for f in out_of_date_docs()]
        for line in problems:
            print(line, file=sys.stderr)
        print("docs numbers: " + ("out of date" if problems else "in sync with experiments/data"))
        return 1 if problems else 0
    if not args.docs_only:
        unknown = sorted(set(args.names) - set(SUMMARIES))
        if unknown:
            p.error(f"unknown summaries {unknown}; registered: {sorted(SUMMARIES)}")
        for name in args.names or sorted(SUMMARIES):
            try:
                print(f"summary: {write(name).relative_to(ROOT)}")
            except FileNotFoundError as e:
                print(f"summary {name}: skipped ({e})", file=sys.stderr)
    for path in write_docs():
        print(f"docs: {path.relative_to(ROOT)} updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
