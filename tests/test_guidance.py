import pytest
import torch

from course_utils import adherence, guidance, pipelines
from course_utils.models.unet_shapes import load
from course_utils.paths import CHECKPOINTS

PROMPTS = ["a red circle and a blue square", "a tiny green star toward the upper left"]


@pytest.fixture(scope="module")
def pipe():
    return pipelines.load_text_to_image(device="cpu")


def _draw(p, w=5.0, steps=8, seed=0):
    return adherence.generate(p, PROMPTS, seed=seed, guidance_scale=w, num_inference_steps=steps)


def test_plain_cfg_through_the_wrapper_is_the_pipelines_own(pipe):
    assert torch.allclose(_draw(guidance.with_guidance(pipe, "cfg", 5.0)), _draw(pipe), atol=2e-4)


def test_apg_with_everything_kept_is_cfg_and_differs_otherwise(pipe):
    plain = _draw(pipe)
    assert torch.allclose(_draw(guidance.with_guidance(pipe, "apg", 5.0, eta=1.0)), plain, atol=2e-4)
    projected = _draw(guidance.with_guidance(pipe, "apg", 5.0, eta=0.0, norm_threshold=1.0, momentum=-0.5))
    assert (projected - plain).abs().mean() > 1e-3                       # negative control: APG does something


def test_an_interval_that_never_guides_is_the_conditional_model_alone(pipe):
    never = guidance.with_guidance(pipe, "interval", 5.0, start=0.99, stop=1.0)   # int(0.99 * 8) = 7: the last step only
    cond_only = _draw(pipe, w=1.0)                                              # diffusers: no guidance at w <= 1
    assert (_draw(never) - cond_only).abs().mean() < (_draw(pipe) - cond_only).abs().mean() / 3
    middle = guidance.with_guidance(pipe, "interval", 5.0, start=0.25, stop=0.75)
    assert not torch.allclose(_draw(middle), _draw(pipe), atol=1e-3)


def test_autoguidance_with_the_model_itself_as_the_weak_one_is_no_guidance(pipe):
    weak = load(CHECKPOINTS / "unet-shapes")                            # the same weights: weak(cond) = cond
    same = guidance.with_guidance(pipe, "auto", 5.0, weak=weak)
    assert torch.allclose(_draw(same), _draw(pipe, w=1.0), atol=2e-4)
    noisy = load(CHECKPOINTS / "unet-shapes")
    with torch.no_grad():
        for p in noisy.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(0)) * 0.01)
    assert not torch.allclose(_draw(guidance.with_guidance(pipe, "auto", 5.0, weak=noisy)), _draw(pipe, w=1.0), atol=1e-3)


def test_the_default_pipeline_is_untouched(pipe):
    before = _draw(pipe)
    guidance.with_guidance(pipe, "apg", 5.0, eta=0.0)
    assert pipe.unet.__class__.__name__ == "UNet2DConditionModel"
    assert torch.equal(_draw(pipe), before)


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="cgf", guidance_scale=5.0), "kind"),
    (dict(kind="cfg", guidance_scale=1.0), "guidance"),
    (dict(kind="interval", guidance_scale=5.0, start=0.8, stop=0.2), "start < stop"),
    (dict(kind="auto", guidance_scale=5.0), "weak="),
    (dict(kind="apg", guidance_scale=5.0, eta=2.0), "eta"),
])
def test_bad_guidance_settings_say_what_was_expected(pipe, kwargs, match):
    with pytest.raises(ValueError, match=match):
        guidance.with_guidance(pipe, **kwargs)
