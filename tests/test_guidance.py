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


@pytest.mark.parametrize("kind", ["v_prediction", "epsilon"])
def test_the_x0_maps_invert_each_other_and_give_the_image_that_made_the_noisy_latent(kind):
    from diffusers import DDIMScheduler

    sched = DDIMScheduler(prediction_type=kind, rescale_betas_zero_snr=False)
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    t = 400
    a, s = sched.alphas_cumprod[t].sqrt(), (1 - sched.alphas_cumprod[t]).sqrt()
    x_t = a * x0 + s * eps
    pred = a * eps - s * x0 if kind == "v_prediction" else eps
    to_x0, back = guidance._x0_maps(sched, torch.tensor(t), x_t)
    assert torch.allclose(to_x0(pred), x0, atol=1e-4)
    assert torch.allclose(back(to_x0(pred)), pred, atol=1e-4)
    assert not torch.allclose(to_x0(pred + 0.1), x0, atol=1e-3)          # negative control: another prediction, another x0


def test_apg_drops_the_part_of_the_update_along_cond_and_keeps_cond_itself():
    # Sadat et al.: guided = cond + (w - 1) * (orthogonal part + eta * parallel part) of (cond - uncond)
    cond = torch.tensor([[[[2.0, 0.0]]]])
    along, across = torch.tensor([[[[1.0, 0.0]]]]), torch.tensor([[[[0.0, 1.0]]]])
    w = 5.0
    guider = guidance._guider("apg", w, 0.0, 1.0, eta=0.0, norm_threshold=0.0, momentum=None)
    assert torch.allclose(guider.forward(cond, cond - along).pred, cond)             # only along cond: dropped
    assert torch.allclose(guider.forward(cond, cond - across).pred, cond + (w - 1) * across)
    kept = guidance._guider("apg", w, 0.0, 1.0, eta=1.0, norm_threshold=0.0, momentum=None)
    uncond = cond - along - across
    assert torch.allclose(kept.forward(cond, uncond).pred, uncond + w * (cond - uncond))   # eta = 1: CFG


def test_apg_in_x0_space_differs_from_apg_on_the_raw_prediction(pipe):
    kw = dict(eta=0.0, norm_threshold=0.0)
    x0 = _draw(guidance.with_guidance(pipe, "apg", 5.0, **kw))
    raw = _draw(guidance.with_guidance(pipe, "apg", 5.0, space="prediction", **kw))
    assert (x0 - raw).abs().mean() > 1e-3
    assert torch.allclose(_draw(guidance.with_guidance(pipe, "apg", 5.0, eta=1.0, space="prediction")), _draw(pipe), atol=2e-4)


def test_an_interval_that_never_guides_is_the_conditional_model_alone(pipe):
    never = guidance.with_guidance(pipe, "interval", 5.0, start=0.99, stop=0.999)  # steps int(7.92) <= i < int(7.992): none of 8
    cond_only = _draw(pipe, w=1.0)                                              # diffusers: no guidance at w <= 1
    assert torch.allclose(_draw(never), cond_only, atol=1e-4)
    last = guidance.with_guidance(pipe, "interval", 5.0, start=0.99, stop=1.0)    # int(0.99 * 8) = 7: the last step only
    assert not torch.allclose(_draw(last), cond_only, atol=1e-3)                # negative control: one guided step shows
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
    (dict(kind="apg", guidance_scale=5.0, space="latent"), "space"),
    (dict(kind="cfg", guidance_scale=5.0, separate=-1.0), "separate"),
    (dict(kind="interval", guidance_scale=5.0, start=0.8, stop=0.2), "start < stop"),
    (dict(kind="auto", guidance_scale=5.0), "weak="),
    (dict(kind="apg", guidance_scale=5.0, eta=2.0), "eta"),
])
def test_bad_guidance_settings_say_what_was_expected(pipe, kwargs, match):
    with pytest.raises(ValueError, match=match):
        guidance.with_guidance(pipe, **kwargs)


def test_attention_separation_leaves_one_object_prompts_alone_and_moves_two_object_ones(pipe):
    single, two = ["a tiny green star toward the upper left"], ["a red circle on the left and a blue square on the left"]
    sep = guidance.with_guidance(pipe, "cfg", 5.0, separate=0.3, separate_stop=0.5, separate_gate=0.0)
    plain = guidance.with_guidance(pipe, "cfg", 5.0)
    kw = dict(seed=0, guidance_scale=5.0, num_inference_steps=8)
    assert torch.allclose(adherence.generate(sep, single, **kw), adherence.generate(plain, single, **kw), atol=1e-5)
    assert (adherence.generate(sep, two, **kw) - adherence.generate(plain, two, **kw)).abs().mean() > 1e-3
    with pytest.raises(ValueError, match="callback_on_step_end"):
        sep(two, num_inference_steps=2, callback_on_step_end=lambda *a: {})
    with pytest.raises(ValueError, match="prompt's words"):
        sep(prompt_embeds=torch.zeros(1, 32, 384), num_inference_steps=2)


def test_attention_separation_lowers_the_overlap_it_follows(pipe):
    from course_utils.grounding import attention_overlap, capturing_cross_attention, prompt_objects

    prompts = ["a huge red circle toward the upper left as well as a huge blue star toward the upper right"] * 4
    objects = prompt_objects(pipe.tokenizer, prompts)

    def overlap_at_the_end(p):
        with capturing_cross_attention(pipe.unet) as maps:
            adherence.generate(p, prompts, seed=3, guidance_scale=2.0, num_inference_steps=10)
        last = [m[len(prompts):] for m in maps[-len(maps) // 10:]]           # the last step, conditional half
        return attention_overlap(last, objects).mean()

    steered = guidance.with_guidance(pipe, "cfg", 2.0, separate=0.3, separate_stop=0.9, separate_gate=0.0)
    assert overlap_at_the_end(steered) < overlap_at_the_end(pipe)
