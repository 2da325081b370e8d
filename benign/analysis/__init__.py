"""Simulation next to theory: per-cell tables, regime agreement, boundary and scaling fits."""

from .compare import Comparison, cell_table, compare, dynamics_summary, empirical_regime, to_frame, trainable_table
from .fits import BoundaryFit, calibrate, crossing, fit_boundary, fit_scaling, fit_threshold, logistic_regression

__all__ = [
    "BoundaryFit", "Comparison", "calibrate", "cell_table", "compare", "crossing", "dynamics_summary", "empirical_regime",
    "fit_boundary", "fit_scaling", "fit_threshold", "logistic_regression", "to_frame", "trainable_table",
]
