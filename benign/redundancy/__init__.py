"""Redundant representations (Doimo, Glielmo, Goldt, Laio 2022): chunk measures, information imbalance,
and the two-layer CNN's representation. numpy/scipy only (the CNN helper imports JAX when called)."""

from .chunks import (
                     ChunkErrors,
                     ChunkReconstruction,
                     ErrorScaling,
                     RedundancyGroups,
                     chunk_errors,
                     chunk_logits,
                     chunk_predict,
                     chunk_reconstruction,
                     count_groups,
                     critical_chunk_size,
                     default_sizes,
                     draw_chunk,
                     error_scaling,
                     loo_ridge_alpha,
                     neuron_strata,
)
from .cnn import cnn_representation
from .imbalance import information_imbalance, neighbour_ranks

__all__ = [
    "ChunkErrors", "ChunkReconstruction", "ErrorScaling", "RedundancyGroups", "chunk_errors", "chunk_logits",
    "chunk_predict", "chunk_reconstruction", "cnn_representation", "count_groups", "critical_chunk_size",
    "default_sizes", "draw_chunk", "error_scaling", "loo_ridge_alpha", "information_imbalance", "neighbour_ranks", "neuron_strata",
]
