"""course_utils/inspection.py: lesson 06's loop by hand, denoising strip and component table."""

import pytest
import torch

from course_utils import inspection, pipelines


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_loop_by_hand_gives_the_pipelines_image(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    for negative in ["", "a blue star"]:
        mine = inspection.denoise_by_hand(pipe, "a big yellow star", negative_prompt=negative, guidance_scale=4.0,
                                         num_inference_steps=4, seed=3)
        theirs = pipe("a big yellow star", negative_prompt=negative or None, guidance_scale=4.0, num_inference_steps=4,
                      generator=_gen(3), output_type="pt").images[0]
        assert torch.allclose(mine["image"], theirs, atol=1e-5)
        assert mine["latents"].shape == mine["x0"].shape == (4, 4, 8, 8) and len(mine["timesteps"]) == 4
    # and a different seed gives a different image: the comparison can fail
    other = inspection.denoise_by_hand(pipe, "a big yellow star", guidance_scale=4.0, num_inference_steps=4, seed=4)
    assert not torch.allclose(other["image"], theirs, atol=1e-3)


@pytest.mark.parametrize("name", ["DDIM", "DPM-Solver++", "Euler"])
def test_denoising_strip_works_with_each_scheduler(tiny_course_checkpoints, name):
    from course_utils.pipelines import make_scheduler

    pipe = pipelines.load_text_to_image(device="cpu")
    pipe.scheduler = make_scheduler(name, pipe.scheduler.config)
    img, latents, steps = inspection.denoising_strip(pipe, "a red circle", n_show=3, num_inference_steps=5)
    assert img.shape == (3, 64, 64) and latents.shape == (3, 4, 8, 8) and steps == [1, 3, 5]
    assert latents.abs().max() < 50     # Euler's sigma-scaled latents were brought back to unit scale


@pytest.mark.parametrize("w", [0.0, 0.5, 1.0])
def test_guidance_up_to_one_means_no_guidance_in_the_pipeline_and_by_hand(tiny_course_checkpoints, w):
    """diffusers' do_classifier_free_guidance: w <= 1 runs the prompt's prediction alone."""
    pipe = pipelines.load_text_to_image(device="cpu")
    mine = inspection.denoise_by_hand(pipe, "a big yellow star", guidance_scale=w, num_inference_steps=3, seed=1)
    theirs = pipe("a big yellow star", guidance_scale=w, num_inference_steps=3, generator=_gen(1),
                  output_type="pt").images[0]
    assert torch.allclose(mine["image"], theirs, atol=1e-5)
    no_guidance = pipe("a big yellow star", guidance_scale=1.0, num_inference_steps=3, generator=_gen(1),
                       output_type="pt").images[0]
    assert torch.equal(theirs, no_guidance)
    guided = pipe("a big yellow star", guidance_scale=3.0, num_inference_steps=3, generator=_gen(1),
                  output_type="pt").images[0]
    assert not torch.allclose(guided, theirs, atol=1e-4)   # the comparison can fail


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
    mine = inspection.denoise_by_hand(pipe, "a big yellow star", guidance_scale=3.0, num_inference_steps=4, seed=2,
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



def test_component_table_runs_each_part(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    rows = inspection.component_table(pipe)
    assert [r["part"] for r in rows] == ["tokenizer", "text_encoder", "unet", "scheduler", "vae (decode)"]
    assert rows[2]["parameters"] == sum(p.numel() for p in pipe.unet.parameters())
    assert "(1, 32, 384)" in rows[1]["output"] and "(1, 3, 64, 64)" in rows[4]["output"]
