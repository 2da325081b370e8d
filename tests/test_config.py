"""Every bad input raises a ValueError naming the argument, before any compute."""

from __future__ import annotations

import math

import numpy as np
import pytest

import benign
from benign.core.config import make_config, replace

BAD = [
    ("n", 0), ("d", -3), ("m", 0), ("steps", 0), ("n", 2.5), ("n", True), ("n_test", 0),
    ("p", 0.5), ("p", -0.1), ("p", float("nan")),
    ("snr", -1.0), ("snr", float("inf")), ("mu_norm", -0.1), ("init_scale", -1e-3), ("sigma_p", -1.0),
    ("sigma_0", float("nan")), ("eta", 0.0), ("eta", -1.0), ("eta_w", 0.0), ("eta_a", float("inf")),
    ("activation", "tanh"), ("reduce", "max"), ("noise", "pink"), ("precision", "float16"),
    ("output_init", "zeros"), ("hidden_init", "xavier"), ("engine", "gpu"), ("seed", -1),
    ("weight_decay", -0.1), ("output_value", 0.0), ("leaky_slope", 1.0), ("bias", "yes"), ("n_checkpoints", 1),
]


@pytest.mark.parametrize("name,value", BAD)
def test_bad_input_raises_naming_the_argument(name, value):
    with pytest.raises(ValueError, match=name):
        make_config(**{name: value})
    with pytest.raises(ValueError, match=name):
        benign.simulate(**{name: value})


def test_message_names_value_and_range():
    with pytest.raises(ValueError, match=r"p=0\.7.*\[0\.0, 0\.5\)"):
        make_config(p=0.7)


def test_unknown_argument_and_inconsistent_signal():
    with pytest.raises(ValueError, match="unknown argument"):
        make_config(lr=0.1)
    with pytest.raises(ValueError, match="snr, mu_norm, mu"):
        make_config(snr=0.1, mu_norm=2.0)
    with pytest.raises(ValueError, match="mu"):
        make_config(mu=np.ones(3), d=4)


def test_snr_and_mu_norm_are_interchangeable():
    a = make_config(snr=0.2, d=400, sigma_p=2.0)
    b = make_config(mu_norm=0.2 * 2.0 * 20, d=400, sigma_p=2.0)
    assert a.mu_norm == pytest.approx(8.0) and b.snr == pytest.approx(0.2)
    assert a.cell_hash() == b.cell_hash()
    assert make_config(mu_norm=1.0, sigma_p=0.0).snr == math.inf


def test_eta_resolution_and_replace():
    c = make_config(eta=0.3)
    assert c.eta_w == c.eta_a == 0.3
    c2 = make_config(eta=0.3, eta_a=0.05)
    assert (c2.eta_w, c2.eta_a) == (0.3, 0.05)
    r = replace(c2, snr=0.4, m=3)
    assert r.m == 3 and r.snr == pytest.approx(0.4) and r.eta_a == 0.05
    with pytest.raises(ValueError, match="m"):
        replace(c2, m=0)


@pytest.mark.slow
def test_static_groups_and_batch_kwargs():
    cfgs = [benign.make_config(snr=s, d=d, n=5, m=2, steps=5) for s in (0.1, 0.2) for d in (20, 30)]
    assert len(cfgs) == 4 and len({c.static() for c in cfgs}) == 2
    res = benign.simulate_batch(cfgs)
    assert [r.config for r in res] == cfgs
    res2 = benign.simulate_batch(snr=[0.1, 0.2, 0.3], seed=[0, 1, 2], n=5, d=20, m=2, steps=5)
    assert [r.config.seed for r in res2] == [0, 1, 2]
    with pytest.raises(ValueError, match="equal lengths"):
        benign.simulate_batch(snr=[0.1, 0.2], seed=[0, 1, 2])
