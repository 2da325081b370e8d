"""The dense engine: full-batch gradient descent on ``W`` (and ``a``, ``b``), as an init/advance/record triple.

The state is explicit (:class:`DenseState`, a pytree holding the run's data, parameters and counters),
every function is pure and vmaps over runs. :func:`advance` runs a traced number of steps in one
``fori_loop``, so the driver (:func:`benign.run.batch.run_group`) compiles it once and calls it per
checkpoint segment. Works for every option, optax optimizers included; per step it costs O(n m d).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from . import dynamics, keys, model, testerror
from .config import Config
from .data import Dataset
from .dynamics import Hyper, Progress
from .model import Params


class DenseState(NamedTuple):
    """State of one dense-engine run.

    U: (k, d) signal vectors; data: the training :class:`~benign.core.data.Dataset` (X (n, P, d));
    test: the test set (``test_error_method='test_set'``) or ``None``; hyper: the run's
    :class:`~benign.core.dynamics.Hyper` in its dtype; params: the network; opt_state: optax state
    (``()`` for plain GD); prog: the :class:`~benign.core.dynamics.Progress` counters.
    """

    U: jax.Array
    data: Dataset
    test: Dataset | None
    hyper: Hyper
    params: Params
    opt_state: Any
    prog: Progress


def _mask_grads(cfg: Config, g: Params) -> Params:
    """Zero the gradients of frozen parts (fixed output layer, absent bias)."""
    a = g.a if cfg.train_output else jnp.zeros_like(g.a)
    b = g.b if cfg.bias else jnp.zeros_like(g.b)
    return Params(W=g.W, a=a, b=b)


def init(cfg: Config, key: jax.Array, hyper: Hyper, mu_dir: jax.Array | None = None, optimizer=None) -> DenseState:
    """Draw the run's data and parameters from ``key`` (:func:`benign.core.dynamics.setup_run`)."""
    U, ds, params, hyper, test = dynamics.setup_run(cfg, key, hyper, mu_dir)
    opt_state = () if optimizer is None else optimizer.init(params)
    return DenseState(U, ds, test, hyper, params, opt_state, dynamics.start())


def init_custom(cfg: Config, key: jax.Array, hyper: Hyper, train: Dataset, test: Dataset, optimizer=None) -> DenseState:
    """A run on the user's own ``train`` / ``test`` sets (``data='custom'``): the initial parameters are
    drawn from ``key`` exactly as :func:`init` draws them, so with the arrays of
    :func:`benign.sample_data` this is the run :func:`init` starts. ``U`` is a zero (1, d) placeholder."""
    dtype = dynamics.dtype_of(cfg)
    hyper = Hyper(*(jnp.asarray(h, dtype) for h in hyper))
    params = model.init_params(keys.split_run(key).init, cfg, hyper.init_scale, hyper.sigma_0, dtype)
    opt_state = () if optimizer is None else optimizer.init(params)
    return DenseState(jnp.zeros((1, cfg.d), dtype), train, test, hyper, params, opt_state, dynamics.start())


def objective_and_grads(cfg: Config, params: Params, X: jax.Array, y: jax.Array, hyper: Hyper) -> tuple[jax.Array, jax.Array, Params]:
    """``(objective, margins (n,), masked gradients)`` at ``params``: the objective is the mean loss
    plus weight decay, the margins ``y_i f(x_i)``."""
    def obj(prm):
        margins = y * model.forward(cfg, prm, X)
        reg = jnp.sum(prm.W**2) + (jnp.sum(prm.a**2) if cfg.train_output else 0.0)
        return model.train_loss(cfg, margins) + 0.5 * hyper.weight_decay * reg, margins

    (value, margins), g = jax.value_and_grad(obj, has_aux=True)(params)
    return value, margins, _mask_grads(cfg, g)


