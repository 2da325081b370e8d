"""Tests for benign.redundancy and benign.imbalance (redundant representations, Doimo et al. 2022)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benign.redundancy import (
    chunk_errors,
    chunk_logits,
    chunk_predict,
    chunk_reconstruction,
    count_groups,
    critical_chunk_size,
    default_sizes,
    draw_chunk,
    error_scaling,
    loo_ridge_alpha,
    neuron_strata,
)
from benign.redundancy.imbalance import information_imbalance, neighbour_ranks

try:  # one BLAS thread: robust timings on small shared CPUs
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    if threadpool_limits is None:
        yield
    else:
        with threadpool_limits(limits=1, user_api="blas"):
            yield


# ----------------------------------------------------------------------------- helpers
def planted(g: int, *, k: int = 4, d: int = 16, n: int = 400, sigma: float = 0.3, seed: int = 0,
            data_seed: int | None = None):
    """g copies (d neurons each) of one k-dimensional representation, independent noise per neuron.

    Latent ``Z = 2 * onehot(y) + 0.5 * N(0, 1)`` (k = C classes) is shared by every copy; copy i is
    ``Z @ M_i + sigma * noise``. The readout ``A = [M_1 ... M_g]`` makes each neuron vote for the
    classes it encodes, so the restricted readout is meaningful. ``data_seed`` draws fresh inputs
    for the same network (same ``M``).
    """
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(g, k, d))
    if data_seed is not None:
        rng = np.random.default_rng([seed, data_seed])
    y = rng.integers(k, size=n)
    Z = 2.0 * np.eye(k)[y] + 0.5 * rng.normal(size=(n, k))
    H = np.concatenate([Z @ M[i] + sigma * rng.normal(size=(n, d)) for i in range(g)], axis=1)
    return H, (np.concatenate(list(M), axis=1), np.zeros(k)), y


def brute_imbalance(A: np.ndarray, B: np.ndarray) -> float:
    """Delta(A -> B) straight from the definition (mid-ranks, tied nearest neighbours averaged)."""
    n = len(A)
    dA = ((A[:, None, :] - A[None, :, :]) ** 2).sum(-1)
    dB = ((B[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    total = 0.0
    for i in range(n):
        others = [j for j in range(n) if j != i]
        dmin = min(dA[i, j] for j in others)
        nns = [j for j in others if dA[i, j] == dmin]
        ranks = []
        for j in nns:
            less = sum(dB[i, k] < dB[i, j] for k in others)
            equal = sum(dB[i, k] == dB[i, j] for k in others)
            ranks.append(less + (equal + 1) / 2)
        total += np.mean(ranks)
    return 2.0 / n * total / n


# ----------------------------------------------------------------------------- information imbalance
def test_imbalance_identical_is_near_zero():
    A = np.random.default_rng(0).normal(size=(300, 5))
    d_ab, d_ba = information_imbalance(A, A)
    assert d_ab == pytest.approx(2 / 300) and d_ba == pytest.approx(2 / 300)


def test_imbalance_independent_is_near_one():
    rng = np.random.default_rng(1)
    d_ab, d_ba = information_imbalance(rng.normal(size=(400, 3)), rng.normal(size=(400, 3)))
    assert abs(d_ab - 1) < 0.15 and abs(d_ba - 1) < 0.15


def test_imbalance_is_asymmetric_for_a_function_of_the_input():
    A = np.random.default_rng(2).normal(size=(300, 2))
    d_ab, d_ba = information_imbalance(A, A[:, 0])  # B = first coordinate of A
    assert d_ab < 0.15 < 0.4 < d_ba


def test_imbalance_matches_brute_force_without_ties():
    rng = np.random.default_rng(3)
    A, B = rng.normal(size=(15, 3)), rng.normal(size=(15, 2))
    B[:, 0] += A[:, 0]
    d_ab, d_ba = information_imbalance(A, B)
    assert d_ab == pytest.approx(brute_imbalance(A, B)) and d_ba == pytest.approx(brute_imbalance(B, A))
    # no ties: the textbook definition with a single nearest neighbour and 1 + #closer
    dA = ((A[:, None] - A[None]) ** 2).sum(-1) + np.diag(np.full(15, np.inf))
    dB = ((B[:, None] - B[None]) ** 2).sum(-1) + np.diag(np.full(15, np.inf))
    nn = dA.argmin(1)
    ranks = [1 + np.sum(dB[i] < dB[i, nn[i]]) for i in range(15)]
    assert d_ab == pytest.approx(2 / 15 * np.mean(ranks))


@settings(deadline=None)
@given(st.integers(4, 9), st.integers(0, 10_000))
def test_imbalance_matches_brute_force_with_ties(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 3, size=(n, 2)).astype(float)  # many exact ties and duplicates
    B = rng.integers(0, 3, size=(n, 1)).astype(float)
    d_ab, d_ba = information_imbalance(A, B)
    assert d_ab == pytest.approx(brute_imbalance(A, B)) and d_ba == pytest.approx(brute_imbalance(B, A))


def test_neighbour_ranks_are_mid_ranks():
    R = neighbour_ranks(np.array([0.0, 1.0, 1.0, 3.0]))
    assert R[0].tolist() == [4.0, 1.5, 1.5, 3.0]  # self last, tie at distance 1 shares rank 1.5


def test_imbalance_subsampling_is_seeded():
    rng = np.random.default_rng(4)
    A, B = rng.normal(size=(500, 3)), rng.normal(size=(500, 3))
    assert information_imbalance(A, B, max_points=200, rng=7) == information_imbalance(A, B, max_points=200, rng=7)
    assert information_imbalance(A, B, max_points=500) == information_imbalance(A, B)
    with pytest.raises(ValueError, match="rng"):
        information_imbalance(A, B, max_points=200)
    with pytest.raises(ValueError, match="max_points"):
        information_imbalance(A, B, max_points=2, rng=0)
    with pytest.raises(ValueError, match="A and B"):
        information_imbalance(A, B[:10])


# ----------------------------------------------------------------------------- chunk readout
def test_full_width_chunk_reproduces_network_predictions():
    rng = np.random.default_rng(5)
    X, W1 = rng.normal(size=(60, 8)), rng.normal(size=(8, 24))
    H = np.maximum(X @ W1, 0.0)  # a tiny two-layer ReLU network, per-class readout
    A, b = rng.normal(size=(3, 24)), rng.normal(size=3)
    logits = H @ A.T + b
    assert np.array_equal(chunk_logits(H, (A, b), np.arange(24)), logits)
    assert np.array_equal(chunk_predict(H, (A, b), np.arange(24)), logits.argmax(1))
    y = rng.integers(3, size=60)
    res = chunk_errors(H, (A, b), y, [24], 5, 0)
    assert res.mean[0] == np.mean(logits.argmax(1) != y) and res.std[0] == 0.0
    # binary signed readout (two-layer CNN form): logit = H @ a + b
    a, b0 = rng.normal(size=24), 0.3
    f = H @ a + b0
    assert np.array_equal(chunk_logits(H, (a, b0)), f)
    assert np.array_equal(chunk_predict(H, (a, b0), np.arange(24)), np.where(f > 0, 1, -1))
    ypm = np.where(rng.random(60) < 0.5, 1, -1)
    assert chunk_errors(H, (a, b0), ypm, [24], 3, 0).mean[0] == np.mean(np.where(f > 0, 1, -1) != ypm)
    y01 = (ypm > 0).astype(int)  # {0, 1} labels are read as {-1, +1}
    assert chunk_errors(H, (a, b0), y01, [24], 3, 0).mean[0] == np.mean(np.where(f > 0, 1, -1) != ypm)


def test_balanced_chunks_follow_the_strata():
    rng = np.random.default_rng(6)
    a = np.concatenate([np.abs(rng.normal(size=30)), -np.abs(rng.normal(size=10))])
    strata = neuron_strata((a, 0.0), 40)
    assert strata.tolist() == [1] * 30 + [0] * 10
    for w in (1, 4, 8, 20, 39):
        c = draw_chunk(40, w, rng, strata)
        assert len(np.unique(c)) == w and np.all(np.diff(c) > 0)
        n_pos = np.sum(strata[c] == 1)
        assert np.floor(0.75 * w) <= n_pos <= np.ceil(0.75 * w)
    assert np.array_equal(draw_chunk(40, 40, rng, strata), np.arange(40))
    A = np.eye(3)[[0, 0, 1, 2, 2, 2]].T  # (3, 6): neuron j votes for class argmax_c A[c, j]
    assert neuron_strata((A, np.zeros(3)), 6).tolist() == [0, 0, 1, 2, 2, 2]


def test_same_seed_gives_same_chunks_on_train_and_test():
    H, ro, y = planted(2, n=100)
    e1 = chunk_errors(H, ro, y, [4, 8], 10, 123)
    e2 = chunk_errors(H, ro, y, [4, 8], 10, 123)
    assert np.array_equal(e1.errors, e2.errors)
    assert np.all(np.diff(chunk_errors(H, ro, y, [1, 8, 32], 20, 0).mean) < 0)  # more neurons, less error


def test_nested_chunks_match_the_direct_restricted_readout():
    H, ro, y = planted(4, n=300)  # W = 64
    W = H.shape[1]
    res = chunk_errors(H, ro, y, [7, 3, 20], 2, 5)  # nested (default for uniform chunks)
    rng = np.random.default_rng(5)
    for d in range(2):
        perm = rng.permutation(W)
        for k, w in enumerate([7, 3, 20]):
            assert res.errors[k, d] == np.mean(chunk_predict(H, ro, np.sort(perm[:w])) != y)
    # same distribution as independent chunks: means agree within sampling error
    a = chunk_errors(H, ro, y, [2, 8], 400, 0)
    b = chunk_errors(H, ro, y, [2, 8], 400, 1, nested=False)
    assert np.all(np.abs(a.mean - b.mean) < 4 * np.hypot(a.std, b.std) / np.sqrt(400) + 1e-9)


# ----------------------------------------------------------------------------- reconstruction
def test_reconstruction_full_width_and_dead_neurons():
    H, _, _ = planted(2, n=200)
    H = np.concatenate([H, np.full((200, 3), 0.7), np.zeros((200, 1))], axis=1)  # 4 dead neurons
    rec = chunk_reconstruction(H, [1, 4, 16, 36], 4, 0)
    assert rec.n_dead == 4 and rec.n_eval == 200
    assert rec.r2_mean[-1] == pytest.approx(1.0, abs=1e-9) and np.isnan(rec.corr_out_mean[-1])
    assert np.all(np.isfinite(rec.r2_mean)) and np.all(np.isfinite(rec.corr_all_mean))
    assert np.all(np.diff(rec.r2_mean) > 0) and 0 <= rec.corr_out_mean[0] <= 1
    ho = chunk_reconstruction(H, [4, 16], 4, 0, holdout=0.3)
    assert ho.n_eval == 60 and np.all(ho.r2_mean < 1)


# ----------------------------------------------------------------------------- groups
def test_planted_copies_give_constant_wc_and_growing_groups():
    # k = 2 latent dimensions: the residual correlation crosses corr_max = 0.1 between w = 8 (~0.15)
    # and w = 16 (~0.08), away from the threshold, so the verdict is not a coin flip
    results = {g: count_groups(*planted(g, k=2), rng=0, n_draws=20, n_draws_rec=6) for g in (2, 4, 8)}
    w_cs = {g: r.w_c for g, r in results.items()}
    assert all(r.found for r in results.values()), w_cs
    assert len(set(w_cs.values())) == 1 and 4 <= w_cs[2] <= 16, w_cs  # w_c set by k, not by g
    groups = [results[g].groups for g in (2, 4, 8)]
    assert groups[0] < groups[1] < groups[2] and groups[2] / groups[0] == pytest.approx(4.0), groups


def test_unstructured_data_has_no_plateau():
    rng = np.random.default_rng(8)
    H = np.maximum(rng.normal(size=(400, 64)), 0.0)  # independent ReLU features
    A = rng.normal(size=(4, 64))
    y = np.argmax(H @ A.T, axis=1)
    res = count_groups(H, (A, np.zeros(4)), y, rng=0, n_draws=20, n_draws_rec=6)
    assert not res.found and res.w_c == 64 and res.groups == 1.0
    assert res.r2[res.sizes == 32][0] < 0.7  # half the layer explains about half the variance


def test_planted_training_error_criterion():
    H, ro, y = planted(4, n=300)
    Ht, _, yt = planted(4, n=300, data_seed=1)  # fresh "training" inputs, same network
    strict = count_groups(H, ro, y, rng=0, H_train=Ht, labels_train=yt, n_draws=20, n_draws_rec=4,
                          train_err_max=0.0)
    loose = count_groups(H, ro, y, rng=0, n_draws=20, n_draws_rec=4)
    assert strict.train_err is not None and loose.train_err is None and loose.train_err_max == np.inf
    assert strict.w_c >= loose.w_c


def test_critical_chunk_size_rules():
    sizes = [1, 2, 4, 8, 16]
    r2 = [0.3, 0.97, 0.5, 0.97, 1.0]  # size 2 qualifies alone: no plateau there
    res = critical_chunk_size(sizes, 16, r2=r2, corr_out=[0.3, 0.05, 0.3, 0.05, np.nan])
    assert res.found and res.w_c == 8 and res.groups == 2.0
    assert res.qualifies.tolist() == [False, True, False, True, False]
    none = critical_chunk_size(sizes, 16, r2=[0.1, 0.2, 0.3, 0.4, 1.0])
    assert not none.found and none.w_c == 16 and none.groups == 1.0
    tr = critical_chunk_size(sizes, 16, r2=[1.0] * 5, train_err=[0.5, 0.2, 0.02, 0.0, 0.0], train_err_max=0.0)
    assert tr.w_c == 8 and tr.corr_max == np.inf
    shuffled = critical_chunk_size([8, 1, 16, 4, 2], 16, r2=[0.97, 0.3, 1.0, 0.5, 0.97])
    assert shuffled.w_c == 8


def test_default_sizes():
    assert default_sizes(16).tolist() == [1, 2, 4, 8, 16]
    assert default_sizes(24).tolist() == [1, 2, 4, 8, 16, 24]
    assert default_sizes(1).tolist() == [1]
    assert default_sizes(16, per_octave=2).tolist() == [1, 2, 3, 4, 6, 8, 11, 16]
    fine = default_sizes(4096, per_octave=4)
    assert fine[-1] == 4096 and np.all(np.diff(fine) > 0) and {64, 128, 1024, 2048} <= set(fine.tolist())


# ----------------------------------------------------------------------------- error scaling
def test_error_scaling_recovers_exponent():
    w = np.array([8, 16, 32, 64, 128, 256, 512])
    err = 0.03 + 0.4 * w**-0.5
    fit = error_scaling(w, err, 0.03, w_min=32)
    assert fit.slope == pytest.approx(-0.5, abs=1e-9) and fit.stderr < 1e-6
    assert fit.sizes_used.tolist() == [32, 64, 128, 256, 512] and fit.n_dropped == 0
    noisy = err * np.exp(np.random.default_rng(9).normal(0, 0.05, size=w.size))
    fit2 = error_scaling(w, noisy, 0.03)
    assert abs(fit2.slope + 0.5) < 3 * fit2.stderr + 0.1 and fit2.stderr > 0
    err[-2:] = 0.029  # below the asymptote: dropped, counted
    fit3 = error_scaling(w, err, 0.03, w_min=16)
    assert fit3.n_dropped == 2 and fit3.sizes_used.tolist() == [16, 32, 64, 128]
    with pytest.raises(ValueError, match="sizes"):
        error_scaling(w, err, 0.03, w_min=128)


# ----------------------------------------------------------------------------- fixed reconstruction
def test_pure_noise_control_has_one_group():
    """N = 100 inputs of W = 400 independent features: nothing is redundant, whatever the fitting mode.

    In-sample with a tiny ridge, any chunk of w >= N - 1 columns fits the centred rows exactly
    (R^2 = 1, zero residuals), so such sizes must not be evaluated."""
    rng = np.random.default_rng(11)
    H = rng.normal(size=(100, 400))
    A = rng.normal(size=(3, 400))
    y = np.argmax(H @ A.T, axis=1)
    ro = (A, np.zeros(3))
    for fit in ("auto", "holdout", "in-sample"):
        res = count_groups(H, ro, y, rng=0, fit=fit, n_draws=10, n_draws_rec=4)
        assert res.groups == 1.0 and not res.found and res.w_c == 400 and res.w_star == 400.0, fit
    # why the sizes are skipped: the in-sample fit of 128 noise columns to 100 centred rows is exact
    Hc = H - H.mean(0)
    S = np.arange(128)
    E = Hc - Hc[:, S] @ np.linalg.lstsq(Hc[:, S], Hc, rcond=None)[0]
    assert np.sum(E**2) / np.sum(Hc**2) < 1e-12
    rec = chunk_reconstruction(H, default_sizes(400), 3, 0, alpha=1e-8)
    assert rec.skipped.tolist() == [w >= 99 and w < 400 for w in default_sizes(400)]
    assert np.all(np.isnan(rec.r2_mean[rec.skipped])) and np.all(rec.r2_mean[~rec.skipped][:-1] < 0.8)


def _brute_loo(X, Y, alpha):
    """Leave-one-out squared error of ridge with an unpenalised intercept, refitting n times."""
    n = X.shape[0]
    err = 0.0
    for i in range(n):
        keep = np.arange(n) != i
        Xm, Ym = X[keep].mean(0), Y[keep].mean(0)
        Xk, Yk = X[keep] - Xm, Y[keep] - Ym
        beta = np.linalg.solve(Xk.T @ Xk + alpha * np.eye(X.shape[1]), Xk.T @ Yk)
        err += np.sum((Y[i] - Ym - (X[i] - Xm) @ beta) ** 2)
    return err / (n * Y.shape[1])


def test_loo_alpha_matches_refitting_and_sklearn():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6))
    Y = X @ rng.normal(size=(6, 3)) + rng.normal(size=(40, 3))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    alphas = np.logspace(-3, 3, 7)
    best, loo = loo_ridge_alpha(Xc, Yc, alphas)
    ref = np.array([_brute_loo(X, Y, a) for a in alphas])
    np.testing.assert_allclose(loo, ref, rtol=1e-9)
    sklearn = pytest.importorskip("sklearn.linear_model")
    assert best == sklearn.RidgeCV(alphas=alphas).fit(X, Y).alpha_


def test_reconstruction_on_separate_rows_matches_sklearn_ridge():
    lm = pytest.importorskip("sklearn.linear_model")
    H, _, _ = planted(2, n=300)
    Hf, He = H[:200], H[200:]
    W, w, alpha = H.shape[1], 8, 0.5
    rec = chunk_reconstruction(He, [w], 1, 42, alpha, H_fit=Hf)
    S = draw_chunk(W, w, np.random.default_rng(42))  # the first draw of the same generator
    pred = lm.Ridge(alpha=alpha).fit(Hf[:, S], Hf).predict(He[:, S])
    ref = 1 - np.sum((He - pred) ** 2) / np.sum((He - Hf.mean(0)) ** 2)
    assert rec.mode == "separate" and rec.n_fit == 200 and rec.n_eval == 100
    assert rec.r2_mean[0] == pytest.approx(ref, rel=1e-9)
    out = np.setdiff1d(np.arange(W), S)
    ref_out = 1 - np.sum((He - pred)[:, out] ** 2) / np.sum((He - Hf.mean(0))[:, out] ** 2)
    assert rec.r2_out_mean[0] == pytest.approx(ref_out, rel=1e-9)
    cv = chunk_reconstruction(He, [w, 16], 3, 0, "cv", H_fit=Hf)
    assert np.all(cv.alpha > 0) and np.all(cv.r2_mean > 0.5)


def test_subsampled_residual_correlation_estimates_the_full_mean():
    H, _, _ = planted(8, k=2, n=400)  # W = 128
    full = chunk_reconstruction(H, [8, 32], 20, 0, 1e-3, holdout=0.5)
    sub = chunk_reconstruction(H, [8, 32], 20, 0, 1e-3, holdout=0.5, max_corr=32)
    np.testing.assert_allclose(sub.corr_out_mean, full.corr_out_mean, rtol=0.15)
    np.testing.assert_allclose(sub.r2_mean, full.r2_mean, rtol=1e-12)  # same chunks, R^2 not subsampled
    tsub = chunk_reconstruction(H, [8, 32], 20, 0, 1e-3, holdout=0.5, max_targets=64)
    np.testing.assert_allclose(tsub.r2_mean, full.r2_mean, atol=0.01)  # 64 of 128 targets estimate R^2
    capped = chunk_reconstruction(H, [8, 32, 64], 2, 0, 1e-3, holdout=0.5, max_size=32)
    assert capped.skipped.tolist() == [False, False, True] and np.isnan(capped.r2_mean[2])


def test_critical_size_skips_unmeasured_sizes_and_interpolates():
    sizes = [1, 2, 4, 8, 16, 32, 64]
    r2 = [0.5, 0.7, 0.9, 0.98, 0.99, np.nan, 1.0]  # 32 not measured, 64 = W
    res = critical_chunk_size(sizes, 64, r2=r2)
    assert res.found and res.w_c == 8 and res.groups == 8.0
    assert res.w_star == pytest.approx(4 * 2**0.625)  # 0.95 is 5/8 of the way from 0.90 to 0.98
    assert res.groups_star == pytest.approx(64 / res.w_star)
    # two criteria failing at w = 4: the later crossing wins
    tr = [0.5, 0.3, 0.05, 0.0, 0.0, 0.0, 0.0]
    res2 = critical_chunk_size(sizes, 64, r2=r2, train_err=tr, train_err_max=0.01)
    assert res2.w_star == pytest.approx(4 * 2**0.8)
    # unmeasured sizes inherit the reconstruction verdict of the largest measured one
    r2_short = [0.5, 0.7, 0.9, 0.98, 0.99, np.nan, np.nan, 1.0]
    late = critical_chunk_size(sizes + [128], 128, r2=r2_short, train_err=[0.5, 0.3, 0.2, 0.1, 0.05, 0.0, 0.0, 0.0])
    assert late.found and late.w_c == 32 and late.w_star == pytest.approx(16 * 2**0.8)
    assert np.isnan(late.r2[5])  # the stored curve is the measured one
    first = critical_chunk_size(sizes, 64, r2=[0.99] * 7)
    assert first.w_c == 1 and first.w_star == 1.0
    none = critical_chunk_size(sizes, 64, r2=[0.5] * 7)
    assert not none.found and none.w_star == 64.0 and none.groups_star == 1.0


# ----------------------------------------------------------------------------- bad input
def test_bad_input_names_the_parameter():
    H, ro, y = planted(2, n=50)
    W = H.shape[1]
    cases = [
        (lambda: chunk_errors(H, ro, y[:-1], [2], 3, 0), "labels"),
        (lambda: chunk_errors(H, ro, y + 10, [2], 3, 0), "labels"),
        (lambda: chunk_errors(H, ro, y, [0, 2], 3, 0), "sizes"),
        (lambda: chunk_errors(H, ro, y, [W + 1], 3, 0), "sizes"),
        (lambda: chunk_errors(H, ro, y, [2.5], 3, 0), "sizes"),
        (lambda: chunk_errors(H, ro, y, [2], 0, 0), "n_draws"),
        (lambda: chunk_errors(H, (ro[0][:, :-1], ro[1]), y, [2], 3, 0), "readout"),
        (lambda: chunk_errors(H, (ro[0], ro[1][:-1]), y, [2], 3, 0), "readout"),
        (lambda: chunk_errors(H, (np.ones(W), np.ones(2)), y, [2], 3, 0), "readout"),
        (lambda: chunk_errors(H[:, :, None], ro, y, [2], 3, 0), "H"),
        (lambda: chunk_errors(H, (np.ones(W), 0.0), y, [2], 3, 0), "labels"),  # labels 0..3: not binary
        (lambda: chunk_reconstruction(H, [W + 1], 2, 0), "sizes"),
        (lambda: chunk_reconstruction(H, [2], 2, 0, holdout=1.0), "holdout"),
        (lambda: chunk_reconstruction(H, [2], 2, 0, alpha=-1.0), "alpha"),
        (lambda: chunk_reconstruction(H, [2], 2, 0, strata=np.zeros(3)), "strata"),
        (lambda: count_groups(H, ro, y, rng=0, H_train=H[:, :-1], labels_train=y), "H_train"),
        (lambda: count_groups(H, ro, y, rng=0, H_train=H), "labels_train"),
        (lambda: critical_chunk_size([1, 2], 4, r2=[0.5]), "r2"),
        (lambda: critical_chunk_size([1, 8], 4, r2=[0.5, 1.0]), "sizes"),
        (lambda: error_scaling([1, 2, 4], [0.5, 0.4], 0.1), "sizes"),
        (lambda: draw_chunk(10, 11, np.random.default_rng(0)), "w"),
        (lambda: chunk_reconstruction(H, [2], 2, 0, alpha="loo"), "alpha"),
        (lambda: chunk_reconstruction(H, [2], 2, 0, max_corr=1), "max_corr"),
        (lambda: chunk_reconstruction(H, [2], 2, 0, cv_targets=0), "cv_targets"),
        (lambda: chunk_reconstruction(H, [2], 2, 0, max_targets=1), "max_targets"),
        (lambda: chunk_reconstruction(H, [2], 2, 0, max_size=0), "max_size"),
        (lambda: chunk_reconstruction(H, [2], 2, 0, H_fit=H[:, :-1]), "H_fit"),
        (lambda: count_groups(H, ro, y, rng=0, fit="test"), "fit"),
        (lambda: count_groups(H, ro, y, rng=0, fit="train"), "H_train"),
        (lambda: default_sizes(16, per_octave=0), "per_octave"),
        (lambda: default_sizes(0), "W"),
    ]
    for fn, name in cases:
        with pytest.raises(ValueError, match=name):
            fn()
