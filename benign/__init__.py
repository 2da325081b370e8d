"""benign: benign versus harmful overfitting in two-layer ReLU CNNs, simulated next to the theory.

The public API is the names in ``__all__``; they are imported on first use, so ``import benign``
is cheap and has no side effects until a simulation runs.

>>> import benign
>>> r = benign.simulate(snr=0.2, init_scale=0.01, n=20, d=200, m=5, steps=200)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

#: public name -> (module, attribute); ``None`` attribute: the module itself.
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "Config": ("benign.core.config", "Config"),
    "make_config": ("benign.core.config", "make_config"),
    "theorem_scaled": ("benign.core.config", "theorem_scaled"),
    "Params": ("benign.core.model", "Params"),
    "Result": ("benign.run.result", "Result"),
    "simulate": ("benign.run.batch", "simulate"),
    "simulate_batch": ("benign.run.batch", "simulate_batch"),
    "sample_data": ("benign.run.draws", "sample_data"),
    "sweep": ("benign.run.sweep", "sweep"),
    "load": ("benign.run.store", "load"),
    "Comparison": ("benign.analysis.compare", "Comparison"),
    "best_step": ("benign.analysis.early_stopping", "best_step"),
    "compare": ("benign.analysis.compare", "compare"),
    "analysis": ("benign.analysis", None),
    "theory": ("benign.theory", None),
    "plot": ("benign.plot", None),
    "redundancy": ("benign.redundancy", None),
}

__all__ = [
    "Comparison", "Config", "Params", "Result", "__version__", "analysis", "best_step", "compare", "load", "make_config", "plot",
    "redundancy", "sample_data", "simulate", "simulate_batch", "sweep", "theorem_scaled", "theory",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        mod = importlib.import_module(module)
        value = mod if attr is None else getattr(mod, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'benign' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from . import analysis, plot, redundancy, theory
    from .analysis.compare import Comparison, compare
    from .analysis.early_stopping import best_step
    from .core.config import Config, make_config, theorem_scaled
    from .core.model import Params
    from .run.batch import simulate, simulate_batch
    from .run.draws import sample_data
    from .run.result import Result
    from .run.store import load
    from .run.sweep import sweep
