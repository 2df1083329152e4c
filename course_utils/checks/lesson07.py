"""Checkers of lesson 07 (notebooks/07_beyond.ipynb)."""

from __future__ import annotations

import torch

from .base import AnswerError, as_count, as_tensor, call_student, checker, close, compare, say


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
def check_flow_wins(answer, results: dict, metric: str = "frechet", decimals: int = 2) -> bool:
    """Lesson 07: the step counts at which flow-digits has the lower `metric` than ddpm-digits, as a list,
    read from the table as printed (`decimals` places: equal printed values are a tie, not a win).

    results: {"flow-digits": {steps: DigitReport}, "ddpm-digits (DDIM)": {steps: DigitReport}}"""
    flow_name = next(k for k in results if k.startswith("flow"))
    ddpm_name = next(k for k in results if k.startswith("ddpm"))

    def printed(name, s):
        return round(getattr(results[name][s], metric), decimals)

    right = sorted(s for s in results[flow_name] if printed(flow_name, s) < printed(ddpm_name, s))
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__iter__"):
        raise AnswerError("give a list of step counts, e.g. [1, 2]")
    given = sorted(as_count(s, "each step count") for s in answer)
    metric = {"frechet": "Fréchet distance"}.get(metric, metric)
    if given == right:
        where = f"at {right} steps" if right else "at none of these step counts"
        return say(True, f"flow matching has the lower {metric} {where} in the table printed above. "
                         "Differences this small are worth checking on many samples: the model card judges 500 per row")
    return say(False, f"{given} is not what the table says: compare the two '{metric}' columns row by row "
                      "(a tie is not a win)")


@checker
def check_one_step_image(answer, data) -> bool:
    """Lesson 07: the image one Euler step from t = 1 draws from any noise, for a perfect flow model.

    data: the (N, C, H, W) training images in [-1, 1] that the flow model learned."""
    want = as_tensor(data, "data")
    want = want.reshape(len(want), -1).mean(0).reshape(want.shape[1:]) if want.ndim > 1 else want
    got = as_tensor(answer, "your image")
    if got.numel() != want.numel():
        raise AnswerError(f"give one image of shape {tuple(want.shape)}, got {got.numel()} numbers")
    got = got.reshape(want.shape)
    if close(got, want, atol=0.02):
        return say(True, "the mean of the training images, whatever the noise: at t = 1 the point is pure noise, "
                         "so the best velocity is E[eps - x0 | x_1] = x_1 - mean(x0), and x_1 - 1 * v = mean(x0). "
                         "That is the blurry average digit of the table's first row.")
    if close(got, torch.zeros_like(want), atol=0.02):
        return say(False, "all zeros is where the noise is centred; one step goes from the noise toward the data")
    return say(False, "not it. Hint: at t = 1, x_1 is the noise itself and says nothing about which x0 it will "
                      "become; what is the best single guess of eps - x0 then, and where does x_1 - v land?")


def _target_inputs():
    """A batch of 4 points x_prev at t_prev = 0, 19, 259 and 979 on the course's schedule, with a
    target network's output there (random numbers standing in for its v-prediction)."""
    from ..models.unet_shapes import training_schedule

    g = torch.Generator().manual_seed(0)
    t_prev = torch.tensor([0, 19, 259, 979])
    abar_prev = training_schedule().alphas_cumprod[t_prev].reshape(4, 1, 1, 1)
    return torch.randn(4, 4, 8, 8, generator=g), torch.randn(4, 4, 8, 8, generator=g), t_prev, abar_prev


@checker
def check_consistency_target(fn) -> bool:
    """Lesson 07: fn(x_prev, target_output, t_prev, abar_prev) -> the consistency target
    c_skip(t_prev) x_prev + c_out(t_prev) x0_hat, x0_hat from the target's v-prediction (lcm.consistency_target)."""
    from .. import lcm

    x_prev, out, t_prev, abar = _target_inputs()
    try:
        got = call_student(fn, x_prev.clone(), out.clone(), t_prev.clone(), abar.clone())
    except (SystemExit, GeneratorExit) as e:                 # not Exceptions, but a checker still answers
        raise AnswerError(f"your function raised {type(e).__name__}") from None
    got = as_tensor(got, "your target")
    want = lcm.consistency_target(x_prev, out, t_prev, abar)
    if got.shape != want.shape:
        raise AnswerError(f"your target has shape {tuple(got.shape)}, expected {tuple(want.shape)} like x_prev: "
                          "reshape c_skip and c_out to (B, 1, 1, 1) so they multiply each point of the batch")
    c_skip, c_out = (c.reshape(-1, 1, 1, 1) for c in lcm.boundary(t_prev))
    x0_hat, _ = lcm.x0_and_eps(out, x_prev, abar)
    known = [(x0_hat, "that is the target network's x0_hat alone: pass it through the boundary condition, "
                      "c_skip x_prev + c_out x0_hat, so that at t_prev = 0 the target is x_prev itself"),
             (x_prev, "that is x_prev itself: right only at t_prev = 0; elsewhere c_out x0_hat takes over"),
             (c_skip * x_prev + c_out * out, "target_output is a v-prediction, not x0: turn it into "
                                             "x0_hat = sqrt(abar) x_prev - sqrt(1 - abar) v first (lcm.x0_and_eps)"),
             (c_out * x_prev + c_skip * x0_hat, "c_skip and c_out are swapped: c_skip multiplies x_prev "
                                                "(1 at t = 0), c_out multiplies x0_hat")]
    for wrong, why in known:
        if close(got, wrong, atol=1e-4) and not close(got, want, atol=1e-4):
            return say(False, why)
    if not close(got[0], want[0], atol=1e-4):
        return say(False, "at t_prev = 0 (the first point of the batch) the target must be x_prev itself: "
                          "c_skip(0) = 1 and c_out(0) = 0 (lcm.boundary)")
    ok = compare(got, want, "consistency target", atol=1e-4)
    if ok:
        print("   the student is pulled toward this: the target network's guess of the trajectory's end from "
              "one teacher step further on.")
    return ok
