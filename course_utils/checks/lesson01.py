"""Checkers of lesson 01 (notebooks/01_rbm.ipynb)."""

from __future__ import annotations

import torch

from .base import AnswerError, as_number, as_tensor, call_student, checker, close, compare, say


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


@checker
def check_cd1_update(fn) -> bool:
    """Lesson 01: fn(rbm, v, u_h, u_v) -> (dW, db, dc), the CD-1 estimate of the log-likelihood gradient."""
    rbm, v, g = _toy_rbm()
    u_h, u_v = torch.rand(5, 4, generator=g), torch.rand(5, 6, generator=g)
    got = call_student(fn, rbm, v, u_h, u_v)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise AnswerError("return three things, (dW, db, dc): the changes for W (H, V), b (V,) and c (H,)")
    ph_data = rbm.p_h(v)                                                     # (B, H)
    v_model = (u_v < rbm.p_v((u_h < ph_data).float())).float()               # one Gibbs step from the data
    ph_model = rbm.p_h(v_model)
    B = len(v)
    want = ((ph_data.T @ v - ph_model.T @ v_model) / B, (v - v_model).sum(0) / B, (ph_data - ph_model).sum(0) / B)
    dW = as_tensor(got[0], "dW")
    if close(dW, -want[0], atol=1e-4):
        return say(False, "dW has the wrong sign: data term minus model term, <h v>_data - <h v>_model")
    if close(dW, want[0] * B, atol=1e-4):
        return say(False, "dW is B times too big: average over the batch (divide by len(v))")
    if close(dW, want[0].T, atol=1e-4) and want[0].shape[0] != want[0].shape[1]:
        return say(False, "dW is transposed: W has one row per hidden unit, shape (H, V)")
    ok = [compare(a, w, name, atol=1e-4) for a, w, name in zip(got, want, ("dW", "db", "dc"))]
    return all(ok)


_LOG_FLOAT32_MAX = 88.72    # e^88.72 = 3.4e38, the largest float32: exp of anything above it is inf


def _overflowed(answer) -> bool:
    """True for one number that is nan, inf or 0: what exp(-F) / exp(-F) gives when an exp overflows."""
    try:
        t = torch.as_tensor(answer, dtype=torch.float64)
    except Exception:  # noqa: BLE001 - not a number at all: as_number will say so
        return False
    return t.numel() == 1 and (not bool(torch.isfinite(t).all()) or float(t.reshape(())) == 0)


@checker
def check_probability_ratio(answer, rbm, a, b) -> bool:
    """Lesson 01: a number, how many times more probable image a is than image b under the RBM."""
    fa, fb = (float(rbm.free_energy(torch.as_tensor(x).reshape(1, -1).float())) for x in (a, b))
    if _overflowed(answer) and max(-fa, -fb) > _LOG_FLOAT32_MAX:
        return say(False, f"exp overflowed: F(a) = {fa:.1f} and F(b) = {fb:.1f}, so e^(-F) is near e^{max(-fa, -fb):.0f}, "
                          f"far beyond the largest float32 (3.4e38 = e^{_LOG_FLOAT32_MAX:.1f}): exp gives inf, and a "
                          "ratio with inf in it is nan, inf or 0. Subtract first, then take one exp: "
                          "e^(-F(a)) / e^(-F(b)) = e^(F(b) - F(a))")
    value = as_number(answer, "the ratio p(a) / p(b)")
    want = float(torch.tensor(fb - fa, dtype=torch.float64).exp())
    if abs(value - want) <= 1e-3 * want:
        return say(True, f"p(a) / p(b) = exp(F(b) - F(a)) = {want:.4g}: Z is the same for both images, "
                         "so it cancels in the ratio")
    if want > 0 and abs(value - 1 / want) <= 1e-3 / want:
        return say(False, "that is p(b) / p(a), upside down: low free energy means probable, p(v) = exp(-F(v)) / Z")
    if abs(value - (fb - fa)) < 1e-3 * max(1.0, abs(fb - fa)):
        return say(False, "that is log p(a) - log p(b); the question asks for the ratio itself (take exp)")
    return say(False, f"not quite (you gave {value:.4g}). Write p(a) / p(b) with p(v) = exp(-F(v)) / Z: what happens to Z?")
