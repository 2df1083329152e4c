"""Checkers of lesson 06 (notebooks/06_stable_diffusion.ipynb)."""

from __future__ import annotations

import torch

from .base import as_count, as_number, call_student, checker, close, compare, say


@checker
def check_guidance(fn) -> bool:
    """Lesson 06: fn(eps_uncond, eps_text, w) -> eps_uncond + w (eps_text - eps_uncond)."""
    g = torch.Generator().manual_seed(0)
    uncond, text = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    got = call_student(fn, uncond, text, 7.5)
    if close(got, text + 7.5 * (text - uncond)):
        return say(False, "start from the unconditional prediction, not the text one: eps_u + w (eps_t - eps_u)")
    if close(got, uncond + 7.5 * (uncond - text)):
        return say(False, "the direction is reversed: step from the unconditional toward the text prediction")
    ok = compare(got, uncond + 7.5 * (text - uncond), "guided noise prediction")
    if ok:
        print("   with w = 1 it returns eps_text exactly: guidance 1 means 'no guidance'.")
    return ok


@checker
def check_unet_calls(answer, steps: int = 25) -> bool:
    """Lesson 06: how many U-Net evaluations (per image) one guided generation of `steps` steps costs."""
    n = as_count(answer, "the number of U-Net calls")
    if n == 2 * steps:
        return say(True, f"{2 * steps}: two per step (with and without the prompt; the pipeline batches "
                         "them as one call of batch 2)")
    if n == steps:
        return say(False, "one per step would be without guidance; classifier-free guidance needs two predictions")
    return say(False, f"{n} is not it: count the predictions in one step, then the steps")


@checker
def check_img2img_steps(answer, steps: int = 25, strength: float = 0.6) -> bool:
    """Lesson 06: how many denoising steps img2img runs at `strength` out of `steps`."""
    n, right = as_count(answer, "the number of steps"), min(int(steps * strength), steps)
    if n == right:
        return say(True, f"{right}: img2img noises the picture to the level of step {steps - right + 1} of "
                         f"{steps} and runs only the last {right} steps; strength 1.0 runs all of them")
    if n == steps - right:
        return say(False, "that is the number of steps it skips; count the ones it runs")
    return say(False, f"{n} is not it: strength is the share of the {steps} steps that still run")


@checker
def check_negative_prompt_at_w1(answer) -> bool:
    """Lesson 06: the largest pixel difference a negative prompt makes at guidance_scale=1 (a number)."""
    x = abs(as_number(answer, "the largest pixel difference"))
    if x <= 1e-5:
        return say(True, f"{x:.1e}: none. At w = 1 the guidance formula gives the text prediction alone; the "
                         "empty (or negative) prompt's prediction cancels out, and diffusers does not even compute it "
                         "(it guides only when guidance_scale > 1). A negative prompt acts only through guidance.")
    if x > 1:
        return say(False, f"{x:.3g} is more than a pixel can differ: images are in [0, 1]; take "
                          "(a - b).abs().max() of the two images")
    return say(False, f"{x:.3g} is not what w = 1 gives. Write the formula with w = 1 and look at what is left of "
                      "the negative prompt's prediction; then check that both images use the same seed and "
                      "guidance_scale=1.0")
