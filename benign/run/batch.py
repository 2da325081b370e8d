"""Public entry points: :func:`simulate` (one run), :func:`simulate_batch` (many runs) and
:func:`run_group`, the driver that trains a batch of runs (:func:`benign.run.draws.sample_data`
returns the training set of a run).

A batch is grouped by the configs' static fields (shapes and structure). Each group is driven through
the engine's compiled ``init`` / ``advance`` / ``record`` programs (``jit(vmap(...))`` over the runs,
compiled once per static group; the number of steps is traced), checkpoint segment after checkpoint
segment, and the Gaussian test error is estimated from the recorded covariances afterwards. Every
run's key comes from its seed and draw shape, never from its position in a batch: a run has the same
keys, data and initialisation alone or in any batch, and its numbers agree to rounding (XLA does not
promise bitwise-equal floats across batch shapes).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..core import coef, dense, gram, keys, testerror
from ..core.config import Config, make_config
from ..core.data import Dataset
from ..core.dynamics import HYPER_FIELDS, Hyper, checkpoint_steps
from .result import Result, final_metrics

_ENGINES = {"dense": dense, "coef": coef}
#: Per-run trajectory keys that are inputs of the test-error estimator, not results.
_GAUSS = ("gauss_sig", "gauss_cov")
#: Test-error estimates are computed for at most this many (run, checkpoint) items per call.
_ESTIMATE_ITEMS = 2048
#: A progress bar is shown (``progress=None``) when a group is estimated to take longer than this (s).
_PROGRESS_AFTER_S = 10.0


# ------------------------------------------------------------------------------ compiled programs
@functools.partial(jax.jit, static_argnames=("cfg", "engine", "optimizer"))
def _init(cfg: Config, engine: str, optimizer, seeds, hashes, hyper: Hyper, mu_dirs):
    mod = _ENGINES[engine]
    return jax.vmap(lambda s, h, hy, md: mod.init(cfg, keys.run_key(s, h), hy, md, optimizer))(seeds, hashes, hyper, mu_dirs)


@functools.partial(jax.jit, static_argnames=("cfg", "optimizer"))
def _init_custom(cfg: Config, optimizer, seeds, hashes, hyper: Hyper, train, test):
    return jax.vmap(lambda s, h, hy: dense.init_custom(cfg, keys.run_key(s, h), hy, train, test, optimizer))(seeds, hashes, hyper)


@functools.partial(jax.jit, static_argnames=("cfg", "engine", "optimizer"))
def _advance(cfg: Config, engine: str, optimizer, state, length):
    mod = _ENGINES[engine]
    return jax.vmap(lambda s: mod.advance(cfg, s, length, optimizer))(state)


@functools.partial(jax.jit, static_argnames=("cfg", "engine"))
def _record(cfg: Config, engine: str, state):
    return jax.vmap(lambda s: _ENGINES[engine].record(cfg, s))(state)


@functools.partial(jax.jit, static_argnames=("cfg", "engine"))
def _final_params(cfg: Config, engine: str, state, seeds, hashes, hyper: Hyper, mu_dirs):
    if engine == "dense":
        return jax.vmap(dense.final_params)(state)
    return jax.vmap(lambda s, h, hy, md, st: coef.final_params(cfg, keys.run_key(s, h), hy, md, st))(seeds, hashes, hyper, mu_dirs, state)


@functools.partial(jax.jit, static_argnames=("cfg", "n_mc"))
def _estimate(cfg: Config, n_mc: int, sig, cov, a, b):
    return testerror.clean_error(cfg, sig, cov, a, b, n_mc)


# ------------------------------------------------------------------------------ program keys
#: Static fields the training programs (init / advance / record / final params) never read: the
#: checkpoint schedule is driven from Python and the estimator runs afterwards.
_SCHEDULE_FIELDS = ("steps", "n_checkpoints", "n_mc", "n_mc_traj")
#: The only static fields the test-error estimator reads (with the base-point count ``n_mc``).
_ESTIMATE_FIELDS = ("data", "m", "n_patches", "reduce", "activation", "q", "leaky_slope", "precision")


def program_config(static: Config, engine: str, optimizer=None) -> Config:
    """The jit-static key of the training programs for the group ``static``.

    Fields the programs never read are reset to their defaults (the schedule, ``n_test`` without a
    test set) and ``engine`` / ``sampler`` are replaced by what they resolve to, so runs that differ
    only there (``steps=100`` vs ``200``, ``engine='auto'`` vs ``'coef'``) share compiled programs.
    """
    base = Config()
    reset = {f: getattr(base, f) for f in _SCHEDULE_FIELDS}
    if static.test_error_method != "test_set":
        reset["n_test"] = base.n_test
    sampler = gram.resolve_sampler(static, optimizer) if engine == "coef" else "explicit"
    return dataclasses.replace(static, engine=engine, sampler=sampler, **reset)


def estimate_config(cfg: Config) -> Config:
    """The jit-static key of the test-error estimator: :data:`_ESTIMATE_FIELDS` of ``cfg``, defaults elsewhere."""
    return Config(**{f: getattr(cfg, f) for f in _ESTIMATE_FIELDS})


def _padded(n: int) -> int:
    """Item count an estimate call is padded to (a power of two, at least 8): few distinct shapes."""
    return max(8, 1 << (n - 1).bit_length())


# ------------------------------------------------------------------------------ helpers
def _shard_batch(args, B: int):
    """Spread the batch axis of ``args`` over every local device (no-op with one device).

    The batch is padded to a multiple of the device count by repeating its last run (the padding
    is dropped from the outputs) and placed with a ``NamedSharding`` over a one-axis mesh; each
    run's keys and data do not depend on the device it lands on.
    """
    devices = jax.local_devices()
    if len(devices) == 1:
        return args
    pad = (-B) % len(devices)
    if pad:
        args = jax.tree_util.tree_map(lambda x: jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]), args)
    mesh = jax.sharding.Mesh(np.asarray(devices), ("batch",))
    return jax.device_put(args, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch")))


def _available_bytes() -> int:
    """Memory available to a batch: the free memory of the first device (GPU), else the host's."""
    dev = jax.local_devices()[0]
    if dev.platform != "cpu":
        stats = dev.memory_stats() or {}
        if "bytes_limit" in stats:
            return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 2**62


