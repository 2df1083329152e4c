"""Our torch RBM vs scikit-learn's BernoulliRBM at the same settings, side by side in one run.

    python benchmarks/bench_rbm_vs_sklearn.py

Same data (the digits, binarised; 300 held out), 256 hidden units, learning rate 0.05,
batch 10, 20 epochs of persistent CD (scikit-learn's algorithm), 10 seeds each, alternating so
both see the same machine load. Prints the median seconds per epoch and the mean
pseudo-log-likelihood (all 64 single-bit flips, the quantity scikit-learn's score_samples
estimates from one random bit; higher is better) on the training and the held-out digits.
Target (lesson 01): ours at least as fast, and at least as good within the seed-to-seed noise."""

import time

import numpy as np
import torch
from sklearn.neural_network import BernoulliRBM

from course_utils import data
from course_utils.models.rbm import RBM

SETTINGS = dict(n_hidden=256, lr=0.05, batch_size=10, epochs=20)


def as_torch(sk: BernoulliRBM) -> RBM:
    rbm = RBM(64, SETTINGS["n_hidden"])
    rbm.components_.copy_(torch.from_numpy(np.asarray(sk.components_, dtype=np.float32)))
    rbm.intercept_hidden_.copy_(torch.from_numpy(np.asarray(sk.intercept_hidden_, dtype=np.float32)))
    rbm.intercept_visible_.copy_(torch.from_numpy(np.asarray(sk.intercept_visible_, dtype=np.float32)))
    return rbm


def main(seeds: int = 10) -> int:
    X = data.digits(binary=True).images.reshape(-1, 64)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    train, held = X[order[300:]], X[order[:300]]
    times = {"ours": [], "sklearn": []}
    pll = {(who, split): [] for who in times for split in ("train", "held-out")}
    for seed in range(seeds):
        g = torch.Generator().manual_seed(seed)
        ours = RBM(64, SETTINGS["n_hidden"], generator=g)
        t0 = time.perf_counter()
        ours.fit(train, SETTINGS["epochs"], SETTINGS["lr"], SETTINGS["batch_size"], generator=g, track_error=False)
        times["ours"].append((time.perf_counter() - t0) / SETTINGS["epochs"])
        sk = BernoulliRBM(n_components=SETTINGS["n_hidden"], learning_rate=SETTINGS["lr"],
                          batch_size=SETTINGS["batch_size"], n_iter=SETTINGS["epochs"], random_state=seed)
        t0 = time.perf_counter()
        sk.fit(train.numpy())
        times["sklearn"].append((time.perf_counter() - t0) / SETTINGS["epochs"])
        for who, model in (("ours", ours), ("sklearn", as_torch(sk))):  # one scorer for both
            for split, x in (("train", train), ("held-out", held)):
                pll[who, split].append(model.pseudo_log_likelihood(x).mean().item())
    print(f"torch threads {torch.get_num_threads()}; settings {SETTINGS}; {seeds} seeds each")
    t_o, t_s = np.median(times["ours"]), np.median(times["sklearn"])
    print(f"time per epoch  : ours {t_o * 1000:6.1f} ms | scikit-learn {t_s * 1000:6.1f} ms | ratio ours/sklearn {t_o / t_s:.2f}")
    ok = t_o <= t_s
    for split in ("train", "held-out"):
        o, s = np.array(pll["ours", split]), np.array(pll["sklearn", split])
        noise = 2 * np.sqrt(o.var(ddof=1) / len(o) + s.var(ddof=1) / len(s))  # 2 standard errors of the difference
        print(f"pseudo-log-lik. : ours {o.mean():7.2f} | scikit-learn {s.mean():7.2f} | difference {o.mean() - s.mean():+.2f}"
              f" (noise +-{noise:.2f}) on {split} digits")
        ok &= o.mean() >= s.mean() - noise
    print("PASS: at least as fast, and as good within the noise" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
