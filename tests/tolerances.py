"""One dtype-aware closeness rule for comparing numbers computed by different XLA programs.

XLA does not promise bitwise-equal floats when the same runs are computed with other batch sizes,
chunk sizes, devices, executors or machines: reductions may be reordered, fused or vectorised
differently. Two such computations agree *to rounding*, which is what these helpers assert.
Byte identity is asserted directly (not here) only where it is guaranteed: the same chunk
recomputed with the same shapes in the same program, and a resumed sweep against an uninterrupted
one with the same chunking.

The rule: ``|actual - desired| <= rtol * scale`` elementwise, with

* ``rtol = RTOL[precision] * accumulation(steps)``:
  ``RTOL`` is ``1e-6`` for float32 (about 8 ulp) and ``1e-12`` for float64 (far above its ulp,
  far below any effect a float64 check looks for), for a value computed once from the same inputs;
* ``accumulation(steps) = sqrt(steps)`` for a value at the end of ``steps`` gradient-descent steps:
  the two programs round differently at every step and, for the small step sizes of the tests,
  those independent differences add up like a random walk (a documented multiple, not a fitted
  number). Measured, for 100 runs of 150 float32 steps (batch of 100 vs batch of 1), the largest
  difference of any trajectory was ``5e-7`` of its scale, against ``1e-6 * sqrt(150) = 1.2e-5``;
* ``scale = max |desired|`` over the finite entries (norm-wise relative error, so entries near 0
  are judged against the array's magnitude), or a given ``scale`` for quantities computed by
  cancellation (e.g. ``a^2 - |w|^2`` is only accurate relative to ``a^2 + |w|^2``) or already
  normalised (a relative drift: ``scale=1``).

NaN must match NaN, and integer and boolean arrays (flags, counts, steps) must be equal.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Relative tolerance of a value computed once, by the precision the simulation ran in.
RTOL = {"float32": 1e-6, "float64": 1e-12}


def accumulation(steps: int) -> float:
    """The multiple for a quantity accumulated over ``steps`` GD steps: ``sqrt(max(steps, 1))``."""
    return math.sqrt(max(int(steps), 1))


def rtol(precision: str | np.dtype | type = "float32", steps: int = 1) -> float:
    """``RTOL[precision] * accumulation(steps)``; ``precision`` is ``'float32'``/``'float64'`` or a dtype."""
    key = precision if isinstance(precision, str) else np.dtype(precision).name
    if key not in RTOL:
        raise ValueError(f"precision={precision!r}: expected one of {sorted(RTOL)}")
    return RTOL[key] * accumulation(steps)


def assert_close(actual: Any, desired: Any, precision: str | np.dtype | type = "float32", *, steps: int = 1,
                 scale: float | None = None, err_msg: str = "") -> None:
    """Assert ``actual`` equals ``desired`` to rounding (see the module docstring for the rule).

    Args:
        actual, desired: arrays (or scalars) of the same shape.
        precision: the precision the numbers were computed in (not the storage dtype: a float32
            run stored as float64 is compared at float32 tolerance).
        steps: GD steps the quantity accumulated over (1: computed once).
        scale: the magnitude errors are measured against (default ``max |desired|``).
        err_msg: prefix of the failure message.
    """
    x, y = np.asarray(actual), np.asarray(desired)
    assert x.shape == y.shape, f"{err_msg}: shapes {x.shape} != {y.shape}"
    if y.dtype.kind in "biuSUO" or x.dtype.kind in "biuSUO":
        np.testing.assert_array_equal(x, y, err_msg=err_msg)
        return
    x, y = x.astype(np.float64), y.astype(np.float64)
    nan_x, nan_y = np.isnan(x), np.isnan(y)
    assert (nan_x == nan_y).all(), f"{err_msg}: NaN at different places ({int(nan_x.sum())} vs {int(nan_y.sum())})"
    inf = np.isinf(y)
    assert (x[inf] == y[inf]).all(), f"{err_msg}: infinities differ"
    ok = np.isfinite(y)
    if not ok.any():
        return
    if scale is None:
        scale = float(np.max(np.abs(y[ok])))
    tol = rtol(precision, steps) * scale
    err = np.abs(x[ok] - y[ok])
    worst = float(err.max())
    assert worst <= tol, (f"{err_msg}: max |difference| {worst:.3g} > {tol:.3g} "
                          f"(rtol {rtol(precision, steps):.3g} x scale {scale:.3g}, {precision}, steps={steps})")