def estimate_bytes(cfg: Config, engine: str) -> int:
    """A (generous) estimate of one run's peak memory in bytes on the ``engine``.

    Counts the d-dimensional data and parameters with a factor 3 for temporaries (dense: training set,
    filters, their gradient and optimizer state; coef: the data and ``W(0)`` before the Gram reduction),
    the per-checkpoint records (the test-error covariances) and the test set if one is drawn.
    """
    item = 8 if cfg.precision == "float64" else 4
    P, k, two_m = cfg.n_patches, cfg.n_signal, 2 * cfg.m
    K = k + cfg.n * (P - 1)
    data = cfg.n * P * cfg.d + 4 * two_m * cfg.d
    if engine == "coef" and gram.resolve_sampler(cfg) == "gram":  # no d-sized array but an explicit non-Gaussian W(0)
        N = K + two_m
        data = N * N + (two_m * cfg.d if cfg.hidden_init != "gaussian" else 0)
    elif engine == "coef":
        data += K * cfg.d + K * K
    test = cfg.n_test * P * cfg.d if cfg.test_error_method == "test_set" else 0
    records = (cfg.n_checkpoints + 1) * (two_m * two_m + two_m * k + 8 * two_m + 16)
    return int(item * (3 * (data + test) + records))


def _check_size(cfg: Config, engine: str, B: int) -> None:
    need, have = estimate_bytes(cfg, engine) * B, _available_bytes()
    if need > have:
        way = "use engine='coef' (no d-dimensional work per step), " if engine == "dense" else ""
        raise ValueError(f"{B} run(s) with n={cfg.n}, d={cfg.d}, m={cfg.m}, n_patches={cfg.n_patches}, n_checkpoints={cfg.n_checkpoints} "
                         f"need about {need / 2**30:.3g} GiB on engine={engine!r}, but about {have / 2**30:.3g} GiB is available: "
                         f"{way}run fewer runs per batch (a smaller chunk_size in a sweep), or reduce d, n or n_checkpoints")


