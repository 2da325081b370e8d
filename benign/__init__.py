"""benign: benign versus harmful overfitting in two-layer ReLU CNNs, simulated next to the theory.

Double precision is enabled at import (``jax_enable_x64``) so that ``precision="float64"`` runs are
possible; every array the package creates has an explicit dtype (float32 by default).
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from .config import Config, make_config  # noqa: E402
from .model import Params  # noqa: E402
from .simulate import Result, simulate, simulate_batch  # noqa: E402
from .analysis import Comparison, compare  # noqa: E402
from .sweep import load, sweep  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "Config",
    "Params",
    "Result",
    "compare",
    "load",
    "make_config",
    "simulate",
    "simulate_batch",
    "sweep",
    "__version__",
]
