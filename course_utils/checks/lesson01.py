"""Checkers of lesson 01 (notebooks/01_rbm.ipynb)."""

from __future__ import annotations

import torch

from .base import as_tensor, call_student, checker, close, compare, say


def _toy_rbm():
    from ..models.rbm import RBM

    g = torch.Generator().manual_seed(0)
    rbm = RBM(6, 4, init_std=0.8, generator=g)
    rbm.intercept_hidden_.copy_(torch.randn(4, generator=g) * 0.5)
    rbm.intercept_visible_.copy_(torch.randn(6, generator=g) * 0.5)
    v = (torch.rand(5, 6, generator=g) < 0.5).float()
    return rbm, v, g


@checker
def check_free_energy(fn) -> bool:
    """Lesson 01: fn(v, W, b, c) -> F(v) = -v.b - sum_j softplus(c_j + W_j.v), one value per row of v."""
    rbm, v, _ = _toy_rbm()
    got = call_student(fn, v, rbm.components_.clone(), rbm.intercept_visible_.clone(), rbm.intercept_hidden_.clone())
    want = rbm.free_energy(v)
    if close(got, -want, atol=1e-4):
        return say(False, "the sign is flipped: F(v) = -v.b - sum softplus(...), low free energy = probable")
    return compare(got, want, "free energy F(v)", atol=1e-4)


@checker
def check_gibbs_step(fn) -> bool:
    """Lesson 01: fn(rbm, v, u_h, u_v) -> v': h = (u_h < p(h | v)), then v' = (u_v < p(v | h))."""
    rbm, v, g = _toy_rbm()
    u_h, u_v = torch.rand(5, 4, generator=g), torch.rand(5, 6, generator=g)
    got = as_tensor(call_student(fn, rbm, v, u_h, u_v), "v after one Gibbs step")
    h = (u_h < rbm.p_h(v)).float()
    if close(got, rbm.p_v(h)):
        return say(False, "those are the probabilities p(v | h); a Gibbs step samples: compare them with u_v")
    return compare(got, (u_v < rbm.p_v(h)).float(), "v after one Gibbs step")