def _segments(steps: int, n_checkpoints: int) -> tuple[np.ndarray, list[list[int]]]:
    """Checkpoints (K,) and, per segment, the step counts of the compiled calls that make it up
    (pieces of at most ``ceil(steps / 64)`` steps, so long runs report progress)."""
    ckpts = checkpoint_steps(steps, n_checkpoints)
    piece = max(1, -(-steps // 64))
    parts = []
    for length in np.diff(ckpts):
        n_pieces = -(-int(length) // piece)
        base, extra = divmod(int(length), n_pieces)
        parts.append([base + (i < extra) for i in range(n_pieces)])
    return ckpts, parts


def finish_test_error(cfg: Config, rec: dict[str, np.ndarray], p: np.ndarray, time_axis: bool) -> dict[str, np.ndarray]:
    """Fill ``test_error_clean``, ``test_error_se`` (Gaussian estimator, if the records hold its inputs)
    and ``test_error = p + (1 - 2p) clean`` in records with leading axes (B, K) (``time_axis``) or (B,).

    The last checkpoint (every item without a time axis) uses ``cfg.n_mc`` base points, the others
    ``cfg.n_mc_traj``. p: (B,) label-flip rates.
    """
    out = {k: v for k, v in rec.items() if k not in _GAUSS}
    if "gauss_cov" in rec:
        sig, cov, a, b = rec["gauss_sig"], rec["gauss_cov"], rec["a"], rec["b"]
        lead = cov.shape[:-2]
        clean, se = np.zeros(lead, cov.dtype), np.zeros(lead, cov.dtype)
        last = np.zeros(lead, bool)
        if time_axis:
            last[..., -1] = True
        else:
            last[...] = True
        key = estimate_config(cfg)
        for sel, n_mc in ((last, cfg.n_mc), (~last, cfg.n_mc_traj)):
            idx = np.flatnonzero(sel.ravel())
            for start in range(0, len(idx), _ESTIMATE_ITEMS):
                part = idx[start:start + _ESTIMATE_ITEMS]
                # items are independent: pad with copies of the first to a power of two (fewer shapes to compile)
                rows = np.concatenate([part, np.full(_padded(len(part)) - len(part), part[0])])
                args = [x.reshape(-1, *x.shape[len(lead):])[rows] for x in (sig, cov, a, b)]
                c, s = _estimate(key, n_mc, *args)
                clean.reshape(-1)[part], se.reshape(-1)[part] = np.asarray(c)[: len(part)], np.asarray(s)[: len(part)]
        out["test_error_clean"], out["test_error_se"] = clean, se
    pp = p.reshape(p.shape + (1,) * (out["test_error_clean"].ndim - 1)).astype(out["test_error_clean"].dtype)
    out["test_error"], out["test_error_se"] = (np.asarray(v) for v in testerror.noisy_error(pp, out["test_error_clean"], out["test_error_se"]))
    return out


def _undefined_after_divergence(res: dict[str, np.ndarray], steps: np.ndarray) -> None:
    """Metrics of a checkpoint at or after a run's first non-finite objective are undefined: NaN."""
    bad = res["first_bad"]
    mask = (bad[:, None] >= 0) & (steps[None, :] >= bad[:, None])  # (B, K)
    for k in ("test_error", "test_error_clean", "test_error_se", "train_error", "min_margin"):
        res[k] = np.where(mask, np.nan, res[k])


class _ProgressWatch:
    """A progress bar over GD steps for a group: shown at once (``mode=True``), never (``False``), or
    (``None``) when, after a second of running past the first compiled call, the remaining time is
    estimated at more than ten seconds; the estimate is printed on the bar."""

    def __init__(self, total: int, desc: str, mode: bool | None):
        self.total, self.desc, self.mode = total, desc, mode
        self.done, self.bar, self.t_first, self.done_first = 0, None, None, 0
        if mode:
            self._open()

    def _open(self) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total, initial=self.done, unit="step", desc=self.desc, dynamic_ncols=True, leave=False, mininterval=1.0)

    def update(self, state, length: int) -> None:
        self.done += length
        if self.bar is not None:
            jax.block_until_ready(state)
            self.bar.update(length)
            return
        if self.mode is False:
            return
        jax.block_until_ready(state)
        now = time.perf_counter()
        if self.t_first is None:  # the first call includes compiling
            self.t_first, self.done_first = now, self.done
        elif now - self.t_first > 1.0 and self.done > self.done_first:
            eta = (now - self.t_first) / (self.done - self.done_first) * (self.total - self.done)
            if eta > _PROGRESS_AFTER_S:
                self._open()
                assert self.bar is not None
                self.bar.set_postfix_str(f"estimated {eta:.0f} s")
            else:
                self.mode = False

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ------------------------------------------------------------------------------ the driver
def run_group(configs: Sequence[Config], optimizer=None, return_params: bool = False, progress: bool | None = None,
              custom: tuple[Any, Any] | None = None) -> dict[str, np.ndarray]:
    """Train configs that share their static fields as one batch: returns their trajectories.

    The batch is spread over every local JAX device (several GPUs, or CPU devices forced with
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N``). Returns numpy arrays with a leading batch
    axis B = len(configs): trajectories (B, K) or (B, K, 2, m) (see :func:`benign.core.dense.record`,
    plus :data:`benign.core.coef.PROOF_KEYS`, NaN on the dense engine), the test error with its
    standard error, counters (B,) ``first_bad``, ``stopped``, ``first_interp`` (-1: never), optionally
    the final ``W`` (B, 2, m, d), ``a_final``, ``b_final``, and ``steps`` (K,).

    ``progress``: ``True`` shows a progress bar, ``False`` never, ``None`` (default) when the group is
    estimated (after its first compiled segment) to take more than 10 s. ``custom``: for
    ``data='custom'`` configs, the ``((X, y), (X_test, y_test))`` arrays every run of the group trains
    and is tested on (:func:`custom_datasets`; see :func:`simulate`).

    Raises:
        ValueError: mixed static fields, an optax optimizer with ``engine='coef'``, or a batch whose
            estimated memory exceeds what is available (:func:`estimate_bytes`), before any compute.
    """
    if not configs:
        raise ValueError("configs is empty: give at least one configuration")
    static = configs[0].static()
    if any(c.static() != static for c in configs[1:]):
        raise ValueError("run_group needs configs with identical static fields; use simulate_batch to group them")
    if (static.data == "custom") != (custom is not None):
        raise ValueError("data='custom' runs need their arrays: call simulate(data=(X, y), test_data=(X_test, y_test))"
                         if custom is None else "custom arrays were given for configs whose data is not 'custom'")
    engine = coef.resolve_engine(static, optimizer)  # 'dense' | 'coef'; ValueError for coef + optimizer
    if engine == "coef" and gram.resolve_sampler(static, optimizer) == "gram" and return_params:
        raise ValueError("return_params=True is invalid with sampler='gram' (it draws Gram matrices, never W); use sampler='explicit'")
    B = len(configs)
    _check_size(static, engine, B)
    prog = program_config(static, engine, optimizer)
    from .cache import ensure as _ensure_cache

    _ensure_cache()
    dtype = np.float64 if static.precision == "float64" else np.float32
    ckpts, parts = _segments(static.steps, static.n_checkpoints)
    with jax.enable_x64(True):
        seeds = jnp.asarray(np.array([c.seed for c in configs], np.uint32))
        hashes = jnp.asarray(np.array([c.cell_hash() for c in configs], np.uint32))
        hyper = Hyper(*(jnp.asarray(np.array([getattr(c, f) for c in configs], dtype)) for f in HYPER_FIELDS))
        mu_dirs = None
        if any(c.mu_vec is not None for c in configs):
            e1 = np.zeros(static.d)
            e1[0] = 1.0
            mu_dirs = jnp.asarray(np.stack([np.asarray(c.mu_vec) if c.mu_vec is not None else e1 for c in configs]).astype(dtype))
        args = _shard_batch((seeds, hashes, hyper, mu_dirs), B)
        if custom is None:
            state = _init(prog, engine, optimizer, *args)
        else:
            train, test = (Dataset(X=jnp.asarray(X, dtype), y=jnp.asarray(y, dtype), y_clean=jnp.asarray(y, dtype), S=jnp.zeros((len(y), 1), dtype))
                           for X, y in custom)
            state = _init_custom(prog, optimizer, *args[:3], train, test)
        state, first = _record(prog, engine, state)
        records = [first]
        watch = _ProgressWatch(static.steps, f"{B} run(s), {engine} engine", progress)
        try:
            for k, seg in enumerate(parts):
                for length in seg:
                    state = _advance(prog, engine, optimizer, state, jnp.int32(length))
                    watch.update(state, length)
                state, rec = _record(prog, engine, state)
                records.append(rec)
                if static.stop != "none" and k < len(parts) - 1 and bool(jnp.all(state.prog.stopped >= 0)):
                    records += [rec] * (len(parts) - 1 - k)  # every run has stopped: nothing changes any more
                    break
        finally:
            watch.close()
        out = jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs], axis=1)[:B], *records)
        res = {k: v for k, v in out.items()}
        for name in ("first_bad", "stopped", "first_interp"):
            res[name] = np.asarray(getattr(state.prog, name))[:B]
        if return_params:
            fp = _final_params(prog, engine, state, *args)
            res.update(W=np.asarray(fp["W"])[:B], a_final=np.asarray(fp["a"])[:B], b_final=np.asarray(fp["b"])[:B])
        p = np.array([c.p for c in configs], dtype)
        res = finish_test_error(static, res, p, time_axis=True)
    for k in coef.PROOF_KEYS:  # the dense engine does not track gamma / rho: same keys, NaN
        res.setdefault(k, np.full(res["train_loss"].shape, np.nan, dtype))
    _undefined_after_divergence(res, ckpts)
    res["steps"] = ckpts
    return res


