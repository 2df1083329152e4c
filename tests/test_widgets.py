import pytest
import torch

from course_utils import data, widgets


def test_quiz_scores_answers_and_ends():
    real, fake = torch.zeros(3, 1, 8, 8), torch.ones(3, 1, 8, 8)
    quiz = widgets.real_or_generated_quiz(real, fake, n_rounds=4, seed=0)
    truths = [truth for _, truth in quiz.rounds]
    assert len(truths) == 4 and quiz.image.value  # an image is shown
    assert quiz.answer(truths[0]) is True
    wrong = "real" if truths[1] == "generated" else "generated"
    assert quiz.answer(wrong) is False
    assert "no: it was" in quiz.status.value
    quiz.buttons[0].click()  # the buttons call answer() too
    quiz.answer("real")
    assert quiz.i == 4 and "Done" in quiz.status.value and all(b.disabled for b in quiz.buttons)
    assert quiz.answer("real") is None
    with pytest.raises(ValueError, match="'real' or 'generated'"):
        widgets.real_or_generated_quiz(real, fake).answer("fake")


def test_noising_explorer_shows_more_noise_as_t_grows():
    ex = widgets.noising_explorer(data.photo("astronaut", 32))
    clean = ex.image.value
    ex.t.value = 999
    assert ex.image.value != clean and "t = 999" in ex.label.value
    before = ex.image.value
    ex.kind.value = "cosine"
    assert ex.image.value != before and "cosine" in ex.kind.value
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        widgets.noising_explorer(torch.rand(2, 3, 8, 8))


def test_trajectory_explorer_steps_through_frames():
    record = [(t, torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8)) for t in (999, 500, 0)]
    ex = widgets.trajectory_explorer(record)
    first = ex.image.value
    ex.step.value = 2
    assert ex.image.value != first and "t = 0" in ex.label.value
    with pytest.raises(ValueError, match="empty"):
        widgets.trajectory_explorer([])


def test_widget_pictures_are_not_stretched():
    ex = widgets.noising_explorer(data.photo("astronaut", 32))
    assert ex.image.layout.width == "256px" and ex.image.layout.height == "auto"
    assert ex.image.layout.object_fit == "contain"
