"""The CNN representation + signed readout reproduce the network (benign.redundancy.cnn_representation)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import benign
from benign.core import data as data_mod
from benign.core import model
from benign.core.dynamics import Hyper
from benign.redundancy import chunk_logits, chunk_predict, cnn_representation


@pytest.fixture(scope="module")
def run():
    return benign.simulate(snr=0.25, n=30, d=200, m=4, init_scale=0.1, eta=0.1, steps=60, seed=3,
                           test_error_method="test_set", return_params=True)


def test_representation_reproduces_forward(run):
    cfg = run.config
    H, (a, b), y = cnn_representation(run, n_test=300, seed=5)
    assert H.shape == (300, 2 * cfg.m) and a.shape == (2 * cfg.m,) and b == 0.0
    assert set(np.unique(y)) <= {-1, 1}
    key = jax.random.fold_in(jax.random.PRNGKey(5), 0x7E57)  # the documented test-set key
    U = data_mod.signal_vectors(cfg, cfg.mu_norm, cfg.xor_angle)
    ds = jax.jit(lambda k: data_mod.sample(cfg, k, U, cfg.sigma_p, cfg.p, 300))(key)  # one program, not one per primitive
    np.testing.assert_array_equal(y, np.asarray(ds.y_clean))
    prm = model.Params(*(jnp.asarray(run.params[k]) for k in ("W", "a", "b")))
    f = np.asarray(jax.jit(lambda p, X: model.forward(cfg, p, X))(prm, ds.X), np.float64)
    full = np.arange(2 * cfg.m)
    np.testing.assert_allclose(chunk_logits(H, (a, b), full), f, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(chunk_predict(H, (a, b), full), np.where(f > 0, 1, -1))


def test_training_split_matches_simulator(run):
    H, (a, _), y = cnn_representation(run, split="train")
    margins = y * (H @ a)
    assert H.shape[0] == run.config.n
    assert np.mean(margins <= 0) == pytest.approx(run.train_error)
    assert margins.min() == pytest.approx(run.min_margin, rel=1e-4, abs=1e-5)


def test_experiment_replay_matches_simulate(run):
    """The experiment's early-checkpoint replay (dense GD, traced step count) gives simulate's network."""
    path = Path(__file__).resolve().parents[1] / "experiments" / "redundancy_cnn.py"
    spec = importlib.util.spec_from_file_location("redundancy_cnn", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ref = run
    cfg = ref.config
    hyper = Hyper(*(jnp.asarray([np.float32(getattr(cfg, f))]) for f in Hyper._fields))
    P = mod._params_at(cfg.static(), jnp.asarray([cfg.seed], jnp.uint32), jnp.asarray([cfg.cell_hash()], jnp.uint32),
                       hyper, jnp.asarray([cfg.steps], jnp.int32))
    np.testing.assert_allclose(np.asarray(P.W[0]), ref.params["W"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(P.a[0]), ref.params["a"], rtol=1e-4, atol=1e-6)