def gd_update(cfg: Config, params: Params, g: Params, hyper: Hyper) -> Params:
    """Plain GD: ``W -= eta_w dL/dW``, ``a -= eta_a dL/da``, ``b -= eta_w dL/db``."""
    return Params(W=params.W - hyper.eta_w * g.W, a=params.a - hyper.eta_a * g.a, b=params.b - hyper.eta_w * g.b)


def step(cfg: Config, state: DenseState, optimizer=None) -> DenseState:
    """One full-batch step. The counters are updated with the state *before* the step; a run whose
    stopping rule has fired keeps its parameters. With an optax ``optimizer`` the (masked) gradients go
    through it instead of plain GD (the step sizes are then unused)."""
    value, margins, g = objective_and_grads(cfg, state.params, state.data.X, state.data.y, state.hyper)
    prog = dynamics.check(cfg, state.prog, margins, value, state.hyper)
    if optimizer is None:
        new, opt_state = gd_update(cfg, state.params, g, state.hyper), state.opt_state
    else:
        import optax

        updates, opt_state = optimizer.update(g, state.opt_state, state.params)
        new = optax.apply_updates(state.params, _mask_grads(cfg, updates))
    go = dynamics.active(prog)
    params, opt_state = dynamics.masked(go, (new, opt_state), (state.params, state.opt_state))
    return state._replace(params=params, opt_state=opt_state, prog=prog._replace(step=prog.step + 1))


def advance(cfg: Config, state: DenseState, length: jax.Array, optimizer=None) -> DenseState:
    """``length`` (a traced () int) steps of :func:`step`."""
    return jax.lax.fori_loop(0, length, lambda _, s: step(cfg, s, optimizer), state)


def test_set_error(cfg: Config, params: Params, test: Dataset) -> jax.Array:
    """Clean error ``P(y_hat f(x) <= 0)`` on a test set (ties count as errors)."""
    return jnp.mean((test.y_clean * model.forward(cfg, params, test.X) <= 0).astype(test.X.dtype))


def record(cfg: Config, state: DenseState) -> tuple[DenseState, dict[str, jax.Array]]:
    """Measure the network at the current step (and update the counters with it).

    Returns the state and a dict: ``train_loss`` (mean loss, no weight decay), ``train_error``
    (``y f <= 0``), ``min_margin``; per neuron (2, m): ``w_norm = |w_{j,r}|``, ``a`` (signed), ``b``,
    ``D = a^2 - |w|^2 - b^2``; the test-error inputs: ``gauss_sig`` (2, m, k) and ``gauss_cov``
    (2m, 2m) for :func:`benign.core.testerror.clean_error` (``test_error_method='gaussian'``), or
    ``test_error_clean`` and ``test_error_se`` measured on the test set (``'test_set'``).
    """
    prm, hy = state.params, state.hyper
    value, margins, _ = objective_and_grads(cfg, prm, state.data.X, state.data.y, hy)
    prog = dynamics.check(cfg, state.prog, margins, value, hy)
    w_norm = jnp.linalg.norm(prm.W, axis=-1)
    out = dict(
        train_loss=model.train_loss(cfg, margins),
        train_error=jnp.mean((margins <= 0).astype(margins.dtype)),
        min_margin=jnp.min(margins),
        w_norm=w_norm,
        a=prm.a,
        b=prm.b,
        D=prm.a**2 - w_norm**2 - prm.b**2,
    )
    if cfg.test_error_method == "gaussian":
        out["gauss_sig"], out["gauss_cov"] = testerror.gaussian_inputs(cfg, prm.W, state.U, hy.sigma_p)
    else:
        assert state.test is not None, "test_error_method='test_set' needs a test set"
        out["test_error_clean"] = test_set_error(cfg, prm, state.test)
        out["test_error_se"] = testerror.binomial_se(out["test_error_clean"], cfg.n_test)
    return state._replace(prog=prog), out


def final_params(state: DenseState) -> dict[str, jax.Array]:
    """The trained ``W`` (2, m, d), ``a`` (2, m), ``b`` (2, m)."""
    return dict(W=state.params.W, a=state.params.a, b=state.params.b)
