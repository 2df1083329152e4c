"""Checkers of lesson 08 (notebooks/08_make_it_yours.ipynb)."""

from __future__ import annotations

import torch

from .base import AnswerError, as_count, as_tensor, call_student, checker, close, compare, say


@checker
def check_lora_forward(fn) -> bool:
    """Lesson 08: fn(x, W, A, B, scale) -> x W^T + scale * x A^T B^T, the LoRA layer on a batch x (N, in)."""
    g = torch.Generator().manual_seed(0)
    x, W = torch.randn(5, 12, generator=g), torch.randn(7, 12, generator=g)            # W: (out, in)
    A, B = torch.randn(3, 12, generator=g), torch.randn(7, 3, generator=g)             # rank 3
    got = as_tensor(call_student(fn, x, W, A, B, 0.5), "fn(x, W, A, B, scale)")
    if close(got, x @ W.T + x @ A.T @ B.T):
        return say(False, "the adapter's part must be multiplied by `scale` (alpha / rank in PEFT's LoRA)")
    if close(got, x @ W.T):
        return say(False, "that is the frozen layer alone: add scale * (x A^T) B^T, the low-rank update")
    if got.shape != (5, 7):
        return say(False, f"a batch of 5 inputs with 12 features through a 12 -> 7 layer gives (5, 7), got {tuple(got.shape)}")
    if compare(got, x @ W.T + 0.5 * (x @ A.T) @ B.T, "fn(x, W, A, B, scale)"):
        return say(True, "W never changes; B A is a (7, 12) matrix of rank at most 3, trained through 3 x 12 + 7 x 3 "
                         "= 57 numbers instead of 84. With B = 0 at the start, the adapted layer starts as the base one.")
    return False


def _attention_projections(unet):
    """(name, in_features, out_features) of every Linear that lesson 08's adapter targets."""
    from ..finetune.unet_adapters import LORA_TARGETS

    out = []
    for name, module in unet.named_modules():
        if isinstance(module, torch.nn.Linear) and any(name.endswith("." + t) for t in LORA_TARGETS) \
                and ".attn" in name and "lora" not in name:
            out.append((name, module.in_features, module.out_features))
    return out


@checker
def check_lora_parameters(n, unet, rank: int = 4) -> bool:
    """Lesson 08: how many numbers a rank-`rank` adapter on every attention projection of `unet` adds (a whole number)."""
    layers = _attention_projections(unet)
    if not layers:
        raise AnswerError("this U-Net has no attention projections (to_q, to_k, to_v, to_out.0) to count")
    n = as_count(n, "the number of adapter parameters")
    right = sum(rank * (i + o) for _, i, o in layers)
    full = sum(i * o for _, i, o in layers)
    if n == right:
        return say(True, f"{right:,} numbers: rank x (in + out) for each of the {len(layers)} projections, "
                         f"{right / full:.1%} of the {full:,} weights they adapt.")
    if n == full:
        return say(False, "that is the size of the matrices W themselves; the adapter adds A (rank x in) and B (out x rank)")
    if n == sum(rank * i for _, i, _ in layers) or n == sum(rank * o for _, _, o in layers):
        return say(False, "count both matrices: A is (rank x in) and B is (out x rank)")
    return say(False, f"not quite ({n:,}). List the Linear layers named to_q, to_k, to_v and to_out.0 inside the "
                      "attention blocks (unet.named_modules()), and add rank x (in + out) for each")


@checker
def check_invert_step(fn) -> bool:
    """Lesson 08: fn(v, abar_t, abar_next, x_t) -> x at the later timestep, DDIM's step run backwards (v-prediction)."""
    g = torch.Generator().manual_seed(0)
    x, v = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    abar_t, abar_next = torch.tensor(0.9), torch.tensor(0.6)
    got = as_tensor(call_student(fn, v, abar_t, abar_next, x), "fn(v, abar_t, abar_next, x_t)")
    x0 = abar_t.sqrt() * x - (1 - abar_t).sqrt() * v
    eps = abar_t.sqrt() * v + (1 - abar_t).sqrt() * x
    if close(got, abar_t.sqrt() * x0 + (1 - abar_t).sqrt() * eps):
        return say(False, "that puts x0 and eps back together at t itself (it gives x_t back): use abar_next")
    if close(got, abar_next.sqrt() * x0 + (1 - abar_next).sqrt() * v):
        return say(False, "the model predicts v, not the noise: eps = sqrt(abar_t) v + sqrt(1 - abar_t) x_t")
    if compare(got, abar_next.sqrt() * x0 + (1 - abar_next).sqrt() * eps, "fn(v, abar_t, abar_next, x_t)"):
        return say(True, "the same two lines as a DDIM sampling step, only towards more noise: the deterministic "
                         "update can be run both ways, which is what makes DDIM inversion possible.")
    return False
