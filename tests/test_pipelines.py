import pytest
import torch

from course_utils import pipelines
from course_utils.models.unet_shapes import encode_prompts


def test_course_pipeline_assembles_and_encodes_like_training(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    assert type(pipe).__name__ == "StableDiffusionPipeline" and pipe.safety_checker is None
    prompts = ["a small red circle in the top left", ""]
    ours = encode_prompts(pipe.tokenizer, pipe.text_encoder, prompts)
    theirs, _ = pipe.encode_prompt(prompts, "cpu", 1, False)
    assert ours.shape == (2, 32, 384) and torch.allclose(ours, theirs)
    out = pipe("a red circle", num_inference_steps=2, guidance_scale=3.0, height=64, width=64,
               generator=torch.Generator().manual_seed(0), output_type="pt")
    assert out.images.shape == (1, 3, 64, 64)


def test_unreachable_hub_model_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match="model_id=None"):
        pipelines.load_text_to_image("someone/not-a-cached-model", device="cpu")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("kwargs, message", [
    (dict(prompt=3), "prompt must be a string"),
    (dict(prompt=["a red circle", 5]), "prompt must be a list of strings"),
    (dict(prompt=[]), "prompt must be a list of 1 to"),
    (dict(prompt="a red circle", negative_prompt=7), "negative_prompt must be a string"),
    (dict(prompt="a red circle", height=60, width=64), "multiple of 8"),
    (dict(prompt="a red circle", height=0, width=64), "multiple of 8"),
    (dict(prompt="a red circle", num_inference_steps=0), "at least 1 and"),
    (dict(prompt="a red circle", num_inference_steps=-2), "at least 1 and"),
    (dict(prompt="a red circle", num_inference_steps=2.5), "whole number"),
    (dict(prompt="a red circle", guidance_scale=float("nan")), "guidance_scale must be a finite number"),
    (dict(prompt="a red circle", guidance_scale=float("inf")), "guidance_scale must be a finite number"),
    (dict(prompt="a red circle", guidence_scale=3.0), "did you mean guidance_scale"),
])
def test_bad_generation_input_gets_a_clear_error(tiny_course_checkpoints, kwargs, message):
    pipe = pipelines.load_text_to_image(device="cpu")
    kwargs.setdefault("num_inference_steps", 2)
    with pytest.raises((ValueError, TypeError), match=message):
        pipe(**kwargs, generator=_gen(), output_type="pt")


