"""Descriptions of the variables in results files: ``long_name`` and ``units`` attributes.

Used by :meth:`benign.Result.to_xarray` and by the sweep's assembled Dataset. Every quantity the
simulator records is dimensionless (errors and losses are fractions or means, weights and data are in
the same arbitrary units), so ``units`` is ``"1"`` (the CF convention for dimensionless) throughout.
"""

from __future__ import annotations

from typing import Any

#: name -> long_name (without the ``traj_`` prefix; per-neuron trajectories use the same names).
LONG_NAMES: dict[str, str] = {
    # coordinates
    "step": "gradient-descent step",
    "seed": "random seed",
    "j": "class sign s_j of the filter (+1 or -1)",
    "r": "filter index within its class",
    "feature": "input coordinate",
    # configuration
    "n": "number of training points",
    "d": "input dimension",
    "m": "filters per class",
    "snr": "signal-to-noise ratio |mu| / (sigma_p sqrt(d))",
    "mu_norm": "signal norm |mu|",
    "sigma_p": "noise standard deviation sigma_p",
    "sigma_0": "hidden-layer init standard deviation sigma_0",
    "init_scale": "output-layer init scale a_0",
    "p": "label-flip probability p",
    "eta_w": "hidden-layer step size eta_w",
    "eta_a": "output-layer step size eta_a",
    "weight_decay": "weight decay",
    "steps": "number of gradient-descent steps",
    # metrics
    "train_loss": "training loss (mean over training points)",
    "train_error": "training error: fraction of training points with y f(x) <= 0",
    "test_error": "test error on noisy labels",
    "test_error_clean": "test error on clean labels",
    "test_error_se": "standard error of the test-error estimate",
    "min_margin": "smallest training margin min_i y_i f(x_i)",
    "w_norm": "hidden-filter norm |w_{j,r}|",
    "a_norm": "output-weight magnitude |a_{j,r}|",
    "a": "output weight a_{j,r} (signed)",
    "b": "filter bias b_{j,r}",
    "D": "a^2 - |w|^2 - b^2 per neuron",
    "ratio": "hidden/output ratio of the mean norms: mean |w_{j,r}| / mean |a_{j,r}|",
    "ratio_predicted": "ratio of mean norms the conservation law gives at the final |a_{j,r}|",
    "ratio_limit": "limiting hidden/output ratio sqrt(q eta_w / eta_a)",
    "conserved_drift": "largest relative drift of the conserved quantity q a^2/eta_a - |w|^2/eta_w",
    "diverged": "1 if the training objective became non-finite",
    "diverged_step": "first step with a non-finite objective (-1: none)",
    "stopped_step": "step at which the stopping rule fired (-1: never)",
    "gamma_max": "largest signal coefficient gamma_{j,r}",
    "gamma_mean": "mean signal coefficient gamma_{j,r}",
    "rho_pos_max": "largest positive noise coefficient rho_{j,r,i}",
    "rho_pos_mean": "mean positive noise coefficient rho_{j,r,i}",
    "rho_neg_min": "smallest negative noise coefficient rho_{j,r,i}",
    "rho_neg_mean": "mean negative noise coefficient rho_{j,r,i}",
    "steps_to_interpolation": "first step with zero training error, every margin > 0 (-1: never)",
    # theory
    "phi": "theory phase variable Phi",
    "regime_theory": "regime the theory predicts (benign, harmful or undetermined)",
    "lower_bound": "theory lower bound on the test error",
    "upper_bound": "theory upper bound on the test error",
    "init_regime": "output-init regime (small or large against sigma_0 sqrt(d))",
    "limiting_ratio": "limiting hidden/output ratio sqrt(eta_w / eta_a)",
    # parameters
    "param_W": "final hidden filters w_{j,r}",
    "param_a": "final output weights a_{j,r}",
    "param_b": "final filter biases b_{j,r}",
}

#: Sweep trajectories that are neuron means (the sweep keeps the mean over the 2m neurons).
_SWEEP_MEANS = {"w_norm": "hidden-filter norm |w_{j,r}|, mean over neurons",
                "a_norm": "output-weight magnitude |a_{j,r}|, mean over neurons",
                "b": "filter bias b_{j,r}, mean over neurons",
                "D": "a^2 - |w|^2 - b^2, mean over neurons",
                "ratio": "mean |w_{j,r}| / mean |a_{j,r}| (ratio of the mean norms)"}


def describe(name: str, *, sweep: bool = False) -> dict[str, Any]:
    """``{"long_name": ..., "units": "1"}`` for a variable name.

    ``traj_<x>`` is ``<x>`` per checkpoint; ``cond_<x>`` a theory side condition; with ``sweep`` the
    per-neuron trajectories are neuron means. Unknown names get their name with spaces as long_name.

    Example:
        >>> describe("traj_test_error")["long_name"]
        'test error on noisy labels, per checkpoint'
    """
    if name.startswith("traj_"):
        base = name[5:]
        text = _SWEEP_MEANS.get(base) if sweep else None
        return {"long_name": f"{text or LONG_NAMES.get(base, base.replace('_', ' '))}, per checkpoint", "units": "1"}
    if name.startswith("cond_"):
        return {"long_name": f"theory side condition '{name[5:]}' holds", "units": "1"}
    return {"long_name": LONG_NAMES.get(name, name.replace("_", " ")), "units": "1"}
