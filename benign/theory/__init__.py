"""The theorems' predictions (:mod:`.bounds`) and the exact laws of the layer dynamics (:mod:`.laws`).

numpy only at import; :func:`predict` uses pandas/xarray when given their objects.
"""

from .bounds import (
    DEFAULTS,
    THEORIES,
    Prediction,
    cao2022,
    karhadkar2024,
    kou2023,
    meng2024,
    predict,
    shang2024,
    thresholds,
    xor_patches,
)
from .laws import (
    conserved_quantity,
    expected_conserved_quantity,
    fixed_output_equivalent,
    limiting_ratio,
    predicted_output_norm_large_init,
    predicted_ratio,
    regime_of_init,
)

__all__ = [
    "DEFAULTS", "Prediction", "THEORIES", "cao2022", "conserved_quantity", "expected_conserved_quantity", "fixed_output_equivalent",
    "karhadkar2024", "kou2023", "limiting_ratio", "meng2024", "predict", "predicted_output_norm_large_init", "predicted_ratio",
    "regime_of_init", "shang2024", "thresholds", "xor_patches",
]
