"""The outcome of a run: :class:`Result` and the final metrics computed from its trajectories."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.config import Config
from ..theory import laws


def final_metrics(cfg: Config, traj: dict[str, np.ndarray]) -> dict[str, float]:
    """Scalar summaries of one run's trajectory (arrays with leading checkpoint axis K).

    ``w_norm``, ``a_norm``, ``ratio``: means over the 2m neurons of ``|w|``, ``|a|``, ``|w|/|a|``.
    ``ratio_predicted``: the ratio implied by conservation of ``Q = a^2/eta_a - |w|^2/eta_w``
    (docs/science.md, "Conservation law") at the final ``a``; ``conserved_drift``: max over neurons of
    ``|Q(T) - Q(0)|`` relative to ``a^2/eta_a + |w|^2/eta_w`` at T. Both are NaN where no
    conservation law holds (fixed output layer or weight decay) or the run diverged.
    """
    w, a, b = traj["w_norm"], np.abs(traj["a"]), traj["b"]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = w[-1] / a[-1]
        wb = np.sqrt(w**2 + b**2)  # the bias is part of the homogeneous filter
        finite = bool(np.all(np.isfinite(a)) and np.all(np.isfinite(wb)))  # diverged runs: NaN, never an error
        if cfg.train_output and cfg.weight_decay == 0 and finite:
            Q = laws.conserved_quantity(a, wb, cfg.eta_w, cfg.eta_a)
            scale = np.maximum(a[-1] ** 2 / cfg.eta_a + wb[-1] ** 2 / cfg.eta_w, np.finfo(float).tiny)
            drift = float(np.max(np.abs(Q[-1] - Q[0]) / scale))
            ratio_pred = float(np.mean(laws.predicted_ratio(a[-1], Q[0], cfg.eta_w, cfg.eta_a)))
        else:
            drift = ratio_pred = float("nan")
    step = int(traj["diverged_step"])
    return dict(
        train_loss=float(traj["train_loss"][-1]),
        train_error=float(traj["train_error"][-1]),
        test_error=float(traj["test_error"][-1]),
        test_error_clean=float(traj["test_error_clean"][-1]),
        test_error_se=float(traj["test_error_se"][-1]),
        min_margin=float(traj["min_margin"][-1]),
        w_norm=float(np.mean(w[-1])),
        a_norm=float(np.mean(a[-1])),
        ratio=float(np.mean(ratio)),
        ratio_predicted=ratio_pred,
        conserved_drift=drift,
        diverged=step >= 0,
        diverged_step=step,
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
        w_norm, a_norm, ratio, ratio_predicted, conserved_drift: final layer summaries (float; see
            :func:`final_metrics`).
        diverged: whether the loss became non-finite; diverged_step: the first such step (-1: none).
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
    conserved_drift: float
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


#: Names of the final metrics, in :class:`Result` field order.
METRICS = tuple(f.name for f in dataclasses.fields(Result) if f.name not in ("config", "steps", "trajectory", "params"))
