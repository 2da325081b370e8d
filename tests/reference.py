"""Slow, obvious float64 numpy reference for the two-layer CNN (used by the tests only)."""

from __future__ import annotations

import numpy as np


def act(name: str, z: np.ndarray, q: float = 3.0, slope: float = 0.1) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, slope * z)
    return np.maximum(z, 0.0) ** q


def dact(name: str, z: np.ndarray, q: float = 3.0, slope: float = 0.1) -> np.ndarray:
    if name == "relu":
        return (z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, slope)
    return q * np.maximum(z, 0.0) ** (q - 1)


def forward(W, a, b, X, name="relu", reduce="sum", q=3.0, slope=0.1):
    """W: (2, m, d), a, b: (2, m), X: (n, P, d) -> f: (n,), written as explicit loops."""
    n, P, _ = X.shape
    f = np.zeros(n)
    for i in range(n):
        for j, s in enumerate((1.0, -1.0)):
            for r in range(W.shape[1]):
                h = sum(act(name, W[j, r] @ X[i, p] + b[j, r], q, slope) for p in range(P))
                if reduce == "mean":
                    h /= P
                f[i] += s * a[j, r] * h
    return f


def pointwise_loss(loss: str, z: np.ndarray) -> np.ndarray:
    if loss == "logistic":
        return np.logaddexp(0.0, -z)
    if loss == "hinge":
        return np.maximum(0.0, 1.0 - z)
    return np.exp(-z)


def loss_slope(loss: str, z: np.ndarray) -> np.ndarray:
    if loss == "logistic":
        return -1.0 / (1.0 + np.exp(z))
    if loss == "hinge":
        return np.where(z < 1, -1.0, 0.0)
    return -np.exp(-z)


def loss_and_grads(W, a, b, X, y, name="relu", reduce="sum", q=3.0, slope=0.1, loss="logistic"):
    """Mean loss (logistic, hinge or exponential) and its gradients (dW, da, db), derived by hand."""
    n, P, _ = X.shape
    f = forward(W, a, b, X, name, reduce, q, slope)
    z = y * f
    value = np.mean(pointwise_loss(loss, z))
    g = y * loss_slope(loss, z) / n  # dL/df_i
    dW, da, db = np.zeros_like(W), np.zeros_like(a), np.zeros_like(b)
    c = 1.0 / P if reduce == "mean" else 1.0
    for i in range(n):
        for j, s in enumerate((1.0, -1.0)):
            for r in range(W.shape[1]):
                for p in range(P):
                    pre = W[j, r] @ X[i, p] + b[j, r]
                    da[j, r] += g[i] * s * c * act(name, pre, q, slope)
                    k = g[i] * s * a[j, r] * c * dact(name, pre, q, slope)
                    dW[j, r] += k * X[i, p]
                    db[j, r] += k
    return value, dW, da, db
