"""The simulation core: pure JAX functions of explicit state, no I/O.

config -> keys -> data -> model -> dynamics (shared) -> dense | coef engines -> testerror.
"""

import jax as _jax

# Double precision must be available for precision="float64" runs; every array the core creates has
# an explicit dtype (float32 unless precision="float64").
_jax.config.update("jax_enable_x64", True)
