"""Public entry points: :func:`simulate` (one run) and :func:`simulate_batch` (many runs, one compiled call).

A batch is grouped by the configs' static fields (shapes and structure); each group is a single
``jit(vmap(train))`` call over the dynamic fields. Every run's key comes from its seed and its
configuration (:meth:`Config.cell_hash`), so a run gives the same numbers alone or in any batch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..core import coef, dense, keys
from ..core.config import Config, make_config
from ..core.dynamics import Hyper, checkpoint_steps
from .result import Result, final_metrics

_HYPER_FIELDS = Hyper._fields


@functools.partial(jax.jit, static_argnames=("cfg", "optimizer", "return_params", "engine"))
def _run_compiled(cfg: Config, seeds, hashes, hyper: Hyper, mu_dirs, optimizer=None, return_params=False, engine="dense"):
    train = coef.train if engine == "coef" else dense.train

    def one(seed, h, hy, md):
        return train(cfg, keys.run_key(seed, h), hy, md, optimizer, return_params)

    return jax.vmap(one)(seeds, hashes, hyper, mu_dirs)


def _shard_batch(args, B: int):
    """Spread the batch axis of ``args`` over every local device (no-op with one device).

    The batch is padded to a multiple of the device count by repeating its last run (the padding
    is dropped from the outputs) and placed with a ``NamedSharding`` over a one-axis mesh; each
    run's numbers do not depend on the device it lands on.
    """
    devices = jax.local_devices()
    if len(devices) == 1:
        return args
    pad = (-B) % len(devices)
    if pad:
        args = jax.tree_util.tree_map(lambda x: jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]), args)
    mesh = jax.sharding.Mesh(np.asarray(devices), ("batch",))
    return jax.device_put(args, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch")))


def run_group(configs: Sequence[Config], optimizer=None, return_params: bool = False) -> dict[str, np.ndarray]:
    """Run configs that share their static fields in one compiled, vmapped call.

    The batch is spread over every local JAX device (several GPUs, or CPU devices forced with
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N``) with results identical to one device.
    Returns numpy arrays with a leading batch axis B = len(configs): trajectories (B, K) or
    (B, K, 2, m), ``diverged_step`` (B,), optionally final ``W`` (B, 2, m, d), and ``steps`` (K,).
    The engine is :func:`benign.core.coef.resolve_engine` of the static config: 'dense' (GD on W) or
    'coef' (exact GD on signal/noise coefficients, which also fills :data:`benign.core.coef.PROOF_KEYS`).
    """
    if not configs:
        raise ValueError("configs is empty: give at least one configuration")
    static = configs[0].static()
    if any(c.static() != static for c in configs[1:]):
        raise ValueError("run_group needs configs with identical static fields; use simulate_batch to group them")
    engine = coef.resolve_engine(static, optimizer)  # 'dense' | 'coef'; ValueError for coef + optimizer
    dtype = np.float64 if static.precision == "float64" else np.float32
    seeds = jnp.asarray(np.array([c.seed for c in configs], np.uint32))
    hashes = jnp.asarray(np.array([c.cell_hash() for c in configs], np.uint32))
    hyper = Hyper(*(jnp.asarray(np.array([getattr(c, f) for c in configs], dtype)) for f in _HYPER_FIELDS))
    mu_dirs = None
    if any(c.mu_vec is not None for c in configs):
        e1 = np.zeros(static.d)
        e1[0] = 1.0
        mu_dirs = jnp.asarray(np.stack([np.asarray(c.mu_vec) if c.mu_vec is not None else e1 for c in configs]).astype(dtype))
    args = _shard_batch((seeds, hashes, hyper, mu_dirs), len(configs))
    out = _run_compiled(static, *args, optimizer, return_params, engine)
    res = {k: np.asarray(v)[: len(configs)] for k, v in out.items()}
    for k in coef.PROOF_KEYS:  # the dense engine does not track gamma / rho: same keys, NaN
        res.setdefault(k, np.full(res["train_loss"].shape, np.nan, dtype))
    res["steps"] = checkpoint_steps(static.steps, static.n_checkpoints)
    return res


def _split(cfg: Config, res: dict[str, np.ndarray], i: int) -> Result:
    traj = {k: v[i] for k, v in res.items() if k not in ("steps", "W", "a_final", "b_final")}
    params = None
    if "W" in res:
        params = {"W": res["W"][i], "a": res["a_final"][i], "b": res["b_final"][i]}
    traj_only = {k: v for k, v in traj.items() if k != "diverged_step"}
    return Result(config=cfg, steps=res["steps"], trajectory=traj_only, params=params, **final_metrics(cfg, traj))


def simulate_batch(configs: Sequence[Config] | None = None, *, optimizer=None, return_params: bool = False, **kwargs: Any) -> list[Result]:
    """Run many configurations; each group of equal static fields is one compiled batched call.

    Either pass ``configs`` (from :func:`benign.make_config`) or keyword arguments of
    :func:`simulate` where some values are sequences of equal length (zipped, not crossed), e.g.
    ``simulate_batch(snr=[0.1, 0.2, 0.4], seed=[0, 1, 2], init_scale=0.01)``.
    Results come back in input order.
    """
    if configs is None:
        lengths = {k: len(v) for k, v in kwargs.items() if isinstance(v, (list, tuple, np.ndarray)) and k != "mu"}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"sequence arguments must have equal lengths, got {lengths}")
        B = next(iter(lengths.values()), 1)
        configs = [make_config(**{k: (v[i] if k in lengths else v) for k, v in kwargs.items()}) for i in range(B)]
    elif kwargs:
        raise ValueError(f"give either configs or keyword arguments, not both (got {sorted(kwargs)})")
    groups: dict[Config, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault(c.static(), []).append(i)
    results: list[Result | None] = [None] * len(configs)
    for idx in groups.values():
        res = run_group([configs[i] for i in idx], optimizer, return_params)
        for j, i in enumerate(idx):
            results[i] = _split(configs[i], res, j)
    return results  # type: ignore[return-value]


def simulate(*, optimizer=None, return_params: bool = True, **kwargs: Any) -> Result:
    """Train one two-layer CNN by full-batch GD and measure it. All arguments are keywords.

    Signal: ``snr`` (default 0.1) or ``mu_norm`` or ``mu`` (vector (d,)). Shapes: ``n`` (50), ``d``
    (500), ``m`` (20). Noise: ``sigma_p`` (1.0), ``p`` label-flip rate (0.1), ``noise`` 'orthogonal' |
    'isotropic'. Init: ``init_scale`` (0.1, output layer), ``output_init`` 'constant' | 'gaussian',
    ``sigma_0`` (0.01), ``hidden_init`` 'gaussian' | 'uniform'. Model: ``activation`` 'relu' |
    'leaky_relu' | 'poly_relu' (``q``, ``leaky_slope``), ``bias``, ``reduce`` 'sum' | 'mean',
    ``train_output`` (True; False fixes ``a = output_value``, default 1/m). Training: ``eta`` or
    ``eta_w``/``eta_a`` (0.1), ``steps`` (1000), ``weight_decay`` (0), ``optimizer`` (an optax
    transformation replacing plain GD). Engine: ``engine`` 'auto' (default: the exact coefficient
    engine when d > n + 1 and no optimizer, else dense) | 'dense' | 'coef'. Test error:
    ``test_error_method`` 'gaussian' (default: the estimator of docs/science.md, "The Gaussian test-error estimator", on ``n_mc`` = 4096
    points, with ``test_error_se``) | 'test_set' (``n_test`` = 2000 fresh points). Output:
    ``n_checkpoints`` (40), ``precision`` 'float32' | 'float64', ``seed`` (0).
    Every argument is validated before any compute.
    """
    cfg = make_config(**kwargs)
    return simulate_batch([cfg], optimizer=optimizer, return_params=return_params)[0]

