"""The two-layer CNN's hidden representation, in the form the redundancy measures take."""

from __future__ import annotations

import numpy as np


def cnn_representation(result, n_test: int = 2000, seed: int = 0, *, split: str = "test"
                       ) -> tuple[np.ndarray, tuple[np.ndarray, float], np.ndarray]:
    """Representation, signed readout and labels of a trained two-layer CNN of this package.

    Args:
        result: a :class:`benign.Result` with ``params`` (``benign.simulate(..., return_params=True)``).
        n_test: number of fresh test inputs (``split='test'``).
        seed: seed of the fresh test set; it is drawn with ``benign.core.data.sample`` from the run's
            distribution (same signal vectors, ``sigma_p``, ``p``, noise law, patches) under the key
            ``jax.random.fold_in(jax.random.PRNGKey(seed), 0x7E57)``, independent of the run.
        split: ``'test'`` (fresh inputs, clean labels ``y_hat``) or ``'train'`` (the run's own
            training set, rebuilt from its key, with the observed, possibly flipped labels).

    Returns:
        ``H`` (N, 2m) float64: the per-filter responses ``h_{j,r}(x)`` (``benign.core.model.responses``),
        j = +1 filters first; ``readout = (concatenate([a[0], -a[1]]), 0.0)``, so that
        ``H @ readout[0]`` is ``benign.core.model.forward`` (the class signs live in the readout);
        ``labels`` (N,) in {-1, +1}.
    """
    import jax
    import jax.numpy as jnp

    from ..core import model
    from ..core.dynamics import dtype_of
    from ..run.draws import fresh_sample, responses, training_set

    if result.params is None:
        raise ValueError("result has no params: run benign.simulate(..., return_params=True)")
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train', got {split!r}")
    cfg = result.config
    if split == "test" and int(n_test) < 2:
        raise ValueError(f"n_test must be >= 2, got {n_test}")
    dtype = dtype_of(cfg)
    with jax.enable_x64(True):
        if split == "train":  # the same key path as the engines
            ds = training_set(cfg)
            labels = ds.y
        else:
            ds = fresh_sample(cfg, jax.random.fold_in(jax.random.PRNGKey(int(seed)), 0x7E57), int(n_test))
            labels = ds.y_clean
        prm = model.Params(*(jnp.asarray(result.params[k], dtype) for k in ("W", "a", "b")))
        h = responses(cfg, prm, ds.X)  # (N, 2, m)
        H = np.asarray(h, np.float64).reshape(h.shape[0], -1)
    a = np.asarray(result.params["a"], np.float64)
    return H, (np.concatenate([a[0], -a[1]]), 0.0), np.asarray(labels).astype(np.int64)