def test_empty_prompt_is_unconditional_and_long_prompt_warns(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    assert pipe("", num_inference_steps=2, generator=_gen(), output_type="pt").images.shape == (1, 3, 64, 64)
    with pytest.warns(UserWarning, match="reads only the first 32"):
        out = pipe("a small red circle in the top left " * 6, num_inference_steps=2, generator=_gen(), output_type="pt")
    assert out.images.shape == (1, 3, 64, 64)


def test_saved_pipeline_loads_back_with_from_pretrained(tiny_course_checkpoints, tmp_path):
    pipe = pipelines.load_text_to_image(device="cpu")
    pipe.save_pretrained(tmp_path / "saved")
    again = pipelines.load_text_to_image(str(tmp_path / "saved"), device="cpu")
    assert again is not pipe and again.tokenizer.model_max_length == 32
    assert again.scheduler.config.prediction_type == pipe.scheduler.config.prediction_type
    a = pipe("a red circle", num_inference_steps=3, generator=_gen(), output_type="pt").images
    b = again("a red circle", num_inference_steps=3, generator=_gen(), output_type="pt").images
    assert torch.allclose(a, b, atol=1e-6)


def test_img2img_shares_the_parts_and_strength_sets_the_steps(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    i2i = pipelines.img2img(pipe)
    assert type(i2i).__name__ == "StableDiffusionImg2ImgPipeline" and i2i.unet is pipe.unet
    calls = []
    hook = pipe.unet.register_forward_hook(lambda m, a, o: calls.append(1))
    image = torch.rand(1, 3, 64, 64)
    out = i2i("a blue star", image=image, strength=0.6, num_inference_steps=10, generator=_gen(), output_type="pt")
    hook.remove()
    assert out.images.shape == (1, 3, 64, 64) and len(calls) == 6


def test_img2img_refuses_a_strength_that_runs_no_step(tiny_course_checkpoints):
    i2i = pipelines.img2img(pipelines.load_text_to_image(device="cpu"))
    image = torch.rand(1, 3, 64, 64)
    with pytest.raises(ValueError, match=r"strength 0.05 with num_inference_steps=10 runs .* 0 denoising steps.*at least 20"):
        i2i("a blue star", image=image, strength=0.05, num_inference_steps=10)
    out = i2i("a blue star", image=image, strength=0.05, num_inference_steps=20, generator=_gen(), output_type="pt")
    assert out.images.shape == (1, 3, 64, 64)
    with pytest.raises(ValueError, match="image must be given"):
        i2i("a blue star", strength=0.5)


def test_a_folder_without_safetensors_is_refused(tiny_course_checkpoints, tmp_path):
    pipe = pipelines.load_text_to_image(device="cpu")
    pipe.save_pretrained(tmp_path / "pickled", safe_serialization=False)
    with pytest.raises(OSError, match="safetensors"):
        pipelines.load_text_to_image(str(tmp_path / "pickled"), device="cpu")


def test_with_scheduler_leaves_the_shared_pipeline_as_it_was(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    before, config = pipe.scheduler, dict(pipe.scheduler.config)
    euler = pipelines.with_scheduler(pipe, "Euler")
    assert type(euler.scheduler).__name__ == "EulerDiscreteScheduler" and euler.unet is pipe.unet   # parts shared
    assert pipe.scheduler is before and dict(pipe.scheduler.config) == config                        # not swapped
    mine = euler("a red circle", num_inference_steps=3, generator=_gen(0), output_type="pt").images[0]
    by_hand = pipelines.StableDiffusionPipeline(**pipe.components | {"scheduler": pipelines.make_scheduler(
        "Euler", config)}, requires_safety_checker=False)
    theirs = by_hand("a red circle", num_inference_steps=3, generator=_gen(0), output_type="pt").images[0]
    assert torch.equal(mine, theirs)
    ddim = pipe("a red circle", num_inference_steps=3, generator=_gen(0), output_type="pt").images[0]
    assert not torch.allclose(ddim, theirs, atol=1e-3)          # the scheduler made a difference: the check can fail
    with pytest.raises(ValueError, match="scheduler must be one of"):
        pipelines.with_scheduler(pipe, "PNDM")


def test_the_course_pipeline_leaves_texts_cached_tokenizer_and_encoder_alone(tiny_course_checkpoints):
    from course_utils import text

    pipe = pipelines.load_text_to_image(device="cpu")
    tokenizer, encoder = text.load_text_encoder(None, "cpu")       # what lesson 04 gets
    assert pipe.tokenizer.model_max_length == 32 and pipe.text_encoder.config.use_attention_mask
    assert tokenizer.model_max_length != 32 and not getattr(encoder.config, "use_attention_mask", False)
    assert pipe.text_encoder.embeddings.word_embeddings.weight is encoder.embeddings.word_embeddings.weight  # one copy


def test_the_names_that_moved_out_still_read_from_here():
    """Lessons written before the split call pipelines.generate, pipelines.denoise_by_hand, ...: the same functions."""
    from course_utils import adherence, inspection, recorded

    homes = {"generate": adherence, "measure_adherence": adherence, "adherence": adherence,
             "latents_to_images": inspection, "denoising_strip": inspection, "component_table": inspection,
             "denoise_by_hand": inspection}
    for name, home in homes.items():
        assert getattr(pipelines, name) is getattr(home, name), name
        assert name in dir(pipelines)
    assert pipelines.recorded_adherence is recorded.adherence
    from course_utils.pipelines import denoise_by_hand, generate  # from-imports in old lessons too

    assert (generate, denoise_by_hand) == (adherence.generate, inspection.denoise_by_hand)
    with pytest.raises(AttributeError, match="no attribute 'genrate'"):  # a typo is still an AttributeError
        _ = pipelines.genrate
