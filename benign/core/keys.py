"""Random keys of a run: the single place where a run's key is made and split.

A run's key is ``fold_in(fold_in(PRNGKey(0), seed), cell_hash)`` (:meth:`Config.cell_hash`): it
depends on the seed and the configuration, never on the run's position in a batch, its chunk or its
device. It is split once into three independent streams, each split again where it is consumed:

    run key ── data ── labels ── (clean labels, flips); XOR signs from fold_in(labels, 0x5167)
            │       └─ noise
            ├─ init ── (hidden W, output a, bias b)
            └─ test ── (labels, noise)         (only for ``test_error_method='test_set'``)

Every sampler in :mod:`benign.core.data` and :mod:`benign.core.model` takes the key of its stream
from here, so the dense engine, the coefficient engine and the representation helpers draw exactly
the same numbers.
"""

from __future__ import annotations

from typing import NamedTuple

import jax


class RunKeys(NamedTuple):
    """The three streams of a run: ``data`` (training set), ``init`` (parameters), ``test`` (test set)."""

    data: jax.Array
    init: jax.Array
    test: jax.Array


def run_key(seed: jax.Array, cell_hash: jax.Array) -> jax.Array:
    """The run's key ``fold_in(fold_in(PRNGKey(0), seed), cell_hash)``; seed, cell_hash: () uint32."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(0), seed), cell_hash)


def split_run(key: jax.Array) -> RunKeys:
    """Split a run key into its :class:`RunKeys` streams."""
    return RunKeys(*jax.random.split(key, 3))


def data_keys(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(labels, noise)`` keys of a data stream (training or test set)."""
    k_lab, k_noise = jax.random.split(key)
    return k_lab, k_noise


def label_keys(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(clean, flips)`` keys of a label stream: Rademacher clean labels, uniforms for the flips."""
    k_clean, k_flip = jax.random.split(key)
    return k_clean, k_flip


def init_keys(key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(W, a, b)`` keys of an init stream: hidden filters, output layer, bias."""
    kw, ka, kb = jax.random.split(key, 3)
    return kw, ka, kb


def xor_sign_key(label_key: jax.Array) -> jax.Array:
    """Key of the XOR data's signal signs (``+-(a+b)``, ``+-(a-b)``), derived from the label stream."""
    return jax.random.fold_in(label_key, 0x5167)
