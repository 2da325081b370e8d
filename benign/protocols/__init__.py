"""Published experiment protocols, each defined once: ``name -> scale -> (grid, seeds, fixed)``."""

from __future__ import annotations

from typing import Any

from . import kou2023

#: name -> module with ``GRIDS`` (scale -> (grid, seeds)) and ``FIXED`` (shared arguments).
PROTOCOLS = {"kou2023": kou2023}


def protocol(name: str, scale: str = "small") -> tuple[dict[str, list], int, dict[str, Any]]:
    """``(grid, seeds, fixed)`` of a published protocol at a scale (``'full'`` is the published grid)."""
    if name not in PROTOCOLS:
        raise ValueError(f"protocol {name!r} is unknown; available: {sorted(PROTOCOLS)}")
    mod = PROTOCOLS[name]
    if scale not in mod.GRIDS:
        raise ValueError(f"scale {scale!r} is unknown for {name!r}; available: {sorted(mod.GRIDS)}")
    grid, seeds = mod.GRIDS[scale]
    return {k: list(v) for k, v in grid.items()}, seeds, dict(mod.FIXED)
