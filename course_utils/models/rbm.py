"""A Restricted Boltzmann Machine in torch (lesson 01), written out: Bernoulli visible and hidden
units, energy and free energy, Gibbs sampling, and contrastive divergence (CD-k and persistent CD).

    E(v, h) = -b.v - c.h - h.W.v                 (energy of a joint state)
    F(v)    = -b.v - sum_j softplus(c_j + W_j.v) (free energy: h summed out)
    p(h_j = 1 | v) = sigmoid(c_j + W_j.v),   p(v_i = 1 | h) = sigmoid(b_i + W_:i.h)

Parameter names and the update follow scikit-learn's BernoulliRBM (components_ = W), so the
two can be compared at the same settings (benchmarks/bench_rbm_vs_sklearn.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def check_binary(v: torch.Tensor, n_visible: int) -> torch.Tensor:
    """v as a float (N, n_visible) tensor of 0s and 1s, or a ValueError that says what was expected."""
    v = torch.as_tensor(v)
    if v.ndim == 4 and v.shape[1] == 1:  # (N, 1, 8, 8) images
        v = v.reshape(len(v), -1)
    if v.ndim != 2 or v.shape[1] != n_visible:
        raise ValueError(f"expected binary vectors of shape (N, {n_visible}) (or images (N, 1, 8, 8)), got {tuple(v.shape)}")
    v = v.float()
    if not torch.all((v == 0) | (v == 1)):
        raise ValueError("the RBM's visible units are binary: expected only 0s and 1s "
                         f"(got values like {v[(v != 0) & (v != 1)][0].item():.3g}); threshold first, e.g. (x > 0.5).float()")
    return v


class RBM(torch.nn.Module):
    """A Bernoulli-Bernoulli RBM with `n_visible` visible and `n_hidden` hidden units."""

    def __init__(self, n_visible: int = 64, n_hidden: int = 256, init_std: float = 0.01, generator=None):
        super().__init__()
        self.components_ = torch.nn.Parameter(torch.randn(n_hidden, n_visible, generator=generator) * init_std,
                                              requires_grad=False)                       # W: (H, V)
        self.intercept_hidden_ = torch.nn.Parameter(torch.zeros(n_hidden), requires_grad=False)   # c: (H,)
        self.intercept_visible_ = torch.nn.Parameter(torch.zeros(n_visible), requires_grad=False)  # b: (V,)

    @property
    def n_visible(self) -> int:
        return self.components_.shape[1]

    def energy(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """E(v, h) = -b.v - c.h - h.W.v, one number per pair: (N,)."""
        W, c, b = self.components_, self.intercept_hidden_, self.intercept_visible_
        return -(v @ b) - (h @ c) - ((h @ W) * v).sum(1)

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) = -b.v - sum_j softplus(c_j + W_j.v); p(v) is proportional to exp(-F(v)). (N,)"""
        return -(v @ self.intercept_visible_) - F.softplus(v @ self.components_.T + self.intercept_hidden_).sum(1)

    def p_h(self, v: torch.Tensor) -> torch.Tensor:
        """p(h = 1 | v): (N, H)."""
        return torch.sigmoid(torch.addmm(self.intercept_hidden_, v, self.components_.T))

    def p_v(self, h: torch.Tensor) -> torch.Tensor:
        """p(v = 1 | h): (N, V)."""
        return torch.sigmoid(torch.addmm(self.intercept_visible_, h, self.components_))

    def gibbs_step(self, v: torch.Tensor, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        """One block-Gibbs step v -> h -> v'; returns (v', p(v' = 1 | h))."""
        h = torch.bernoulli(self.p_h(v), generator=generator)
        pv = self.p_v(h)
        return torch.bernoulli(pv, generator=generator), pv

    @torch.no_grad()
    def cd_update(self, v_pos: torch.Tensor, lr: float, k: int = 1, h_chain: torch.Tensor | None = None,
                  generator=None) -> torch.Tensor:
        """One contrastive-divergence update on a mini-batch; returns the hidden state where the
        negative chain stopped. CD-k starts that chain at the data; persistent CD passes the
        returned state back in as `h_chain` (as scikit-learn's BernoulliRBM does)."""
        W, c, b = self.components_, self.intercept_hidden_, self.intercept_visible_
        h_pos = self.p_h(v_pos)                                               # (B, H) data statistics
        h = torch.bernoulli(h_pos, generator=generator) if h_chain is None else h_chain
        for _ in range(k):                                                    # k Gibbs steps: model statistics
            v_neg = torch.bernoulli(self.p_v(h), generator=generator)
            h_neg = self.p_h(v_neg)
            h = torch.bernoulli(h_neg, generator=generator)
        step = lr / len(v_pos)
        W.addmm_(h_pos.T, v_pos, alpha=step).addmm_(h_neg.T, v_neg, alpha=-step)   # <h v>_data - <h v>_model
        c.add_(h_pos.sum(0) - h_neg.sum(0), alpha=step)
        b.add_(v_pos.sum(0) - v_neg.sum(0), alpha=step)
        return h

    def cd_loss(self, v_pos: torch.Tensor, k: int = 1, generator=None) -> torch.Tensor:
        """F(data) - F(chain), averaged over the batch: its gradient is exactly the CD-k update of
        `cd_update` (for W: -(<h v>_data - <h v>_model) / B), so plain SGD at the same lr makes the
        same step, and a generic training loop can train the RBM like any network. Needs the
        parameters' requires_grad on (rbm.requires_grad_(True))."""
        def draw(p):                            # on the CPU (a CPU generator), then where p is
            return torch.bernoulli(p.cpu(), generator=generator).to(p.device)

        with torch.no_grad():                                                 # the chain is not differentiated
            h = draw(self.p_h(v_pos))
            for _ in range(k):
                v_neg = draw(self.p_v(h))
                h = draw(self.p_h(v_neg))
        return self.free_energy(v_pos).mean() - self.free_energy(v_neg).mean()

    @torch.no_grad()
    def fit(self, v: torch.Tensor, epochs: int = 20, lr: float = 0.05, batch_size: int = 10, k: int = 1,
            persistent: bool = True, generator=None, callback=None, track_error: bool = True) -> list[float]:
        """Train by CD-k (persistent or not); returns the mean reconstruction error per epoch
        (if track_error). callback(epoch, rbm) is called after every epoch (e.g. for a live plot)."""
        v = check_binary(v, self.n_visible)
        chain = torch.zeros(batch_size, self.components_.shape[0]) if persistent else None
        errors = []
        for epoch in range(epochs):
            shuffled = v[torch.randperm(len(v), generator=generator)]
            for i in range(0, len(v) - batch_size + 1, batch_size):
                h = self.cd_update(shuffled[i:i + batch_size], lr, k, chain, generator)
                chain = h if persistent else None
            if track_error:
                errors.append(self.reconstruction_error(v))
            if callback is not None:
                callback(epoch + 1, self)
        return errors

    @torch.no_grad()
    def reconstruction_error(self, v: torch.Tensor) -> float:
        """Mean squared difference between v and p(v | p(h | v)): a rough training signal."""
        return float(((v - self.p_v(self.p_h(v))) ** 2).mean())

    @torch.no_grad()
    def pseudo_log_likelihood(self, v: torch.Tensor, exact: bool = True, generator=None) -> torch.Tensor:
        """Pseudo-log-likelihood per sample, sum_i log p(v_i | v_rest) = sum_i log sigmoid(F(v with bit i
        flipped) - F(v)). exact=True sums all V bits; exact=False estimates it from one random bit,
        V * log sigmoid(...), as scikit-learn's score_samples does. (N,)"""
        v = check_binary(v, self.n_visible)
        f0 = self.free_energy(v)
        if exact:
            total = torch.zeros(len(v))
            for i in range(self.n_visible):
                flipped = v.clone()
                flipped[:, i] = 1 - flipped[:, i]
                total += F.logsigmoid(self.free_energy(flipped) - f0)
            return total
        idx = torch.randint(0, self.n_visible, (len(v),), generator=generator)
        flipped = v.clone()
        flipped[torch.arange(len(v)), idx] = 1 - flipped[torch.arange(len(v)), idx]
        return self.n_visible * F.logsigmoid(self.free_energy(flipped) - f0)

    @torch.no_grad()
    def sample(self, n: int, steps: int = 1000, generator=None, start: torch.Tensor | None = None,
               record_every: int = 0):
        """Run n Gibbs chains for `steps` steps from random bits (or `start`); returns the last
        p(v | h) as (n, V), and with record_every > 0 also a list: the start (step 0), then
        p(v | h) after every `record_every`-th step and after the last one."""
        v = (torch.rand(n, self.n_visible, generator=generator) < 0.5).float() if start is None else \
            check_binary(start, self.n_visible).clone()
        record, pv = [v.clone()], v
        for s in range(1, steps + 1):
            v, pv = self.gibbs_step(v, generator)
            if record_every and (s % record_every == 0 or s == steps):
                record.append(pv.clone())
        return (pv, record) if record_every else pv

    @torch.no_grad()
    def fill_in(self, v: torch.Tensor, known: torch.Tensor, steps: int = 100, n_chains: int = 1,
                generator=None) -> torch.Tensor:
        """Complete a partly known image: Gibbs chains whose `known` pixels are clamped to v's
        values after every step (the rest start as random bits). v: (V,) binary, known: (V,)
        bool. Returns p(v | h) of the last step with the known pixels put back: (n_chains, V)."""
        v = check_binary(torch.as_tensor(v).reshape(1, -1), self.n_visible)[0]
        known = torch.as_tensor(known, dtype=torch.bool).reshape(-1)
        if known.shape != v.shape:
            raise ValueError(f"known must be one True/False per pixel ({self.n_visible}), got {tuple(known.shape)}")
        x = (torch.rand(n_chains, self.n_visible, generator=generator) < 0.5).float()
        x = torch.where(known, v, x)                                            # (n_chains, V)
        pv = x
        for _ in range(steps):
            x, pv = self.gibbs_step(x, generator)
            x = torch.where(known, v, x)                                        # clamp: the known half never moves
        return torch.where(known, v, pv)

    @torch.no_grad()
    def log_partition(self) -> torch.Tensor:
        """log Z = log sum_v exp(-F(v)), exactly, by listing all 2^V visible states (V <= 20 only)."""
        if self.n_visible > 20:
            raise ValueError(f"listing 2^{self.n_visible} visible states is out of reach; "
                             "log_partition is for tiny RBMs (at most 20 visible units)")
        return torch.logsumexp(-self.free_energy(all_states(self.n_visible)), 0)

    @torch.no_grad()
    def log_prob(self, v: torch.Tensor) -> torch.Tensor:
        """log p(v) = -F(v) - log Z, exactly (tiny RBMs only, see log_partition): (N,)."""
        return -self.free_energy(check_binary(v, self.n_visible)) - self.log_partition()


def all_states(n: int) -> torch.Tensor:
    """Every binary vector of length n, as a (2^n, n) float tensor (row i is i written in binary)."""
    bits = torch.arange(n - 1, -1, -1)
    return ((torch.arange(2 ** n)[:, None] >> bits) & 1).float()


def compare_with_sklearn(train: torch.Tensor, held: torch.Tensor, seeds=(0, 1, 2), epochs: int = 20,
                         n_hidden: int = 256, lr: float = 0.05, batch_size: int = 10) -> dict:
    """Train ours and scikit-learn's BernoulliRBM (persistent CD) at the same settings, once per
    seed, and score both with the same code. Returns {"ours" | "scikit-learn":
    {"seconds_per_epoch": [...], "pll": [...]}}, one entry per seed, pll on `held`."""
    import time

    from sklearn.neural_network import BernoulliRBM

    out = {who: {"seconds_per_epoch": [], "pll": []} for who in ("ours", "scikit-learn")}
    for seed in seeds:
        ours = RBM(train.shape[1], n_hidden, generator=torch.Generator().manual_seed(seed))
        t0 = time.perf_counter()
        ours.fit(train, epochs, lr, batch_size, persistent=True, generator=torch.Generator().manual_seed(seed),
                 track_error=False)
        t_ours = (time.perf_counter() - t0) / epochs
        sk = BernoulliRBM(n_components=n_hidden, learning_rate=lr, batch_size=batch_size, n_iter=epochs,
                          random_state=seed)
        t0 = time.perf_counter()
        sk.fit(train.numpy())
        t_sk = (time.perf_counter() - t0) / epochs
        sk_as_ours = RBM(train.shape[1], n_hidden)                              # scored by the same code as ours
        for name in ("components_", "intercept_hidden_", "intercept_visible_"):
            getattr(sk_as_ours, name).copy_(torch.tensor(getattr(sk, name)))
        for who, t, model in (("ours", t_ours, ours), ("scikit-learn", t_sk, sk_as_ours)):
            out[who]["seconds_per_epoch"].append(t)
            out[who]["pll"].append(model.pseudo_log_likelihood(held).mean().item())
    return out


def describe_comparison(results: dict) -> str:
    """The result of `compare_with_sklearn` in words, worded from the numbers themselves: one is
    called faster only when it was, by more than 10 %, on every seed, and one scored higher only
    when every one of its seeds beat every seed of the other; the spread over the seeds is given."""
    o, s = results["ours"], results["scikit-learn"]
    ratios = [a / b for a, b in zip(o["seconds_per_epoch"], s["seconds_per_epoch"])]
    n, lo, hi = len(ratios), min(ratios), max(ratios)
    spread = f"ours/scikit-learn time ratio {lo:.2f} to {hi:.2f} over {n} seeds"
    def times(a: float, b: float) -> str:             # "1.2x" when both ends round alike, else "1.2x to 1.4x"
        return f"{a:.1f}x" if f"{a:.1f}" == f"{b:.1f}" else f"{a:.1f}x to {b:.1f}x"

    if hi < 0.9:
        speed = f"ours was faster on every seed (about {times(1 / hi, 1 / lo)}; {spread})"
    elif lo > 1.1:
        speed = f"scikit-learn was faster on every seed (about {times(lo, hi)}; {spread})"
    else:
        speed = f"neither was clearly faster ({spread}; timings move with the machine's load)"
    po, ps = o["pll"], s["pll"]
    diff = sum(po) / len(po) - sum(ps) / len(ps)
    if min(po) > max(ps):
        quality = f"ours scored higher on every seed (by {diff:.2f} on average)"
    elif min(ps) > max(po):
        quality = f"scikit-learn scored higher on every seed (by {-diff:.2f} on average)"
    else:
        quality = (f"the seeds overlap ({min(po):.2f} to {max(po):.2f} vs {min(ps):.2f} to {max(ps):.2f}), "
                   f"so {n} runs cannot rank them")
    return f"Speed: {speed}.\nHeld-out pseudo-log-likelihood: {quality}."

def load(folder, device="cpu") -> RBM:
    """The RBM saved in `folder` (config.json + model.safetensors), for models.load_pretrained."""
    from ..checkpoint_files import read_config, read_weights

    cfg = read_config(folder, ("n_visible", "n_hidden"))
    rbm = RBM(cfg["n_visible"], cfg["n_hidden"])
    rbm.load_state_dict(read_weights(folder / "model.safetensors"))
    return rbm.to(device)


def sample_from(rbm: RBM, n: int, generator, steps: int) -> torch.Tensor:
    """`steps` Gibbs steps from random bits -> (n, 1, 8, 8) probabilities p(v | h), for models.sample."""
    return rbm.sample(n, steps=steps, generator=generator).reshape(n, 1, 8, 8).cpu()
