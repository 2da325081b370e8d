"""Result.to_xarray / save / load round-trip everything (config, trajectories, metrics, parameters),
and results files describe their variables (long_name, units)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import benign
from benign.run.result import METRICS, Result

TINY = dict(n=10, d=30, m=3, steps=30, n_checkpoints=5)


@pytest.fixture(scope="module")
def result() -> Result:
    return benign.simulate(**TINY, snr=0.3, init_scale=0.05, bias=True, seed=2, return_params=True)


def _described(ds: xr.Dataset) -> None:
    for name, var in ds.variables.items():
        assert var.attrs.get("long_name") and var.attrs.get("units") == "1", name


def test_to_xarray_layout(result):
    ds = result.to_xarray()
    K, m, d = len(result.steps), TINY["m"], TINY["d"]
    assert dict(ds.sizes) == {"step": K, "j": 2, "r": m, "feature": d}
    np.testing.assert_array_equal(ds.step.values, result.steps)
    assert list(ds.j.values) == [1, -1]
    for name, v in result.trajectory.items():
        var = ds[f"traj_{name}"]
        assert var.dims == (("step",) if v.ndim == 1 else ("step", "j", "r")), name
        np.testing.assert_array_equal(var.values, v)
    assert ds.traj_w_norm.dims == ("step", "j", "r") and ds.traj_test_error.dims == ("step",)
    for name in METRICS:
        assert ds[name].ndim == 0
        got, want = ds[name].item(), getattr(result, name)
        assert got == want or (math.isnan(got) and math.isnan(want)), name
    assert ds.param_W.dims == ("j", "r", "feature") and ds.param_a.dims == ("j", "r")
    assert ds.attrs["n"] == 10 and ds.attrs["bias"] == 1 and ds.attrs["snr"] == pytest.approx(0.3)
    _described(ds)
    assert "mean over neurons" in ds.w_norm.attrs["long_name"]


def test_save_load_round_trip(result, tmp_path):
    path = tmp_path / "run.nc"
    result.save(path)
    back = Result.load(path)
    assert back.config == result.config
    np.testing.assert_array_equal(back.steps, result.steps)
    assert back.trajectory.keys() == result.trajectory.keys()
    for k, v in result.trajectory.items():
        assert back.trajectory[k].dtype == v.dtype, k
        np.testing.assert_array_equal(back.trajectory[k], v)
    for name in METRICS:
        got, want = getattr(back, name), getattr(result, name)
        assert type(got) is type(want), name
        assert got == want or (math.isnan(got) and math.isnan(want)), name
    assert back.params.keys() == result.params.keys()
    for k, v in result.params.items():
        assert back.params[k].dtype == v.dtype
        np.testing.assert_array_equal(back.params[k], v)
    assert repr(back) == repr(result)


def test_round_trip_without_params_and_with_mu_vector(tmp_path):
    mu = np.zeros(TINY["d"])
    mu[:2] = [0.6, 0.8]
    (r,) = benign.simulate_batch([benign.make_config(**TINY, mu=mu, train_output=False, seed=4)])
    assert r.params is None
    r.save(tmp_path / "r.nc")
    back = Result.load(tmp_path / "r.nc")
    assert back.params is None and back.config == r.config and back.config.mu_vec == r.config.mu_vec
    assert "feature" not in r.to_xarray().dims


def test_load_refuses_other_files(tmp_path):
    from benign.run.store import save_netcdf

    save_netcdf(xr.Dataset({"x": ("i", np.arange(3.0))}), tmp_path / "other.nc")
    with pytest.raises(ValueError, match="not a saved benign.Result"):
        Result.load(tmp_path / "other.nc")


def test_sweep_variables_are_described(tmp_path):
    ds = benign.sweep({"snr": [0.1, 0.3]}, seeds=2, out=str(tmp_path / "sw"), progress=False, trajectories=True,
                      **TINY)
    _described(ds)
    assert "mean over neurons" in ds.traj_w_norm.attrs["long_name"]
    assert ds.phi.attrs["long_name"] == "theory phase variable Phi"
    again = benign.load(tmp_path / "sw")  # the attributes survive the results file
    _described(again)
