"""benign.best_step: the checkpoint with the lowest test error, on a Result and on a sweep Dataset."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import benign
from benign.analysis.early_stopping import _best


def test_best_of_arrays_picks_the_earliest_minimum_and_skips_nan():
    steps = np.array([0, 1, 3, 10, 30])
    err = np.array([[0.5, 0.2, 0.1, 0.1, 0.3],
                    [np.nan, np.nan, np.nan, np.nan, np.nan],
                    [0.4, np.nan, 0.05, np.nan, np.nan]])
    step, best = _best(err, steps)
    assert list(step) == [3, -1, 3]
    np.testing.assert_array_equal(best, [0.1, np.nan, 0.05])


def test_best_step_of_a_result_and_of_a_sweep_agree_with_brute_force():
    r = benign.simulate(snr=0.15, n=20, d=200, m=5, steps=400, n_checkpoints=12, p=0.1, n_mc=256, n_mc_traj=256)
    b = benign.best_step(r)
    err = r.trajectory["test_error"]
    k = int(np.flatnonzero(err == np.nanmin(err))[0])
    assert b.step == int(r.steps[k]) and b.test_error == err[k] and b.final_test_error == r.test_error
    assert b.test_error <= b.final_test_error
    ds = benign.sweep({"snr": [0.05, 0.3]}, seeds=2, n=20, d=200, m=5, steps=200, n_checkpoints=8, trajectories=True,
                      progress=False, n_mc=256, n_mc_traj=256)
    out = benign.best_step(ds)
    tr = ds["traj_test_error"].transpose(..., "step")
    assert set(out.best_step.dims) == set(tr.dims) - {"step"}
    brute = tr.min("step")
    xr.testing.assert_allclose(out["best_test_error"], brute.transpose(*out["best_test_error"].dims))
    np.testing.assert_array_equal(out["final_test_error"].values, tr.isel(step=-1).transpose(*out["final_test_error"].dims).values)
    with pytest.raises(ValueError, match="trajectories=True"):
        benign.best_step(ds.drop_vars("traj_test_error"))
    with pytest.raises(ValueError, match="Result"):
        benign.best_step(42)
