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


def test_loop_by_hand_gives_the_pipelines_image(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    for negative in ["", "a blue star"]:
        mine = pipelines.denoise_by_hand(pipe, "a big yellow star", negative_prompt=negative, guidance_scale=4.0,
                                         num_inference_steps=4, seed=3)
        theirs = pipe("a big yellow star", negative_prompt=negative or None, guidance_scale=4.0, num_inference_steps=4,
                      generator=_gen(3), output_type="pt").images[0]
        assert torch.allclose(mine["image"], theirs, atol=1e-5)
        assert mine["latents"].shape == mine["x0"].shape == (4, 4, 8, 8) and len(mine["timesteps"]) == 4
    # and a different seed gives a different image: the comparison can fail
    other = pipelines.denoise_by_hand(pipe, "a big yellow star", guidance_scale=4.0, num_inference_steps=4, seed=4)
    assert not torch.allclose(other["image"], theirs, atol=1e-3)


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


@pytest.mark.parametrize("name", ["DDIM", "DPM-Solver++", "Euler"])
def test_denoising_strip_works_with_each_scheduler(tiny_course_checkpoints, name):
    from course_utils.pipelines import make_scheduler

    pipe = pipelines.load_text_to_image(device="cpu")
    pipe.scheduler = make_scheduler(name, pipe.scheduler.config)
    img, latents, steps = pipelines.denoising_strip(pipe, "a red circle", n_show=3, num_inference_steps=5)
    assert img.shape == (3, 64, 64) and latents.shape == (3, 4, 8, 8) and steps == [1, 3, 5]
    assert latents.abs().max() < 50     # Euler's sigma-scaled latents were brought back to unit scale


def test_measure_adherence_and_component_table(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    r = pipelines.measure_adherence(pipe, 3, num_inference_steps=2)
    assert set(r) >= {"colour", "shape", "size", "position", "background", "all"}
    assert all(0 <= v <= 1 for v in r.values())
    rows = pipelines.component_table(pipe)
    assert [r["part"] for r in rows] == ["tokenizer", "text_encoder", "unet", "scheduler", "vae (decode)"]
    assert rows[2]["parameters"] == sum(p.numel() for p in pipe.unet.parameters())
    assert "(1, 32, 384)" in rows[1]["output"] and "(1, 3, 64, 64)" in rows[4]["output"]


@pytest.mark.parametrize("w", [0.0, 0.5, 1.0])
def test_guidance_up_to_one_means_no_guidance_in_the_pipeline_and_by_hand(tiny_course_checkpoints, w):
    """diffusers' do_classifier_free_guidance: w <= 1 runs the prompt's prediction alone."""
    pipe = pipelines.load_text_to_image(device="cpu")
    mine = pipelines.denoise_by_hand(pipe, "a big yellow star", guidance_scale=w, num_inference_steps=3, seed=1)
    theirs = pipe("a big yellow star", guidance_scale=w, num_inference_steps=3, generator=_gen(1),
                  output_type="pt").images[0]
    assert torch.allclose(mine["image"], theirs, atol=1e-5)
    no_guidance = pipe("a big yellow star", guidance_scale=1.0, num_inference_steps=3, generator=_gen(1),
                       output_type="pt").images[0]
    assert torch.equal(theirs, no_guidance)
    guided = pipe("a big yellow star", guidance_scale=3.0, num_inference_steps=3, generator=_gen(1),
                  output_type="pt").images[0]
    assert not torch.allclose(guided, theirs, atol=1e-4)   # the comparison can fail


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


@pytest.mark.parametrize("spacing", ["leading", "trailing"])
def test_loop_by_hand_sets_the_timesteps_before_scaling_the_noise_as_the_pipeline_does(tiny_course_checkpoints,
                                                                                        spacing):
    """Euler's init_noise_sigma depends on the timesteps set; 'leading' is Stable Diffusion 1.5's spacing."""
    pipe = pipelines.load_text_to_image(device="cpu")
    config = dict(pipe.scheduler.config) | {"timestep_spacing": spacing}
    euler = lambda: pipelines.make_scheduler("Euler", config)  # noqa: E731 - a fresh scheduler for each loop
    with_euler = pipelines.StableDiffusionPipeline(**pipe.components | {"scheduler": euler()},
                                                   requires_safety_checker=False)
    with_euler.set_progress_bar_config(disable=True)
    mine = pipelines.denoise_by_hand(pipe, "a big yellow star", guidance_scale=3.0, num_inference_steps=4, seed=2,
                                     scheduler=euler())
    theirs = with_euler("a big yellow star", guidance_scale=3.0, num_inference_steps=4, generator=_gen(2),
                        output_type="pt").images[0]
    assert torch.allclose(mine["image"], theirs, atol=1e-5)
    # negative control: the noise scaled by init_noise_sigma read before set_timesteps (the old order)
    before, after = euler(), euler()
    after.set_timesteps(4)
    noise = torch.randn(1, 4, 8, 8, generator=_gen(2))
    old = with_euler("a big yellow star", guidance_scale=3.0, num_inference_steps=4, output_type="pt",
                     latents=noise * before.init_noise_sigma / after.init_noise_sigma).images[0]
    if spacing == "leading":   # the start sigma differs, and so does the image
        assert not torch.allclose(old, theirs, atol=1e-3)
    else:                      # 'trailing' starts at t = 999 either way: the order did not matter
        assert torch.allclose(old, theirs, atol=1e-5)


def test_recorded_adherence_reads_the_cards_rows():
    import json

    from course_utils.paths import checkpoint_dir

    rows = json.loads((checkpoint_dir("unet-shapes") / "metrics.json").read_text())["rows"]
    single = [r for r in rows if r["set"] == "single" and r["wording"] == "heldout"]
    for row in single:                                                   # every recorded one-object row, by its settings
        got = pipelines.recorded_adherence(row["guidance"], guidance_rescale=row["rescale"],
                                           num_inference_steps=row["steps"])
        assert got == {k: row[k] for k in ("colour", "shape", "size", "position", "background", "all", "n")}
    two = next(r for r in rows if r["set"] == "two objects" and r["guidance"] == 2.0)
    assert pipelines.recorded_adherence(2.0, two_object_fraction=1.0) == {"both_objects": two["both_objects"], "n": two["n"]}
    plain, rescaled = pipelines.recorded_adherence(7.5), pipelines.recorded_adherence(7.5, guidance_rescale=0.7)
    assert plain["all"] != rescaled["all"]                               # the settings pick the row
    with pytest.raises(ValueError, match=r"records no row .* measure_adherence"):
        pipelines.recorded_adherence(4.0)
    with pytest.raises(ValueError, match="one-object"):
        pipelines.recorded_adherence(2.0, two_object_fraction=0.5)


def test_adherence_measures_live_or_reads_the_card(tiny_course_checkpoints):
    import shutil

    from course_utils import paths

    shutil.copy(paths.ROOT / "assets" / "checkpoints" / "unet-shapes" / "metrics.json", tiny_course_checkpoints / "unet-shapes")
    pipe = pipelines.load_text_to_image(device="cpu")
    live = pipelines.adherence(pipe, 2, True, guidance_scale=2.0, num_inference_steps=2)
    assert live["n"] == 2 and set(live) >= {"colour", "all"}
    assert pipelines.adherence(pipe, 2, False, guidance_scale=2.0) == pipelines.recorded_adherence(2.0)
    with pytest.raises(ValueError, match="records no row"):                # a setting the card never measured
        pipelines.adherence(pipe, 2, False, guidance_scale=2.0, num_inference_steps=2)


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
