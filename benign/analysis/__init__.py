"""Simulation next to theory: per-cell tables, regime agreement, boundary and scaling fits.

:mod:`.fits` defines the benign/harmful boundary once (used by :mod:`.compare` and by the figures);
:mod:`.compare` puts a sweep next to a theory.
"""

from .compare import (
    Comparison,
    FigureFits,
    cell_table,
    compare,
    compare_dataset,
    dynamics_summary,
    empirical_regime,
    figure_fits,
    to_frame,
    trainable_table,
)
from .early_stopping import BestStep, best_step
from .fits import (
    BENIGN_TOL,
    BoundaryFit,
    boundaries,
    boundary,
    calibrate,
    fit_boundary,
    fit_scaling,
    is_benign,
    logistic_regression,
    theory_constants,
)

__all__ = [
    "BENIGN_TOL", "BestStep", "BoundaryFit", "Comparison", "FigureFits", "best_step", "boundaries", "boundary", "calibrate", "cell_table",
    "compare", "compare_dataset", "dynamics_summary", "empirical_regime", "figure_fits", "fit_boundary",
    "fit_scaling", "is_benign", "logistic_regression", "theory_constants", "to_frame", "trainable_table",
]
