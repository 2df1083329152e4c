"""Lesson 07, section 5 (consistency distillation): the exercise's checker (course_utils/checks/lesson07.py)
and the live demo's helpers in course_utils/lcm.py (distill)."""

import numpy as np
import pytest
import torch

from course_utils import checks, lcm


def _said(capsys) -> str:
    return capsys.readouterr().out


# --- check_consistency_target ---------------------------------------------------------------------

def test_the_checker_accepts_lcm_consistency_target_and_a_hand_written_one(capsys):
    assert checks.check_consistency_target(lcm.consistency_target) is True
    assert "✔" in _said(capsys)

    def by_hand(x, v, t, abar):                      # another correct form: NumPy out, the formula written out
        s = (t.double() * 10).reshape(-1, 1, 1, 1)
        c_skip, c_out = 0.25 / (s**2 + 0.25), s / (s**2 + 0.25).sqrt()
        return (c_skip * x + c_out * (abar.sqrt() * x - (1 - abar).sqrt() * v)).numpy()

    assert checks.check_consistency_target(by_hand) is True


def _boundary(t):
    return (c.reshape(-1, 1, 1, 1) for c in lcm.boundary(t))


WRONG = {  # a mistake a student makes -> a word the checker's message must hold
    "x0 alone": (lambda x, v, t, a: lcm.x0_and_eps(v, x, a)[0], "boundary condition"),
    "x_prev alone": (lambda x, v, t, a: x.clone(), "x_prev itself"),
    "v taken as x0": (lambda x, v, t, a: (lambda cs, co: cs * x + co * v)(*_boundary(t)), "v-prediction"),
    "swapped": (lambda x, v, t, a: (lambda cs, co: co * x + cs * lcm.x0_and_eps(v, x, a)[0])(*_boundary(t)), "swapped"),
    "no reshape": (lambda x, v, t, a: lcm.boundary(t)[0] * x, "raised"),           # (4,) * (4, 4, 8, 8): an error
    "one point": (lambda x, v, t, a: lcm.consistency_target(x, v, t, a)[0], "shape"),
    "NaN": (lambda x, v, t, a: torch.full_like(x, float("nan")), "NaN"),
    "epsilon formula": (lambda x, v, t, a: lcm.consistency_target(x, v, t, a, "epsilon"), "max difference"),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_the_checker_rejects_each_kind_of_wrong_answer_with_a_message(name, capsys):
    fn, word = WRONG[name]
    assert checks.check_consistency_target(fn) is False
    out = _said(capsys)
    assert "✘" in out and word in out, out


@pytest.mark.parametrize("answer", [None, ..., 3, "x", [1, 2], np.zeros(3), lambda *a: None,
                                    lambda *a: 1 / 0, lambda: 0, lambda *a: "text", lambda *a: [[1.0]] * 4,
                                    lambda *a: torch.zeros(4, 4, 8, 8, dtype=torch.bool)])
def test_the_checker_never_raises_and_always_answers(answer, capsys):
    assert checks.check_consistency_target(answer) is False
    assert _said(capsys).strip()


def test_the_checker_answers_a_function_that_exits(capsys):
    def leaves(*args):
        raise SystemExit(1)

    assert checks.check_consistency_target(leaves) is False
    assert "SystemExit" in _said(capsys)


def test_the_checker_does_not_let_the_student_change_its_inputs(capsys):
    def mutates(x, v, t, a):
        out = lcm.consistency_target(x, v, t, a)
        x.zero_(), v.zero_(), a.zero_()               # scribbles on what it was given, after answering
        return out

    assert checks.check_consistency_target(mutates) is True


# --- lcm.distill and lcm.with_student -------------------------------------------------------------

@pytest.fixture(scope="module")
def teacher():
    from course_utils import evaluation

    return evaluation.text_to_image_pipeline()


@pytest.mark.slow
def test_distill_trains_only_a_copy_and_stops_where_live_demo_says(teacher, capsys):
    from course_utils import data
    from course_utils.live import live_demo
    from course_utils.models.vae import encode

    before = {k: p.detach().clone() for k, p in teacher.unet.named_parameters()}
    few = data.shapes_world(8, seed=0, two_object_fraction=0.5, wording="varied")
    latents = encode(teacher.vae, few.images) * teacher.vae.config.scaling_factor
    run = live_demo(lcm.distill, teacher, latents, few.captions, steps=2, batch_size=2, rank=2, seconds=600)
    assert run.stopped_by == "steps" and run.steps == 2 and all(np.isfinite(run.losses))
    assert all(torch.equal(p, before[k]) for k, p in teacher.unet.named_parameters())     # the teacher untouched
    lora = {k: p for k, p in run.model.named_parameters() if p.requires_grad}
    assert lora and all("lora" in k for k in lora)                                      # only the adapter trains
    assert any(p.abs().sum() > 0 for k, p in lora.items() if "lora_B" in k)             # B starts at 0: it moved
    with pytest.raises(ValueError, match="captions"):
        lcm.distill(teacher, latents, few.captions[:3], steps=1)