# ------------------------------------------------------------------------------ public API
_PARAMS = ("W", "a_final", "b_final")
_COUNTERS = ("first_bad", "stopped", "first_interp")


def _split(cfg: Config, res: dict[str, np.ndarray], i: int) -> Result:
    traj = {k: v[i] for k, v in res.items() if k not in ("steps", *_PARAMS, *_COUNTERS)}
    counters = {k: int(res[k][i]) for k in _COUNTERS}
    params = None
    if "W" in res:
        params = {"W": res["W"][i], "a": res["a_final"][i], "b": res["b_final"][i]}
    return Result(config=cfg, steps=res["steps"], trajectory=traj, params=params, **final_metrics(cfg, traj, counters))


def _check_optimizer(optimizer) -> None:
    if optimizer is not None and not (callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))):
        raise ValueError(f"optimizer={optimizer!r} is invalid: expected an optax GradientTransformation (e.g. optax.adam(1e-3)) or None")


def _as_configs(configs: Any) -> list[Config]:
    if isinstance(configs, (Config, Mapping)) or not isinstance(configs, Sequence) or isinstance(configs, (str, bytes)):
        raise ValueError(f"configs must be a list of Config objects (benign.make_config) or of dicts of its arguments, got {type(configs).__name__}")
    out = []
    for i, c in enumerate(configs):
        if isinstance(c, Config):
            out.append(c)
        elif isinstance(c, Mapping):
            out.append(make_config(**c))
        else:
            raise ValueError(f"configs[{i}] is a {type(c).__name__}: expected a Config (benign.make_config) or a dict of its arguments")
    return out


