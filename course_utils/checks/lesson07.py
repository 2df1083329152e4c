"""Checkers of lesson 07 (notebooks/07_beyond.ipynb)."""

from __future__ import annotations

import torch

from .base import AnswerError, as_count, call_student, checker, close, compare, say


@checker
def check_flow_target(fn) -> bool:
    """Lesson 07: fn(x0, eps) -> the rectified-flow velocity target, eps - x0 (t = 0 data, t = 1 noise)."""
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(3, 1, 4, 4, generator=g), torch.randn(3, 1, 4, 4, generator=g)
    got = call_student(fn, x0, eps)
    if close(got, x0 - eps, atol=1e-6):
        return say(False, "reversed: with x_t = (1 - t) x0 + t eps, dx_t/dt = eps - x0 (t grows toward noise)")
    if close(got, eps, atol=1e-6):
        return say(False, "that is the diffusion target (the noise); the flow's target is the velocity along the line")
    ok = compare(got, eps - x0, "velocity target")
    if ok:
        print("   it does not depend on t: every point of the line moves at the same velocity.")
    return ok


@checker
def check_flow_wins(answer, results: dict, metric: str = "frechet") -> bool:
    """Lesson 07: the step counts at which flow-digits has the lower `metric` than ddpm-digits, as a list.

    results: {"flow-digits": {steps: DigitReport}, "ddpm-digits (DDIM)": {steps: DigitReport}}"""
    flow_name = next(k for k in results if k.startswith("flow"))
    ddpm_name = next(k for k in results if k.startswith("ddpm"))
    right = sorted(s for s in results[flow_name]
                   if getattr(results[flow_name][s], metric) < getattr(results[ddpm_name][s], metric))
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__iter__"):
        raise AnswerError("give a list of step counts, e.g. [1, 2]")
    given = sorted(as_count(s, "each step count") for s in answer)
    if given == right:
        where = f"at {right} steps" if right else "at none of these step counts"
        return say(True, f"flow matching has the lower {metric} {where} (measured in this run)")
    return say(False, f"{given} is not what the table says: compare the two '{metric}' columns row by row")
