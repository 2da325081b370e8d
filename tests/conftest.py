"""Shared test setup: the tests directory on ``sys.path`` and the hypothesis profiles.

Hypothesis profiles, chosen with the environment variable ``HYPOTHESIS_PROFILE``:

* ``dev`` (default): 10 examples per property, for the quick local loop (derandomized when ``CI`` is set);
* ``ci``: 100 examples per property, derandomized (the same examples on every run, so a CI result is
  reproducible; ``HYPOTHESIS_PROFILE=ci python -m pytest``).

Property tests therefore set no ``max_examples`` of their own (only ``deadline=None`` where an
example compiles a program).

Compilation: the tests compile hundreds of small programs that each run for milliseconds, so XLA's
optimisation passes, not the runs, would dominate the suite's time. The tests therefore compile with
JAX's ``jax_disable_most_optimizations`` (the environment variable ``JAX_DISABLE_MOST_OPTIMIZATIONS``,
inherited by the tests' subprocesses), which halves the fast tier's time. ``JAX_DISABLE_MOST_OPTIMIZATIONS=0
python -m pytest`` runs the suite with the optimised programs users get; ``.ci/run`` runs the fast tier
that way as well, so every numerical contract is checked under both compilations.
"""

from __future__ import annotations

import os
import sys

from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))

# before JAX is imported (it reads the variable then); an explicit value in the environment wins
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

# under CI (the environment variable CI is set, as .ci/run does) the examples are derandomized: a CI
# result is then reproducible, and a failure there is a failure on every rerun
settings.register_profile("dev", max_examples=10, deadline=None, derandomize=bool(os.environ.get("CI")))
settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
if PROFILE not in ("dev", "ci"):
    raise ValueError(f"HYPOTHESIS_PROFILE={PROFILE!r} is invalid: allowed values are 'dev' and 'ci'")
settings.load_profile(PROFILE)

