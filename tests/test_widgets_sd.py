"""The lesson 06 widgets, driven without a browser on a tiny untrained pipeline."""
import pytest

from course_utils import pipelines, widgets
from course_utils.pipelines import make_scheduler


def test_prompt_playground_generates_and_reports_bad_prompts(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    pg = widgets.prompt_playground(pipe)
    own = pipe.scheduler
    pg.steps.value, pg.scheduler.value = 4, "Euler"
    r = pg.generate()
    assert r["image"].shape == (3, 64, 64) and r["strip"].shape[1:] == (3, 64, 64)
    assert pg.image.value[:4] == b"\x89PNG" and "Euler, 4 steps" in pg.label.value
    assert pipe.scheduler is own                                     # the shared pipeline's own scheduler, never swapped
    with pytest.raises(ValueError, match="num_inference_steps must be a whole number of at least 1"):
        pg.run("a red circle", steps=0)
    first = pg.image.value
    pg.run = lambda *a: pg.pipe(3)                                   # a bad prompt: a message, the old image stays
    assert pg.generate() == {} and "must be a string" in pg.label.value and pg.image.value == first


def test_guidance_explorer_switches_images(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    ge = widgets.guidance_explorer(pipe, "a red circle", scales=(1.0, 5.0), n_seeds=2, num_inference_steps=2)
    before = ge.image.value
    ge.slider.value = 1.0 if ge.slider.value == 5.0 else 5.0
    assert ge.image.value != before


def test_unknown_scheduler_name():
    with pytest.raises(ValueError, match="DDIM"):
        make_scheduler("PNDM", {})


def test_img2img_explorer_follows_the_strength(tiny_course_checkpoints):
    import torch

    pipe = pipelines.load_text_to_image(device="cpu")
    ex = widgets.img2img_explorer(pipelines.img2img(pipe), "a blue square", torch.rand(1, 3, 64, 64),
                                  strength=0.5, num_inference_steps=4)
    assert "2 denoising steps" in ex.label.value
    before = ex.image.value
    ex.strength.value = 1.0
    assert "4 denoising steps" in ex.label.value and ex.image.value != before
    ex.strength.value = ex.strength.min                  # the lowest strength still runs a step
    assert ex.strength.min == 0.25 and "1 denoising steps" in ex.label.value


def test_enter_generates_even_when_the_prompt_is_unchanged(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    pg = widgets.prompt_playground(pipe, scale=3)
    pg.steps.value = 2
    calls = []
    pg.run = lambda *args: calls.append(args) or {}
    pg.prompt._handle_custom_msg({"event": "submit"}, [])          # what the browser sends on Enter
    pg.negative._handle_custom_msg({"event": "submit"}, [])
    assert len(calls) == 2 and calls[0][0] == pg.prompt.value
    assert not pg.guidance.continuous_update and not pg.steps.continuous_update   # a model run per release


def test_pictures_keep_their_own_size(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    pg = widgets.prompt_playground(pipe, scale=3)
    assert pg.image.layout.width == "192px" and pg.image.layout.max_width == "100%"   # 64 px x 3, shrinks if it must
    assert pg.image.layout.align_self == "flex-start"                                # never stretched by its box


def test_classroom_playground_has_its_four_tabs(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    tabs = widgets.classroom_playground(pipe, scale=3)
    assert [tabs.get_title(i) for i in range(4)] == ["Text to image", "Noising (lesson 03)", "The VAE (lesson 05)",
                                                     "Teal (lesson 08)"]
    playground, noising, vae, teal = tabs.children
    assert playground.image.value[:4] == b"\x89PNG" and noising.image.value and vae.latent.value
    assert "loading" in teal.children[0].value          # the adapter loads when the tab is first opened (browser test)
    assert playground.image.layout.width == "192px"


def test_attention_explorer_redraws_from_one_run(tiny_course_checkpoints):
    import torch

    pipe = pipelines.load_text_to_image(device="cpu")
    ex = widgets.attention_explorer(pipe, "a red circle and a blue square", num_inference_steps=3)
    assert [label for label, _ in ex.word.options][:3] == ["a (0)", "red (1)", "circle (2)"]
    assert len(ex.step.options) == 4 and ex.step.value == "mean"               # "mean" and steps 1 ... 3
    calls = []
    pipe_call = type(pipe).__call__
    type(pipe).__call__ = lambda *a, **k: calls.append(1)                      # moving the controls runs no model
    try:
        before = bytes(ex.image.value)
        ex.word.value = 5                                                         # "blue"
        assert bytes(ex.image.value) != before and "<b>blue</b>" in ex.label.value
        ex.step.value = 2
        assert "step 3 of 3" in ex.label.value
    finally:
        type(pipe).__call__ = pipe_call
    assert calls == []
    red, blue = ex.overlay(1, 0), ex.overlay("blue", 0)
    assert red.shape == (3, 64, 64) and not torch.allclose(red, blue)
    assert 0 <= float(red.min()) and float(red.max()) <= 1
