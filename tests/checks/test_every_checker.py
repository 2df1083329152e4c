"""Whatever a student passes, every checker prints a verdict and returns a bool: it never raises
and never praises garbage; a right answer in another reasonable form is accepted."""

import inspect

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_utils import checks
from course_utils.digit_judge import DigitReport
from course_utils.models.unet_shapes import make_unet

CHECKERS = {name: getattr(checks, name) for name in checks.__all__ if name.startswith("check_")}
_REPORT = DigitReport(n=1, confidence=0.9, classes_covered=10, class_counts=[1] * 10, class_entropy=3.3, frechet=2.0)
EXTRA = {  # the arguments a lesson passes besides the student's answer
    "check_mode_collapse": ([50] * 10, [500, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    "check_scaling_factor": (torch.randn(100, generator=torch.Generator().manual_seed(0)) * 4,),
    "check_flow_wins": ({"flow-digits": {1: _REPORT}, "ddpm-digits (DDIM)": {1: _REPORT}},),
    "check_one_step_image": (torch.rand(10, 1, 4, 4),),
    "check_lora_parameters": (make_unet(block_out_channels=(32, 32)),),
    "check_probability_ratio": (checks.lesson01._toy_rbm()[0], torch.zeros(6), torch.ones(6)),
    "check_last_step": (torch.zeros(4, 1, 16, 16), torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(0))),
}


def _raises(*args):
    raise ZeroDivisionError("the student's bug")


garbage_values = st.one_of(
    st.text(max_size=5), st.just("48x"), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.lists(st.one_of(st.text(max_size=2), st.none()), min_size=1, max_size=3),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), object(), {1, 2}, b"bytes", True]),
    st.builds(lambda shape, dt: np.full(shape, np.nan, dtype=dt),
              st.lists(st.integers(1, 3), max_size=3).map(tuple), st.sampled_from([np.float32, np.float64])),
    st.builds(lambda shape: torch.full(shape, float("nan")), st.lists(st.integers(1, 3), max_size=3).map(tuple)),
    st.builds(lambda shape: torch.zeros(shape, dtype=torch.bool), st.lists(st.integers(1, 3), max_size=3).map(tuple)),
)
garbage = st.one_of(garbage_values, garbage_values.map(lambda v: (lambda *args: v)), st.just(_raises))


@pytest.mark.parametrize("name", sorted(CHECKERS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=garbage)
def test_no_checker_crashes_or_praises_garbage(name, answer, capsys):
    result = CHECKERS[name](answer, *EXTRA.get(name, ()))
    assert result is False
    assert capsys.readouterr().out.strip(), "a checker must say something"


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_every_checker_has_a_docstring_saying_what_it_expects(name):
    assert inspect.getdoc(CHECKERS[name]).startswith("Lesson 0")


def test_right_answers_in_other_forms_are_accepted(capsys):
    from course_utils.noise import add_noise

    for ratio in (48, 48.0, np.float64(48), np.int64(48), torch.tensor(48.0), torch.tensor([48])):
        assert checks.check_compression_ratio(ratio), ratio
    assert checks.check_unet_calls(np.int64(50)) and checks.check_unet_calls(50.0)
    assert not checks.check_unet_calls(50.7)                        # a count is a whole number
    assert checks.check_add_noise(lambda *a: add_noise(*a).double().numpy())
    assert checks.check_timeline_order(("RBM", "VAE", "GAN", "DDPM", "Stable Diffusion", "DiT"))
    assert checks.check_mode_collapse("B ", *EXTRA["check_mode_collapse"])
