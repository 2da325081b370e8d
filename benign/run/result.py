"""The outcome of a run: :class:`Result` and the final metrics computed from its trajectories."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.config import Config
from ..theory import laws


def final_metrics(cfg: Config, traj: dict[str, np.ndarray], counters: dict[str, int]) -> dict[str, Any]:
    """Scalar summaries of one run: its trajectory (arrays with leading checkpoint axis K) and its
    counters (``first_bad``, ``stopped``, ``first_interp``; -1: never).

    ``w_norm``, ``a_norm``: means over the 2m neurons of ``|w|`` (bias included) and ``|a|`` at the
    end; ``ratio = w_norm / a_norm`` (the ratio of the mean norms: a mean of per-neuron ratios would be
    dominated by neurons whose ``a`` passes near 0). ``ratio_limit = sqrt(q eta_w / eta_a)``, the
    ratio the conservation law implies once ``q a^2 >> |Q0|`` (q: the activation's degree).
    ``ratio_predicted``: the same ratio of mean norms implied by each neuron's conserved
    ``Q = q a^2/eta_a - |w|^2/eta_w`` at its measured final ``|a|`` (a check of the law, not a
    forecast of how far ``a`` grows); ``conserved_drift``: max over neurons of ``|Q(T) - Q(0)|``
    relative to ``q a^2/eta_a + |w|^2/eta_w`` at T. These three are NaN where no conservation law
    holds (fixed output layer, weight decay) and for diverged runs.
    ``steps_to_interpolation``: first step with zero training error (-1: never);
    ``stopped_step``: step where the stopping rule fired (-1: it never did, or ``stop='none'``).
    """
    w, a, b = traj["w_norm"], np.abs(traj["a"]), traj["b"]
    q = cfg.degree
    diverged = counters["first_bad"] >= 0
    nan = float("nan")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        wb = np.sqrt(w**2 + b**2)  # the bias is part of the homogeneous filter
        w_mean, a_mean = float(np.mean(wb[-1])), float(np.mean(a[-1]))
        ratio = w_mean / a_mean if a_mean > 0 else nan
        law = cfg.train_output and cfg.weight_decay == 0 and not diverged and bool(np.all(np.isfinite(a)) and np.all(np.isfinite(wb)))
        if law:
            Q = laws.conserved_quantity(a, wb, cfg.eta_w, cfg.eta_a, q=q)
            scale = np.maximum(q * a[-1] ** 2 / cfg.eta_a + wb[-1] ** 2 / cfg.eta_w, np.finfo(float).tiny)
            drift = float(np.max(np.abs(Q[-1] - Q[0]) / scale))
            w_pred = a[-1] * laws.predicted_ratio(a[-1], Q[0], cfg.eta_w, cfg.eta_a, q=q)  # per neuron |w| the law gives
            ratio_pred = float(np.nanmean(w_pred)) / a_mean if a_mean > 0 else nan
            limit = float(laws.limiting_ratio(cfg.eta_w, cfg.eta_a, q=q))
        else:
            drift = ratio_pred = limit = nan
    return dict(
        train_loss=float(traj["train_loss"][-1]),
        train_error=float(traj["train_error"][-1]),
        test_error=float(traj["test_error"][-1]),
        test_error_clean=float(traj["test_error_clean"][-1]),
        test_error_se=float(traj["test_error_se"][-1]),
        min_margin=float(traj["min_margin"][-1]),
        w_norm=w_mean,
        a_norm=a_mean,
        ratio=ratio,
        ratio_predicted=ratio_pred,
        ratio_limit=limit,
        conserved_drift=drift,
        steps_to_interpolation=int(counters["first_interp"]),
        stopped_step=int(counters["stopped"]),
        diverged=bool(diverged),
        diverged_step=int(counters["first_bad"]),
    )


@dataclass(frozen=True, repr=False)
class Result:
    """The outcome of one run: its configuration, its trajectories and its final metrics.

    Attributes:
        config: the run's :class:`~benign.core.config.Config`.
        steps: (K,) int64 checkpoint steps (log-spaced, first 0, last ``config.steps``).
        trajectory: name -> numpy array with leading axis K: scalars (K,) such as ``train_loss``,
            ``test_error``; per-neuron (K, 2, m) ``w_norm``, ``a``, ``b``, ``D``.
        train_loss, train_error, test_error, test_error_clean, test_error_se, min_margin: final
            values (float).
        w_norm, a_norm, ratio, ratio_predicted, ratio_limit, conserved_drift: final layer summaries
            (float; see :func:`final_metrics`).
        steps_to_interpolation: first step with zero training error (-1: never); stopped_step: the
            step where the stopping rule (``config.stop``) fired (-1: never).
        diverged: whether the objective became non-finite; diverged_step: the first such step (-1: none).
            The metrics of a diverged run that are undefined (test and training error, margin) are NaN.
        params: final ``W`` (2, m, d), ``a`` (2, m), ``b`` (2, m) as numpy arrays, or ``None``.
    """

    config: Config
    steps: np.ndarray
    trajectory: dict[str, np.ndarray]
    train_loss: float
    train_error: float
    test_error: float
    test_error_clean: float
    test_error_se: float
    min_margin: float
    w_norm: float
    a_norm: float
    ratio: float
    ratio_predicted: float
    ratio_limit: float
    conserved_drift: float
    steps_to_interpolation: int
    stopped_step: int
    diverged: bool
    diverged_step: int
    params: dict[str, np.ndarray] | None = None

    @property
    def final(self) -> dict[str, Any]:
        """The final metrics as a dict (the keys of :func:`final_metrics`)."""
        return {f: getattr(self, f) for f in METRICS}

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: every config field (plus ``snr``) and every final metric; tidy-export ready."""
        return {**self.config.to_dict(), **self.final}

    def trajectory_frame(self):
        """Trajectories as a tidy ``pandas.DataFrame``: one row per checkpoint, per-neuron means."""
        import pandas as pd

        cols = {"step": self.steps}
        for k, v in self.trajectory.items():
            cols[k if v.ndim == 1 else f"{k}_mean"] = v if v.ndim == 1 else np.mean(np.abs(v) if k == "a" else v, axis=(1, 2))
        return pd.DataFrame(cols)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"Result(snr={c.snr:.4g}, mu_norm={c.mu_norm:.4g}, init_scale={c.init_scale:.4g}, n={c.n}, d={c.d}, m={c.m}, "
            f"steps={c.steps}: train_error={self.train_error:.4f}, test_error={self.test_error:.4f}, "
            f"test_error_clean={self.test_error_clean:.4f}, diverged={self.diverged})"
        )

    def to_xarray(self):
        """The run as an ``xarray.Dataset``; :meth:`save` writes it and :meth:`load` reads it back.

        Variables (all with ``long_name`` and ``units`` attributes):

        - ``traj_<name>``: every trajectory, over ``step`` (scalars, e.g. ``traj_test_error``) or over
          ``(step, j, r)`` (per neuron: ``traj_w_norm``, ``traj_a``, ``traj_b``, ``traj_D``);
        - every final metric (``test_error``, ``ratio``, ``diverged`` ...) as a 0-d variable;
        - ``param_W`` ``(j, r, feature)``, ``param_a``, ``param_b`` ``(j, r)`` when the run kept its
          parameters.

        Coordinates: ``step`` (int64), ``j`` (class sign +1/-1), ``r`` (0..m-1), ``feature`` (0..d-1).
        Attributes: every configuration field (``None`` as ``""``, bools as 0/1), ``config_json`` (the
        exact configuration) and ``benign_version``. Arrays keep their dtypes.

        Example:
            >>> r = benign.simulate(n=10, d=30, m=3, steps=20)  # doctest: +SKIP
            >>> r.to_xarray()["traj_w_norm"].dims  # doctest: +SKIP
            ('step', 'j', 'r')
        """
        import json

        import xarray as xr

        from .. import __version__
        from .variables import describe

        cfg = self.config
        data: dict[str, Any] = {}
        for name, v in self.trajectory.items():
            v = np.asarray(v)
            if v.ndim == 3 and v.shape[1:] == (2, cfg.m):
                dims: tuple[str, ...] = ("step", "j", "r")
            else:
                dims = ("step", *(f"traj_{name}_dim{i}" for i in range(1, v.ndim)))
            data[f"traj_{name}"] = xr.Variable(dims, v, describe(f"traj_{name}"))
        for name in METRICS:
            value = getattr(self, name)
            attrs = describe(name)
            if name in ("w_norm", "a_norm"):
                attrs["long_name"] += ", mean over neurons"
            if value is None:
                attrs["is_none"] = 1
                value = np.nan
            arr = np.asarray(value)
            data[name] = xr.Variable(tuple(f"{name}_dim{i}" for i in range(arr.ndim)), arr, attrs)
        if self.params is not None:
            for name, v in self.params.items():
                v = np.asarray(v)
                dims = ("j", "r", "feature")[: v.ndim] if v.shape[:2] == (2, cfg.m) else tuple(f"param_{name}_dim{i}" for i in range(v.ndim))
                data[f"param_{name}"] = xr.Variable(dims, v, describe(f"param_{name}"))
        coords = {"step": xr.Variable("step", np.asarray(self.steps, np.int64), describe("step")),
                  "j": xr.Variable("j", np.array([1, -1], np.int64), describe("j")),
                  "r": xr.Variable("r", np.arange(cfg.m, dtype=np.int64), describe("r"))}
        if any("feature" in v.dims for v in data.values()):
            coords["feature"] = xr.Variable("feature", np.arange(cfg.d, dtype=np.int64), describe("feature"))
        fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
        attrs: dict[str, Any] = {k: (int(v) if isinstance(v, (bool, np.bool_)) else "" if v is None else v)
                                 for k, v in fields.items() if k != "mu_vec"}
        attrs["snr"] = cfg.snr
        attrs["config_json"] = json.dumps({k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items()})
        attrs["benign_version"] = __version__
        attrs["has_params"] = int(self.params is not None)
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def save(self, path) -> None:
        """Write the run (configuration, trajectories, final metrics and parameters) as a netCDF
        file (:meth:`to_xarray` through :func:`benign.run.store.save_netcdf`); read it with :meth:`load`."""
        from .store import save_netcdf

        save_netcdf(self.to_xarray(), path)

    @classmethod
    def load(cls, path) -> Result:
        """Read a run written by :meth:`save`: the same configuration, steps, trajectories, final
        metrics and parameters (dtypes kept).

        Raises:
            ValueError: the file is not a saved run, or it lacks a field this version needs.
        """
        import json

        import xarray as xr

        from .store import netcdf_engine

        with xr.open_dataset(path, engine=netcdf_engine()) as ds:
            ds = ds.load()
        if "config_json" not in ds.attrs:
            raise ValueError(f"{path} is not a saved benign.Result (no 'config_json' attribute)")
        raw = json.loads(ds.attrs["config_json"])
        names = {f.name for f in dataclasses.fields(Config)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ValueError(f"{path} has configuration fields {unknown} that this version does not know")
        if raw.get("mu_vec") is not None:
            raw["mu_vec"] = tuple(raw["mu_vec"])
        cfg = Config(**raw)
        trajectory = {str(k)[5:]: ds[k].values for k in ds.data_vars if str(k).startswith("traj_")}
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        metrics: dict[str, Any] = {}
        missing = [m for m in METRICS if m not in ds]
        if missing:
            raise ValueError(f"{path} lacks the final metrics {missing}")
        for name in METRICS:
            var = ds[name]
            if var.attrs.get("is_none"):
                metrics[name] = None
                continue
            v = var.values
            if v.ndim:
                metrics[name] = v
            else:
                kind = str(types.get(name, "float"))
                cast = bool if kind.startswith("bool") else int if kind.startswith("int") else float
                metrics[name] = cast(v.item())
        params = None
        if ds.attrs.get("has_params", 0):
            params = {str(k)[6:]: ds[k].values for k in ds.data_vars if str(k).startswith("param_")}
        return cls(config=cfg, steps=np.asarray(ds["step"].values, np.int64), trajectory=trajectory,
                   params=params, **metrics)


#: Names of the final metrics, in :class:`Result` field order.
METRICS = tuple(f.name for f in dataclasses.fields(Result) if f.name not in ("config", "steps", "trajectory", "params"))
