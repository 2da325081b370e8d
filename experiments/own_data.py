"""Your own data: simulate(data=(X, y), test_data=(X_test, y_test)).

Two checks, saved to experiments/data/own_data.json:

(a) the arrays of benign.sample_data fed back as your own data train exactly the simulated run (float64,
    dense engine): the largest difference of the training-loss trajectories and of the final filters;
(b) a data set the package does not generate: one vector per input (P = 1 patch), x = y_hat mu + xi with
    Student-t (3 degrees of freedom) noise scaled to unit variance per coordinate, mu along a random unit
    direction, label flips p = 0.1; n = 40, d = 400, m = 10, 1000 GD steps, fixed output 1/m, 6 signal norms,
    4 seeds. Test error on 2000 fresh clean-labelled inputs.

    python experiments/own_data.py     # under a minute on 2 CPU cores
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from _common import DATA, compile_cache, parser, refresh_summaries

import benign

MU = [1.0, 2.0, 3.0, 4.0, 6.0, 8.0]
N, D, N_TEST, P_FLIP = 40, 400, 2000, 0.1


def student_data(rng: np.random.Generator, n: int, u: np.ndarray, mu: float, p: float) -> tuple[np.ndarray, np.ndarray]:
    """(X (n, 1, d), y (n,)): x = y_hat mu u + t_3 noise / sqrt(3) (unit variance), y = y_hat flipped with prob p."""
    y_hat = rng.choice([-1.0, 1.0], size=n)
    xi = rng.standard_t(3, size=(n, u.size)) / np.sqrt(3.0)
    y = np.where(rng.random(n) < p, -y_hat, y_hat)
    return (y_hat[:, None] * mu * u + xi)[:, None, :], y


def main() -> None:
    args = parser(__doc__).parse_args()
    compile_cache(args)
    kw: dict[str, Any] = dict(n=20, d=200, m=5, steps=300, seed=2, precision="float64", snr=0.2)
    X, y, _ = benign.sample_data(**kw)
    Xt, yt, _ = benign.sample_data(**{**kw, "n": 200, "seed": 7, "p": 0.0})
    ref = benign.simulate(**kw, engine="dense", return_params=True)
    own_kw = {k: v for k, v in kw.items() if k not in ("snr", "n")}
    own = benign.simulate(data=(X, y), test_data=(Xt, yt), **own_kw, return_params=True)
    assert ref.params is not None and own.params is not None
    contract = {"max_abs_diff_train_loss": float(np.max(np.abs(own.trajectory["train_loss"] - ref.trajectory["train_loss"]))),
                "max_abs_diff_W": float(np.max(np.abs(own.params["W"] - ref.params["W"]))), "steps": kw["steps"]}
    print(contract)
    rows = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        u = rng.normal(size=D)
        u /= np.linalg.norm(u)
        for mu in MU:
            Xs, ys = student_data(rng, N, u, mu, P_FLIP)
            Xts, yts = student_data(rng, N_TEST, u, mu, 0.0)
            r = benign.simulate(data=(Xs, ys), test_data=(Xts, yts), m=10, steps=1000, eta=0.1, train_output=False, seed=seed,
                                n_checkpoints=10)
            rows.append({"seed": seed, "mu": mu, "test_error": r.test_error, "train_error": r.train_error})
            print(rows[-1])
    (DATA / "own_data.json").write_text(json.dumps({"contract": contract, "runs": rows, "p": P_FLIP, "n": N, "d": D}, indent=1) + "\n")
    refresh_summaries("own_data.json")


if __name__ == "__main__":
    main()
