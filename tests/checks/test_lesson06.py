"""Lesson 06's checkers (course_utils/checks/lesson06.py)."""

from course_utils import checks


def test_guidance_checker_names_the_mistake(capsys):
    assert checks.check_guidance(lambda u, t, w: u + w * (t - u))
    capsys.readouterr()
    assert not checks.check_guidance(lambda u, t, w: t + w * (t - u))
    assert "unconditional" in capsys.readouterr().out
    assert not checks.check_guidance(lambda u, t, w: u + w * (u - t))
    assert "reversed" in capsys.readouterr().out
    assert not checks.check_guidance(lambda u, t, w: None)


def test_counting_checkers(capsys):
    assert checks.check_unet_calls(50) and not checks.check_unet_calls(25) and not checks.check_unet_calls(None)
    assert "two predictions" in capsys.readouterr().out
    assert checks.check_img2img_steps(15) and not checks.check_img2img_steps(10)
    assert "skips" in capsys.readouterr().out


def test_negative_prompt_at_w1(capsys):
    assert checks.check_negative_prompt_at_w1(0.0) and checks.check_negative_prompt_at_w1(3e-7)
    assert "only through guidance" in capsys.readouterr().out
    assert not checks.check_negative_prompt_at_w1(0.31)                  # what w = 5 would give
    assert "same seed" in capsys.readouterr().out
    assert not checks.check_negative_prompt_at_w1(255.0) and not checks.check_negative_prompt_at_w1("0")
