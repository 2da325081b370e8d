"""The simulation core: pure JAX functions of explicit state, no I/O.

config -> keys -> data -> model -> dynamics (shared) -> dense | coef engines -> testerror.

Every array the core creates has an explicit dtype (float32 unless ``precision="float64"``). The
core does not switch JAX's 64-bit mode on: the drivers in :mod:`benign.run` run it inside
``jax.enable_x64(True)``, so a user's own JAX code is unaffected by importing or using benign.
"""
