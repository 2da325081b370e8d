"""Exact d-free sampler of a run's Gram quantities (docs/science.md, "The coefficient engine").

The coefficient engine needs a run's data and initial filters only through inner products among the
signal vectors, the noise patches ``xi_i`` and the filters ``w_r(0)`` (:class:`benign.core.coef.Basis`).
Their joint law can be drawn without any d-dimensional vector:

- Split ``R^d`` into the signal span (k orthonormal directions ``Q``) and its complement (d - k dims).
  A standard Gaussian vector has independent ``N(0, 1)`` components on ``Q`` and an independent
  ``N(0, I_{d-k})`` remainder. Orthogonal noise (``noise='orthogonal'``, ``|mu| > 0``) has zero
  components on ``Q``.
- The Gram matrix of N independent ``N(0, I_{d-k})`` remainders is Wishart ``W_N(d - k, I)``, drawn
  by the Bartlett decomposition ``L L^T``: L lower triangular, ``L_ii = sqrt(chi2_{d-k-i})``, ``L_ij ~ N(0, 1)``
  below the diagonal: O(N^2) normals and N chi-squares for any d.
- Gaussian ``W(0)`` (``hidden_init='gaussian'``): the noise remainders and the filters' remainders
  form one Wishart draw of size ``n(P-1) + 2m``.
- Any other ``W(0)`` law (PyTorch's uniform init): ``W(0)`` is drawn explicitly (the same numbers as
  the explicit sampler), its own Gram is computed (O(m^2 d)) and factored, ``M_perp = L_w L_w^T``.
  A noise remainder has i.i.d. ``N(0, 1)`` coordinates ``c`` on an orthonormal basis of the filters'
  span (so ``<w_perp, g> = L_w c``) and a Wishart remainder with ``d - k - 2m`` degrees of freedom.

Every draw is a standard quantity (normals, chi-squares) from keys that depend only on the seed and
the shape fields, scaled afterwards by ``sigma_p``, ``sigma_0`` and ``|mu|``: randomness stays paired
across dynamic hyper-parameters, exactly as for the explicit sampler (but the two samplers draw
different numbers: equal in law, not run by run). Labels, the output layer and the bias are drawn as
by the explicit sampler, and so is ``W(0)`` for a non-Gaussian init.

Precision: the chi-squares are drawn as ``Gamma((d-k-i)/2)`` in float64 whenever 64-bit mode is on
(always inside :func:`benign.simulate`), and enter only as ``sqrt(dof) * sqrt(chi2 / dof)``, a ratio
near 1, so a float32 run at d = 10^9 sees the same draw as a float64 run (to float32 rounding).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from . import data as data_mod
from . import keys, model, testerror
from .config import Config

#: ``sampler='auto'`` uses the Gram sampler when ``d >= AUTO_FACTOR * (k + n(P-1) + 2m)``.
AUTO_FACTOR = 8
#: Tags folded into the noise key for the Gram sampler's streams (the explicit sampler uses the key itself).
_TAG_WISHART, _TAG_XI_SIGNAL, _TAG_XI_FILTERS, _TAG_W_SIGNAL = 0x6A1, 0x6A2, 0x6A3, 0x6A4


def sizes(cfg: Config) -> tuple[int, int, int]:
    """``(k, n_xi, two_m)``: signal directions, noise patches ``n (P-1)``, filters ``2m``."""
    return cfg.n_signal, cfg.n * (cfg.n_patches - 1), 2 * cfg.m


def unsupported(cfg: Config) -> str | None:
    """Why ``sampler='gram'`` cannot run ``cfg`` (a sentence naming the argument), or ``None``.

    The sampler needs the Gaussian test-error estimator (a test set would be d-dimensional) and
    ``d > k + n(P-1) + 2m`` (the Wishart remainder needs at least as many degrees of freedom as vectors).
    """
    k, n_xi, two_m = sizes(cfg)
    if cfg.test_error_method != "gaussian":
        return f"test_error_method={cfg.test_error_method!r} is invalid with sampler='gram': allowed is 'gaussian'"
    if cfg.engine == "dense":
        return "engine='dense' is invalid with sampler='gram': the dense engine needs explicit data (use engine='coef' or 'auto')"
    if cfg.d <= k + n_xi + two_m:
        return (f"d={cfg.d!r} is invalid with sampler='gram': allowed range is d > k + n(n_patches-1) + 2m = {k + n_xi + two_m} "
                "(use sampler='explicit' or 'auto')")
    return None


def resolve_sampler(cfg: Config, optimizer=None) -> str:
    """``'gram'`` or ``'explicit'`` for ``cfg.sampler`` (``'auto'``: gram where exact and ``d`` is large).

    Raises ``ValueError`` for ``sampler='gram'`` where it is not exact (:func:`unsupported`) or with an
    optax optimizer (which needs the dense engine and so explicit data).
    """
    if cfg.sampler == "explicit":
        return "explicit"
    why = unsupported(cfg)
    if cfg.sampler == "gram":
        if why is not None:
            raise ValueError(why)
        if optimizer is not None:
            raise ValueError("sampler='gram' runs the coefficient engine (plain GD) and cannot use an optax optimizer; use sampler='explicit'")
        return "gram"
    k, n_xi, two_m = sizes(cfg)
    return "gram" if why is None and optimizer is None and cfg.d >= AUTO_FACTOR * (k + n_xi + two_m) else "explicit"


def bartlett(key: jax.Array, size: int, dof, dtype=jnp.float32) -> jax.Array:
    """Lower-triangular ``L`` (size, size) with ``L L^T ~ Wishart(dof, I_size)`` (Bartlett decomposition).

    ``dof`` (static int or traced scalar) must exceed ``size - 1``. The diagonal is
    ``sqrt(dof - i) * sqrt(chi2_{dof-i} / (dof - i))``; the chi-squares are ``2 Gamma((dof - i)/2)``,
    drawn in float64 when 64-bit mode is on (else float32), so the ratio keeps its ~``sqrt(2/dof)``
    fluctuation at any d.
    """
    k_off, k_diag = jax.random.split(key)
    z = jax.random.normal(k_off, (size, size), jnp.float32).astype(dtype)
    wide = jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32
    df = jnp.asarray(dof, wide) - jnp.arange(size, dtype=wide)
    ratio = 2.0 * jax.random.gamma(k_diag, 0.5 * df, dtype=wide) / df  # chi2_df / df, near 1
    diag = (jnp.sqrt(df) * jnp.sqrt(ratio)).astype(dtype)
    return jnp.tril(z, -1) + jnp.diag(diag)


def signal_frame(cfg: Config, mu_dir: jax.Array | None, dtype) -> jax.Array | None:
    """Orthonormal rows (k, d) spanning the signal directions (``mu_dir``, else ``e_1 [, e_2]``), only
    needed for an explicit ``W(0)``; ``None`` when ``mu_dir`` is ``None`` (the first k coordinates)."""
    return None if mu_dir is None else jnp.asarray(mu_dir, dtype)[None, :]


def sample(cfg: Config, key: jax.Array, hyper, mu_dir: jax.Array | None = None):
    """Draw one run's Gram quantities: ``(basis, a (2, m), b (2, m), hyper cast to the run's dtype)``.

    ``basis`` is a :class:`benign.core.coef.Basis` with the law of :func:`benign.core.coef.gram_basis`
    of the explicit sampler's data. O((n P + m)^2) work for Gaussian ``W(0)``; O(m^2 d) otherwise.
    """
    from .coef import Basis, signal_whitener
    from .dynamics import Hyper, dtype_of

    why = unsupported(cfg)
    if why is not None:
        raise ValueError(why)
    dtype = dtype_of(cfg)
    k, n_xi, two_m = sizes(cfg)
    hyper = Hyper(*(jnp.asarray(h, dtype) for h in hyper))
    rk = keys.split_run(key)
    k_lab, k_noise = keys.data_keys(rk.data)
    y, y_clean = data_mod.sample_labels(k_lab, cfg.n, hyper.p, dtype)
    S = data_mod.signal_coords(cfg, k_lab, y_clean)
    Uc = data_mod.signal_vectors(dataclasses.replace(cfg, d=k), hyper.mu_norm, hyper.xor_angle, None, dtype)  # (k, k) on Q
    isotropic = (cfg.noise == "isotropic") | (hyper.mu_norm == 0)  # orthogonal noise with no signal is isotropic
    s_xi = jnp.where(isotropic, jax.random.normal(jax.random.fold_in(k_noise, _TAG_XI_SIGNAL), (n_xi, k), jnp.float32).astype(dtype), 0.0)
    sp, s0 = hyper.sigma_p, hyper.sigma_0
    kw = keys.init_keys(rk.init)[0]
    k_wish = jax.random.fold_in(k_noise, _TAG_WISHART)
    if cfg.hidden_init == "gaussian":
        _, a0, b0 = model.init_params(rk.init, dataclasses.replace(cfg, d=1), hyper.init_scale, s0, dtype)  # a, b are d-free
        L = bartlett(k_wish, n_xi + two_m, cfg.d - k, dtype)
        Wish = L @ L.T  # (n_xi + 2m)^2: rows [xi; w]
        a_w = jax.random.normal(jax.random.fold_in(kw, _TAG_W_SIGNAL), (two_m, k), jnp.float32).astype(dtype)
        gram_xx, gram_wx = Wish[:n_xi, :n_xi], s0 * Wish[n_xi:, :n_xi]
        M0 = s0**2 * (a_w @ a_w.T + Wish[n_xi:, n_xi:])
        a_w = s0 * a_w
    else:
        W, a0, b0 = model.init_params(rk.init, cfg, hyper.init_scale, s0, dtype)  # the explicit sampler's W(0)
        Wf = W.reshape(two_m, cfg.d)
        Q = signal_frame(cfg, mu_dir, dtype)
        a_w = Wf[:, :k] if Q is None else Wf @ Q.T
        M0 = Wf @ Wf.T
        Lw = testerror.factor(M0 - a_w @ a_w.T)  # (2m, 2m): the filters' remainders in an orthonormal frame
        c = jax.random.normal(jax.random.fold_in(k_noise, _TAG_XI_FILTERS), (n_xi, two_m), jnp.float32).astype(dtype)
        Lr = bartlett(k_wish, n_xi, cfg.d - k - two_m, dtype)
        gram_xx, gram_wx = c @ c.T + Lr @ Lr.T, Lw @ c.T
    G = jnp.zeros((k + n_xi, k + n_xi), dtype)
    G = G.at[:k, :k].set(Uc @ Uc.T)
    cross = sp * (Uc @ s_xi.T)  # <u_t, xi_i>
    G = G.at[:k, k:].set(cross).at[k:, :k].set(cross.T)
    G = G.at[k:, k:].set(sp**2 * (s_xi @ s_xi.T + gram_xx))
    P0 = jnp.concatenate([a_w @ Uc.T, sp * (a_w @ s_xi.T + gram_wx)], axis=1).reshape(2, cfg.m, k + n_xi)
    basis = Basis(G=G, P0=P0, N0=jnp.diagonal(M0).reshape(2, cfg.m), M0=M0, S=S, y=y, y_clean=y_clean, Qs=signal_whitener(G[:k, :k]))
    return basis, a0, b0, hyper
