"""course_utils/finetune/teal.py: lesson 08's teal scenes, the latents for them, and the one latent convention."""

import pytest
import torch

from course_utils import pipelines
from course_utils.finetune import teal
from course_utils.finetune.vae_adapters import _off_background, from_encoder, to_decoder
from course_utils.models.vae import decode, encode


def test_teal_examples_are_teal_and_only_asked_colours():
    images, scenes, captions = teal.teal_examples(12, seed=0, other_share=0.5)
    assert images.shape == (12, 3, 64, 64) and len(scenes) == len(captions) == 12
    colours = [s.objects[0].colour for s in scenes]
    assert "teal" in colours and any(c != "teal" for c in colours)
    assert all(("teal" in cap.lower()) == (c == "teal") for cap, c in zip(captions, colours))
    assert teal.read_colours(images[[colours.index("teal")]]) == ["teal"]
    with pytest.raises(ValueError, match="colour"):
        teal.teal_examples(2, colour="mauve")


def test_latents_for_brings_the_decoder_closer_to_the_picture():
    from course_utils.models import load_pretrained

    vae = load_pretrained("vae-shapes")
    images = teal.teal_examples(2, seed=3)[0]
    before = (decode(vae, encode(vae, images)) - images).pow(2).mean()
    after = (decode(vae, to_decoder(vae, teal.latents_for(vae, images, steps=10))) - images).pow(2).mean()
    assert after < before


def test_drawn_latents_are_what_the_pipeline_decodes(tiny_course_checkpoints):
    pipe = teal.fresh_pipeline()
    prompts = ["a red circle", "a blue star on black"]
    z = teal.drawn_latents(pipe, prompts, seed=3, guidance_scales=(2.0, 5.0), steps=2)
    assert z.shape == (4, 4, 8, 8)
    images = pipe(prompts, generator=torch.Generator().manual_seed(4), output_type="pt", guidance_scale=5.0,
                  num_inference_steps=2).images                     # the second batch: guidance 5, seed 3 + 1
    assert torch.allclose(pipelines.latents_to_images(pipe, z[2:]), images, atol=1e-4)   # scaled, as the pipeline's


def test_recoloured_draws_the_same_scene_in_each_colour_and_only_the_object_changes():
    images, scenes, _ = teal.teal_examples(3, seed=1)
    apart = teal.recoloured(scenes, ["red", "teal"])
    assert apart.shape == (3, 2, 3, 64, 64)
    assert torch.equal(apart[:, 1], images)                         # teal again: the very pictures
    changed = (apart[:, 0] - images).abs().amax(1) > 0               # red: only the object's pixels move
    found = _off_background(images * 2 - 1)[:, 0] > 0       # what the helper calls "not background"
    assert changed.any() and (changed & ~found).float().mean() < 0.002 and found.float().mean() < 0.5
    assert teal.read_colours(apart[:, 0]) == ["red"] * 3
    with pytest.raises(ValueError, match="colours must be some of"):
        teal.recoloured(scenes, ["cyan"])


def test_fresh_pipeline_is_a_copy_that_leaves_the_course_pipeline_alone(tiny_course_checkpoints):
    pipe = teal.fresh_pipeline()
    assert pipe.unet is not pipelines.load_text_to_image().unet
    assert pipe.vae is not pipelines.load_text_to_image().vae


def test_latents_are_scaled_and_the_two_conversions_undo_each_other(tiny_course_checkpoints):
    vae = teal.fresh_pipeline().vae
    z = encode(vae, teal.teal_examples(2, seed=0)[0])                        # the VAE's own
    scaled = from_encoder(vae, z)
    assert torch.allclose(scaled, z * vae.config.scaling_factor) and torch.allclose(to_decoder(vae, scaled), z)
    assert vae.config.scaling_factor != 1.0                             # else this test could not tell them apart
