"""Input validation shared by the theory functions (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np


def check(name: str, x: Any, *, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False, hi_open: bool = False, integer: bool = False) -> np.ndarray:
    """Return ``x`` as a float64 array after checking it is finite and inside the range."""
    parts = ["finite"] + (["an integer"] if integer else [])
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi:g}")
    allowed = ", ".join(parts)
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={x!r} is invalid: {name} must be numeric ({allowed})") from None
    bad = ~np.isfinite(a)
    with np.errstate(invalid="ignore"):
        if lo is not None:
            bad |= (a <= lo) if lo_open else (a < lo)
        if hi is not None:
            bad |= (a >= hi) if hi_open else (a > hi)
        if integer:
            bad |= a != np.round(a)
    if bad.any():
        value = a[bad].flat[0] if a.ndim else a.item()
        raise ValueError(f"{name}={value!r} is invalid: {name} must be {allowed}")
    return a


def out(x: np.ndarray) -> Any:
    """0-d arrays -> Python scalars; other arrays unchanged."""
    x = np.asarray(x)
    return x.item() if x.ndim == 0 else x