def _zip_kwargs(kwargs: dict[str, Any]) -> list[Config]:
    """Configs from keyword arguments where some values are sequences of equal length (zipped)."""
    def is_seq(k, v):
        if k == "mu":
            return isinstance(v, np.ndarray) and v.ndim == 2 or (isinstance(v, (list, tuple)) and len(v) > 0 and np.ndim(v[0]) == 1)
        if isinstance(v, np.ndarray):
            return v.ndim == 1
        return isinstance(v, (list, tuple))

    seqs = {k: v for k, v in kwargs.items() if is_seq(k, v)}
    lengths = {k: len(v) for k, v in seqs.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"sequence arguments must have equal lengths (they are zipped, not crossed), got {lengths}")
    B = next(iter(lengths.values()), 1)
    if B == 0:
        raise ValueError(f"sequence arguments are empty: {sorted(lengths)}")
    scalar = {k: (v.item() if isinstance(v, np.ndarray) and v.ndim == 0 else v) for k, v in kwargs.items() if k not in seqs}
    return [make_config(**scalar, **{k: (v[i].item() if isinstance(v[i], np.generic) else v[i]) for k, v in seqs.items()}) for i in range(B)]


def simulate_batch(configs: Sequence[Config] | None = None, *, optimizer=None, return_params: bool = False, progress: bool | None = None,
                   **kwargs: Any) -> list[Result]:
    """Run many configurations; each group of equal static fields is one batch of compiled calls.

    Either pass ``configs`` (a list of :class:`~benign.core.config.Config` from
    :func:`benign.make_config`, or of dicts of its arguments) or keyword arguments of :func:`simulate`
    where some values are sequences of equal length (zipped, not crossed), e.g.
    ``simulate_batch(snr=[0.1, 0.2, 0.4], seed=[0, 1, 2], init_scale=0.01)``. Results come back in
    input order; each equals :func:`simulate` of its configuration to rounding.

    Example:
        >>> rs = benign.simulate_batch(snr=[0.05, 0.3], n=20, d=100, m=5, steps=200)  # doctest: +SKIP
        >>> [round(r.test_error, 2) for r in rs]  # doctest: +SKIP
    """
    _check_optimizer(optimizer)
    if configs is None:
        configs = _zip_kwargs(kwargs)
    elif kwargs:
        raise ValueError(f"give either configs or keyword arguments, not both (got {sorted(kwargs)})")
    configs = _as_configs(configs)
    if not configs:
        raise ValueError("configs is empty: give at least one configuration")
    groups: dict[Config, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault(c.static(), []).append(i)
    for static, idx in groups.items():  # every size check before any compute
        _check_size(static, coef.resolve_engine(static, optimizer), len(idx))
    results: list[Result | None] = [None] * len(configs)
    for idx in groups.values():
        res = run_group([configs[i] for i in idx], optimizer, return_params, progress)
        for j, i in enumerate(idx):
            results[i] = _split(configs[i], res, j)
    return results  # type: ignore[return-value]


def _labels(name: str, y: Any, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,) or y.dtype.kind not in "iuf" or not np.all(np.isin(y, (-1, 1))):
        raise ValueError(f"{name} (labels of shape {y.shape}) is invalid: allowed are labels of shape ({n},) with values -1 and +1")
    return y.astype(np.float64)


def _patches(name: str, X: Any) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 3 or X.dtype.kind not in "iuf" or min(X.shape) < 1 or not np.all(np.isfinite(X)):
        raise ValueError(f"{name} (array of shape {X.shape}, dtype {X.dtype}) is invalid: allowed is a finite real array "
                         "of shape (n, P, d) (n inputs of P patches in R^d; add a patch axis of length 1 for plain vectors)")
    return X.astype(np.float64)


def custom_datasets(data: Any, test_data: Any) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Validate the user's ``data=(X, y)`` and ``test_data=(X_test, y_test)``: ``((X, y), (X_test, y_test))``
    as float64 numpy arrays.

    X: (n, P, d), X_test: (n_test, P, d) with the same P and d; y, y_test: labels in {-1, +1}.

    Raises:
        ValueError: naming ``data`` or ``test_data`` and what is allowed.
    """
    def pair(name: str, v: Any) -> tuple[Any, Any]:
        if not isinstance(v, (tuple, list)) or len(v) != 2:
            raise ValueError(f"{name}={type(v).__name__} is invalid: allowed is a pair (X, y) with X of shape (n, P, d) and y of shape (n,)")
        return v[0], v[1]

    X, y = pair("data", data)
    X = _patches("data X", X)
    y = _labels("data y", y, X.shape[0])
    if test_data is None:
        raise ValueError("test_data=None is invalid with data=(X, y): give test_data=(X_test, y_test), the set the test error is measured on")
    Xt, yt = pair("test_data", test_data)
    Xt = _patches("test_data X", Xt)
    if Xt.shape[1:] != X.shape[1:]:
        raise ValueError(f"test_data X of shape {Xt.shape} is invalid: allowed is shape (n_test, {X.shape[1]}, {X.shape[2]}) (P and d of data X)")
    yt = _labels("test_data y", yt, Xt.shape[0])
    return (X, y), (Xt, yt)


def simulate(
    *,
    n: int = 50,
    d: int = 500,
    m: int = 20,
    snr: float | None = None,
    mu_norm: float | None = None,
    mu: Any = None,
    sigma_p: float = 1.0,
    p: float = 0.1,
    noise: str = "orthogonal",
    data: Any = "signal_noise",
    test_data: Any = None,
    n_patches: int = 2,
    xor_angle: float = math.pi / 2,
    init_scale: float = 0.1,
    output_init: str = "constant",
    train_output: bool = True,
    output_value: float | None = None,
    sigma_0: float = 0.01,
    hidden_init: str = "gaussian",
    activation: str = "relu",
    q: float = 3.0,
    leaky_slope: float = 0.1,
    loss: str = "logistic",
    bias: bool = False,
    reduce: str = "sum",
    eta: float | None = None,
    eta_w: float | None = None,
    eta_a: float | None = None,
    steps: int = 1000,
    weight_decay: float = 0.0,
    stop: str = "none",
    stop_margin: float = 0.0,
    stop_loss: float = 0.01,
    optimizer=None,
    engine: str = "auto",
    sampler: str = "explicit",
    test_error_method: str = "gaussian",
    n_mc: int = 4096,
    n_mc_traj: int = 1024,
    n_test: int = 2000,
    n_checkpoints: int = 40,
    precision: str = "float32",
    seed: int = 0,
    return_params: bool = False,
    progress: bool | None = None,
) -> Result:
    """Train one two-layer CNN by full-batch gradient descent and measure it.

    Every argument is a keyword and is validated before any compute (a ``ValueError`` names the
    argument and its allowed range); their meanings are those of :func:`benign.make_config`.
    ``snr`` defaults to 0.1 when none of ``snr``, ``mu_norm``, ``mu`` is given; ``eta`` (both step
    sizes) defaults to 0.1. ``optimizer``: an optax ``GradientTransformation`` replacing plain GD
    (dense engine). ``return_params``: keep the final ``W`` (2, m, d), ``a``, ``b`` in ``Result.params``.
    ``progress``: a progress bar (``None``: only for runs estimated to take over 10 s).

    Your own data: ``data=(X, y)`` with ``X`` (n, P, d) real patches and ``y`` (n,) labels in {-1, +1},
    and ``test_data=(X_test, y_test)`` of the same P and d. ``n``, ``n_patches``, ``d`` and ``n_test``
    are then taken from the arrays (values given for them are ignored, as are the data-model arguments
    ``snr``/``mu_norm``/``mu``, ``sigma_p``, ``noise``, ``xor_angle``; ``p`` is 0: the labels are what
    they are), the run uses the dense engine (``engine='coef'`` is an error) and the test error is the
    error on the given test set at every checkpoint (``result.config.data == 'custom'``). The initial
    parameters are those of a signal-noise run with the same ``seed``, ``m`` and shapes, so
    ``simulate(data=benign.sample_data(...)[:2], ...)`` trains exactly that run's network.

    Returns:
        A :class:`benign.Result`: final metrics as attributes, trajectories at ``n_checkpoints``
        log-spaced steps in ``result.trajectory``.

    Example:
        >>> import benign
        >>> r = benign.simulate(snr=0.3, n=20, d=200, m=5, steps=300)
        >>> r.train_error, round(r.test_error, 2)  # doctest: +SKIP
        (0.0, 0.1)
    """
    cfg_kw = {k: v for k, v in locals().items()
              if k not in ("optimizer", "return_params", "progress", "eta", "eta_w", "eta_a", "snr", "mu_norm", "mu", "test_data")}
    if isinstance(data, str):
        if data == "custom":
            raise ValueError("data='custom' is invalid as a string: give your arrays, data=(X, y) and test_data=(X_test, y_test)")
        if test_data is not None:
            raise ValueError(f"test_data is only used with your own training data, data=(X, y) (got data={data!r})")
    else:
        train, test = custom_datasets(data, test_data)
        n_, P_, d_ = train[0].shape
        cfg_kw.update(data="custom", n=n_, n_patches=P_, d=d_, n_test=len(test[1]), p=0.0, test_error_method="test_set")
        cfg = make_config(mu_norm=0.0, eta=eta, eta_w=eta_w, eta_a=eta_a, **cfg_kw)
        _check_optimizer(optimizer)
        res = run_group([cfg], optimizer, return_params, progress, custom=(train, test))
        return _split(cfg, res, 0)
    cfg = make_config(snr=snr, mu_norm=mu_norm, mu=mu, eta=eta, eta_w=eta_w, eta_a=eta_a, **cfg_kw)
    _check_optimizer(optimizer)
    return simulate_batch([cfg], optimizer=optimizer, return_params=return_params, progress=progress)[0]
