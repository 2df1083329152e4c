"""Checkers of lesson 04 (notebooks/04_text_embeddings.ipynb)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import AnswerError, as_number, as_tensor, call_student, checker, close, compare, say


@checker
def check_mean_pool(fn) -> bool:
    """Lesson 04: fn(embeddings (n, L, d), mask (n, L)) -> (n, d), the mean over real tokens only."""
    from ..text import mean_pool

    g = torch.Generator().manual_seed(0)
    emb = torch.randn(2, 5, 4, generator=g)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    got = call_student(fn, emb, mask)
    if close(got, emb.mean(1)):
        return say(False, "you averaged the padding too: multiply by the mask and divide by the number of real tokens")
    return compare(got, mean_pool(emb, mask), "mean_pool(embeddings, mask)")


@checker
def check_attention_weights(fn) -> bool:
    """Lesson 04: fn(q (d,), K (L, d)) -> (L,) softmax(K q / sqrt(d))."""
    g = torch.Generator().manual_seed(0)
    q, K = torch.randn(8, generator=g) * 3, torch.randn(5, 8, generator=g) * 3
    got = call_student(fn, q, K)
    if close(got, torch.softmax(K @ q, 0)):
        return say(False, "almost: divide the scores by sqrt(d) before the softmax, or it saturates as d grows")
    if close(got, K @ q / 8**0.5):
        return say(False, "the scores are right; now turn them into weights that sum to 1 with a softmax")
    divisor = _softmax_divisor(got, K @ q)
    if divisor is not None and abs(divisor - 8**0.5) > 1e-3:
        copied = " (384 ** 0.5 was right only for section 4's 384-d vectors)" if abs(divisor - 384**0.5) < 0.01 else ""
        return say(False, f"your weights are a softmax of the scores divided by {divisor:.3g}, but this q has d = {len(q)} "
                          f"numbers: divide by sqrt({len(q)}) = {8**0.5:.3g}. d is q's length, q.shape[-1]{copied}")
    return compare(got, torch.softmax(K @ q / 8**0.5, 0), "attention weights")


def _softmax_divisor(weights, scores) -> float | None:
    """c if weights = softmax(scores / c) for some c > 0, else None."""
    w = as_tensor(weights)
    if w.shape != scores.shape or (w <= 0).any() or abs(float(w.sum()) - 1) > 1e-4:
        return None
    logits, z = w.log() - w.log().mean(), (scores - scores.mean()).double()      # a softmax's logits, up to a shift
    slope = float(logits @ z / (z @ z))
    if slope <= 0 or (logits - slope * z).abs().max() > 1e-4 * max(1.0, float(logits.abs().max())):
        return None
    return 1 / slope


@checker
def check_clip_loss(fn) -> bool:
    """Lesson 04: fn(image_emb (n, d), text_emb (n, d), temperature) -> the symmetric CLIP loss (one number)."""
    g = torch.Generator().manual_seed(0)
    img = F.normalize(torch.randn(4, 6, generator=g), dim=-1)
    txt = F.normalize(img + 0.5 * torch.randn(4, 6, generator=g), dim=-1)
    value = as_number(call_student(fn, img, txt, 0.1), "the CLIP loss")
    logits = img @ txt.T / 0.1                                            # (n, n): row i = image i vs every text
    labels = torch.arange(4)
    one_way = F.cross_entropy(logits, labels)
    want = (one_way + F.cross_entropy(logits.T, labels)) / 2
    if abs(value - float(one_way)) < 1e-5 and abs(float(one_way) - float(want)) > 1e-4:
        return say(False, "that is the image -> text half; CLIP averages it with the text -> image half (the transpose)")
    return compare(value, want, "CLIP loss")


@checker
def check_closer_than_crimson(prompt) -> bool:
    """Lesson 04: a prompt (a string) for a different picture than "a red circle" (another Shapes World
    colour or shape) whose sentence embedding is closer to "a red circle" than "a crimson circle" is."""
    import re

    from ..shapes import COLOURS, SHAPES
    from ..text import sentence_embeddings

    if not isinstance(prompt, str):
        raise AnswerError(f'give a prompt as a string, like "a green square"; got a {type(prompt).__name__}')
    words = re.findall(r"[a-z]+", prompt.lower())
    colours, shapes = set(words) & set(COLOURS), set(words) & set(SHAPES)
    if len(words) < 2 or not colours | shapes:
        raise AnswerError(f"name a Shapes World colour ({', '.join(COLOURS)}) or shape ({', '.join(SHAPES)}) "
                          f"in a prompt of a few words, so that we know what it would draw; got {prompt!r}")
    if not (colours - {"red"} or shapes - {"circle"}):
        return say(False, f"{prompt!r} names no colour but red and no shape but circle: change the colour or the shape")
    e = sentence_embeddings(["a red circle", "a crimson circle", prompt])
    crimson, yours = (e[0] @ e[1]).item(), (e[0] @ e[2]).item()
    k = _decimals_apart(yours, crimson)
    if yours > crimson:
        return say(True, f"{prompt!r} ~ 'a red circle': {yours:.{k}f}, above crimson's {crimson:.{k}f}. A synonym loses "
                         "to a different picture: pooled similarity measures how alike the sentences are, not the images.")
    changed = [w for w in words if w not in ("a", "an", "red", "circle")]
    if len(words) == 3 and len(changed) == 1:
        kind = "colour" if changed[0] in COLOURS else "shape"
        return say(False, f"{yours:.{k}f}, below crimson's {crimson:.{k}f}. You changed one word, the right idea, but "
                          f"{prompt!r} happens to sit about as far from 'a red circle' as crimson does: try another {kind}")
    return say(False, f"{yours:.{k}f}, below crimson's {crimson:.{k}f}. Hint: keep the words of 'a red circle' and change "
                      "just one of them, its colour or its shape (the count after section 3's map shows how close such changes stay)")


def _decimals_apart(a: float, b: float, most: int = 6) -> int:
    """The fewest decimals (at least 2) at which a and b print differently, up to `most`."""
    k = 2
    while k < most and f"{a:.{k}f}" == f"{b:.{k}f}":
        k += 1
    return k
