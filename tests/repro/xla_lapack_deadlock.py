"""Minimal program behind an XLA:CPU deadlock (jaxlib's batched LAPACK kernels on the intra-op pool).

jaxlib runs a batched ``eigh`` (``lapack_dsyevd_ffi``) by fanning the batch out over XLA:CPU's intra-op
thread pool and blocking the calling pool thread on a counter until the pieces finish. When as many
such calls are in flight as the pool has threads (here: one eigh before a scan and one inside it,
independent, so XLA runs them concurrently), every pool thread waits for work that needs a free pool
thread: the process blocks forever at 0% CPU. On a two-core machine this program hangs in some runs.
benign's compiled programs contain no LAPACK call for this reason (see benign/core/testerror.py).

    python tests/repro/xla_lapack_deadlock.py      # prints "finished" unless it deadlocks
"""

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)


def factor(C):
    lam, Q = jnp.linalg.eigh(C.astype(jnp.float64))
    return ((Q * jnp.sqrt(jnp.maximum(lam, 0))[..., None, :]) @ Q.swapaxes(-1, -2)).astype(C.dtype)


def one(W):
    def rec(W):
        return factor(W @ W.T).sum()

    def seg(W, n):
        W = jax.lax.fori_loop(0, n, lambda _, w: w * 0.999 + 1e-3 * jnp.tanh(w), W)
        return W, rec(W)

    first = rec(W)  # independent of the scan: XLA may run it concurrently with the scan's eigh
    W, rest = jax.lax.scan(seg, W, jnp.array([1, 99], jnp.int32))
    return rest.sum() + first


if __name__ == "__main__":
    f = jax.jit(jax.vmap(one))
    rng = np.random.default_rng(0)
    for _ in range(100):
        jax.block_until_ready(f(jnp.asarray(rng.normal(size=(4, 40, 1000)).astype(np.float32))))
    print("finished")
