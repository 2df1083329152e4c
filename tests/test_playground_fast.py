"""The playground's "fast (4 steps)" switch (issue 29): off, the model the lesson teaches; on, lcm-shapes
(loaded the first time) at 4 steps and guidance 1; a missing or broken adapter gets a message, never an
exception. Driven without a browser on a tiny untrained pipeline with a tiny adapter."""

import pytest
import torch

from course_utils import models, pipelines, widgets
from course_utils.widgets import fast


@pytest.fixture
def tiny_lcm(tiny_course_checkpoints):
    """A rank-2 LoRA on the tiny unet-shapes, saved as lcm-shapes next to it."""
    from course_utils.finetune import fresh_pipeline
    from course_utils.finetune.unet_adapters import add_lora, save_lora

    pipe = fresh_pipeline("cpu")
    add_lora(pipe.unet, rank=2)
    save_lora(pipe.unet, tiny_course_checkpoints / "lcm-shapes")
    return tiny_course_checkpoints / "lcm-shapes"


@pytest.fixture
def pipeline_calls(monkeypatch):
    """Every call of a StableDiffusionPipeline: (the pipeline, its keyword arguments)."""
    import functools

    from diffusers import StableDiffusionPipeline

    calls, call = [], StableDiffusionPipeline.__call__

    @functools.wraps(call)                       # the same signature: the course checks the arguments against it
    def recorded(self, *args, **kwargs):
        calls.append((self, kwargs))
        return call(self, *args, **kwargs)

    monkeypatch.setattr(StableDiffusionPipeline, "__call__", recorded)
    return calls


def test_the_switch_draws_with_lcm_at_4_steps_without_guidance_and_back(tiny_lcm, pipeline_calls):
    from diffusers import LCMScheduler

    pipe = pipelines.load_text_to_image(device="cpu")
    pg = widgets.prompt_playground(pipe, scale=3)
    assert not pg.fast.on and pg.fast.toggle.description == "fast (4 steps)" and not pg.fast.toggle.disabled
    assert pg.fast.toggle.tooltip == fast.WHAT and "distilled LoRA adapter, 4 LCM steps, no guidance" in pg.fast.note.value
    assert ("lcm-shapes", "cpu") not in models._CACHE                     # loaded only when switched on
    pg.steps.value, pg.guidance.value = 6, 3.0
    teacher_picture = pg.image.value

    pg.fast.toggle.value = True
    lcm = models.load_pretrained("lcm-shapes", "cpu")
    drawn_by, kwargs = pipeline_calls[-1]
    assert drawn_by is lcm and isinstance(lcm.scheduler, LCMScheduler) and lcm.unet is not pipe.unet
    assert kwargs["num_inference_steps"] == 4 and kwargs["guidance_scale"] == 1.0 and kwargs["negative_prompt"] is None
    assert all(c.disabled for c in (pg.negative, pg.guidance, pg.steps, pg.scheduler))
    assert pg.fast.toggle.button_style == "success"                       # on is green
    assert "fast: LCM, 4 steps in" in pg.label.value and "steps [1, 2, 3, 4]" in pg.label.value
    assert pg.image.value != teacher_picture and isinstance(pipe.scheduler, type(pipelines.make_scheduler("DDIM", {})))
    pg.seed.value = 1                                                     # still fast: 4 steps, no guidance
    assert pipeline_calls[-1][0] is lcm and pipeline_calls[-1][1]["num_inference_steps"] == 4

    pg.fast.toggle.value = False
    drawn_by, kwargs = pipeline_calls[-1]
    assert drawn_by is not lcm and drawn_by.unet is pipe.unet and type(drawn_by.scheduler).__name__ == "DDIMScheduler"
    assert kwargs["num_inference_steps"] == 6 and kwargs["guidance_scale"] == 3.0
    assert not any(c.disabled for c in (pg.negative, pg.guidance, pg.steps, pg.scheduler))
    assert pg.label.value.startswith("DDIM, 6 steps in") and pg.fast.toggle.button_style == ""


def test_a_missing_adapter_disables_the_switch_and_says_why(tiny_course_checkpoints, pipeline_calls):
    pg = widgets.prompt_playground(pipelines.load_text_to_image(device="cpu"), scale=3)
    assert pg.fast.toggle.disabled and not pg.fast.on
    for said in (pg.fast.note.value, pg.fast.toggle.tooltip):
        assert "fast (4 steps) is unavailable" in said and "python scripts/train_lcm_shapes.py" in said
    n = len(pipeline_calls)
    pg.fast.toggle.value = True                                           # a kernel can still set it: no exception
    assert not pg.fast.on and "lcm-shapes" in pg.fast.note.value
    assert len(pipeline_calls) == n + 1 and pipeline_calls[-1][1]["num_inference_steps"] == 25   # the teacher drew


def test_an_adapter_that_fails_to_load_switches_back_off(tiny_lcm):
    (tiny_lcm / "pytorch_lora_weights.safetensors").write_bytes(b"not a safetensors file")
    pg = widgets.prompt_playground(pipelines.load_text_to_image(device="cpu"), scale=3)
    pg.fast.toggle.value = True
    assert not pg.fast.on and pg.fast.toggle.disabled
    assert "fast (4 steps) could not load" in pg.fast.note.value and "train_lcm_shapes.py" in pg.fast.note.value
    assert pg.label.value.startswith("DDIM, 25 steps in")                 # the teacher's picture, as before


def test_the_adapter_is_offered_only_for_the_unet_it_was_distilled_from(tiny_lcm):
    pipe = pipelines.load_text_to_image(device="cpu")
    assert fast.unavailable(pipe) is None
    other = type("Pipe", (), {"unet": type("UNet", (), {"config": {**pipe.unet.config, "cross_attention_dim": 768}})})
    assert "distilled from the course's unet-shapes, and this pipeline has another U-Net" in fast.unavailable(other)


def test_the_classroom_playground_has_the_switch_off(tiny_lcm):
    tabs = widgets.classroom_playground(pipelines.load_text_to_image(device="cpu"), scale=3)
    text_to_image = tabs.children[0]
    assert isinstance(text_to_image.fast, fast.FastSwitch) and not text_to_image.fast.on
    assert text_to_image.fast in text_to_image.children[0].children[0].children     # in the controls column
    assert ("lcm-shapes", "cpu") not in models._CACHE


@pytest.mark.slow
def test_the_shipped_adapter_draws_in_the_playground():
    """The adapter in assets/checkpoints/lcm-shapes (whichever is there) loads and draws at 4 steps."""
    from course_utils import paths

    try:
        paths.checkpoint_dir("lcm-shapes")
    except FileNotFoundError:
        pytest.skip("no lcm-shapes adapter in assets/checkpoints (python scripts/train_lcm_shapes.py builds it)")
    pg = widgets.prompt_playground(pipelines.load_text_to_image(device="cpu"), scale=3)
    pg.fast.toggle.value = True
    assert pg.fast.on and "fast: LCM, 4 steps in" in pg.label.value and pg.image.value[:4] == b"\x89PNG"
    assert torch.is_tensor(pg.generate()["image"])
