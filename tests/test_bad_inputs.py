"""The catalogue of bad calls: every one gets a course error (ValueError or TypeError, raised by
course_utils before any library runs) whose message names the argument that was wrong.

Add a row here for each argument of a new public function (CONTRIBUTING.md, "Bad input")."""

import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from course_utils import (
    adherence,
    data,
    digit_judge,
    editing,
    finetune,
    flow,
    images,
    inspection,
    models,
    network,
    noise,
    pipelines,
    shapes_reader,
    text,
    viz,
)
from course_utils.diffusion import ddpm_sample, ddpm_step, sample_diffusion

NAN, INF = math.nan, math.inf
_PIPE: dict = {}


def P():
    """The course's own pipeline, loaded once (the bad calls never reach a model)."""
    if "pipe" not in _PIPE:
        _PIPE["pipe"] = pipelines.load_text_to_image(device="cpu")
    return _PIPE["pipe"]


def I2I():
    if "i2i" not in _PIPE:
        _PIPE["i2i"] = pipelines.img2img(P())
    return _PIPE["i2i"]


def S():
    return noise.make_schedule("linear", 1000)


def x(*shape):
    return torch.rand(*shape)


def gen():
    return torch.Generator().manual_seed(0)


class _UNet:        # a stand-in with a config: samplers must refuse bad arguments before touching it
    config = type("C", (), {"in_channels": 1, "sample_size": 8})()
    device = torch.device("cpu")


def _pipe(**kw):
    return lambda: P()("a red circle", **({"num_inference_steps": 2} | kw))


def _i2i(**kw):
    args = {"image": x(1, 3, 64, 64), "strength": 0.5, "num_inference_steps": 10} | kw
    return lambda: I2I()("a blue star", **args)


CASES = [
    # ---------------------------------------------------------------- the text-to-image pipeline
    ("pipe prompt int", lambda: P()(3), "prompt"),
    ("pipe prompt []", lambda: P()([]), "prompt"),
    ("pipe prompt list with int", lambda: P()(["a", 5]), "prompt"),
    ("pipe prompt None", lambda: P()(None), "prompt"),
    ("pipe prompt dict", lambda: P()({"a": 1}), "prompt"),
    ("pipe prompt tuple of ints", lambda: P()((1, 2)), "prompt"),
    ("pipe negative int", _pipe(negative_prompt=7), "negative_prompt"),
    ("pipe negative list too long", _pipe(negative_prompt=["a", "b"]), "negative_prompt"),
    ("pipe negative []", _pipe(negative_prompt=[]), "negative_prompt"),
    ("pipe height 60", _pipe(height=60), "height"),
    ("pipe height 0", _pipe(height=0), "height"),
    ("pipe height -64", _pipe(height=-64), "height"),
    ("pipe height huge", _pipe(height=65536), "height"),
    ("pipe height float", _pipe(height=64.0), "height"),
    ("pipe height str", _pipe(height="64"), "height"),
    ("pipe width 7", _pipe(width=7), "width"),
    ("pipe width -8", _pipe(width=-8), "width"),
    ("pipe width huge", _pipe(width=10**6), "width"),
    ("pipe steps 0", _pipe(num_inference_steps=0), "num_inference_steps"),
    ("pipe steps -2", _pipe(num_inference_steps=-2), "num_inference_steps"),
    ("pipe steps 2.5", _pipe(num_inference_steps=2.5), "num_inference_steps"),
    ("pipe steps huge", _pipe(num_inference_steps=10**6), "num_inference_steps"),
    ("pipe steps str", _pipe(num_inference_steps="25"), "num_inference_steps"),
    ("pipe steps bool", _pipe(num_inference_steps=True), "num_inference_steps"),
    ("pipe guidance nan", _pipe(guidance_scale=NAN), "guidance_scale"),
    ("pipe guidance inf", _pipe(guidance_scale=INF), "guidance_scale"),
    ("pipe guidance -inf", _pipe(guidance_scale=-INF), "guidance_scale"),
    ("pipe guidance negative", _pipe(guidance_scale=-1.0), "guidance_scale"),
    ("pipe guidance huge", _pipe(guidance_scale=1e9), "guidance_scale"),
    ("pipe guidance str", _pipe(guidance_scale="5"), "guidance_scale"),
    ("pipe guidance None", _pipe(guidance_scale=None), "guidance_scale"),
    ("pipe guidance tensor nan", _pipe(guidance_scale=torch.tensor(NAN)), "guidance_scale"),
    ("pipe images per prompt 0", _pipe(num_images_per_prompt=0), "num_images_per_prompt"),
    ("pipe images per prompt huge", _pipe(num_images_per_prompt=10**6), "num_images_per_prompt"),
    ("pipe images per prompt 1.5", _pipe(num_images_per_prompt=1.5), "num_images_per_prompt"),
    ("pipe eta negative", _pipe(eta=-0.1), "eta"),
    ("pipe eta nan", _pipe(eta=NAN), "eta"),
    ("pipe eta 2", _pipe(eta=2.0), "eta"),
    ("pipe guidance_rescale 2", _pipe(guidance_rescale=2.0), "guidance_rescale"),
    ("pipe guidance_rescale nan", _pipe(guidance_rescale=NAN), "guidance_rescale"),
    ("pipe generator str", _pipe(generator="seed"), "generator"),
    ("pipe generator int", _pipe(generator=0), "generator"),
    ("pipe generator list too long", _pipe(generator=[gen(), gen(), gen()]), "generator"),
    ("pipe output_type png", _pipe(output_type="png"), "output_type"),
    ("pipe output_type list", _pipe(output_type=["pt"]), "output_type"),
    ("pipe typo guidence_scale", _pipe(guidence_scale=3.0), "guidence_scale"),
    ("pipe typo num_steps", _pipe(num_steps=3), "num_steps"),
    ("pipe typo seed", _pipe(seed=3), "seed"),
    # ---------------------------------------------------------------- img2img
    ("i2i strength runs no step", _i2i(strength=0.05, num_inference_steps=10), "strength"),
    ("i2i strength 0", _i2i(strength=0.0), "strength"),
    ("i2i strength negative", _i2i(strength=-0.5), "strength"),
    ("i2i strength above 1", _i2i(strength=1.5), "strength"),
    ("i2i strength nan", _i2i(strength=NAN), "strength"),
    ("i2i strength str", _i2i(strength="0.5"), "strength"),
    ("i2i image None", _i2i(image=None), "image"),
    ("i2i image numpy", _i2i(image=np.zeros((64, 64, 3))), "image"),
    ("i2i image str", _i2i(image="picture.png"), "image"),
    ("i2i image 2-D", _i2i(image=x(64, 64)), "image"),
    ("i2i image 5-D", _i2i(image=x(1, 1, 3, 64, 64)), "image"),
    ("i2i image nan", _i2i(image=torch.full((1, 3, 64, 64), NAN)), "image"),
    ("i2i image int dtype", _i2i(image=torch.zeros(1, 3, 64, 64, dtype=torch.complex64)), "image"),
    ("i2i steps 0", _i2i(num_inference_steps=0), "num_inference_steps"),
    ("i2i guidance nan", _i2i(guidance_scale=NAN), "guidance_scale"),
    ("i2i prompt []", lambda: I2I()([], image=x(1, 3, 64, 64)), "prompt"),
    ("img2img of a str", lambda: pipelines.img2img("pipe"), "pipe"),
    # ---------------------------------------------------------------- pipeline helpers
    ("generate prompts int", lambda: adherence.generate(P(), 3), "prompts"),
    ("generate prompts []", lambda: adherence.generate(P(), []), "prompts"),
    ("generate prompts [1]", lambda: adherence.generate(P(), [1]), "prompts"),
    ("generate seed -1", lambda: adherence.generate(P(), ["a"], seed=-1), "seed"),
    ("generate seed 1.5", lambda: adherence.generate(P(), ["a"], seed=1.5), "seed"),
    ("generate batch_size 0", lambda: adherence.generate(P(), ["a"], batch_size=0), "batch_size"),
    ("generate batch_size str", lambda: adherence.generate(P(), ["a"], batch_size="8"), "batch_size"),
    ("generate own generator", lambda: adherence.generate(P(), ["a"], generator=gen()), "generator"),
    ("generate own output_type", lambda: adherence.generate(P(), ["a"], output_type="pil"), "output_type"),
    ("generate guidance nan", lambda: adherence.generate(P(), ["a"], guidance_scale=NAN), "guidance_scale"),
    ("generate pipe None", lambda: adherence.generate(None, ["a"]), "pipe"),
    ("adherence n 0", lambda: adherence.measure_adherence(P(), 0), r"\bn\b"),
    ("adherence n huge", lambda: adherence.measure_adherence(P(), 10**7), r"\bn\b"),
    ("adherence n 2.5", lambda: adherence.measure_adherence(P(), 2.5), r"\bn\b"),
    ("adherence seed -1", lambda: adherence.measure_adherence(P(), 2, seed=-1), "seed"),
    ("adherence fraction 2", lambda: adherence.measure_adherence(P(), 2, two_object_fraction=2.0), "two_object_fraction"),
    ("adherence fraction nan", lambda: adherence.measure_adherence(P(), 2, two_object_fraction=NAN), "two_object_fraction"),
    ("adherence wording", lambda: adherence.measure_adherence(P(), 2, wording="poetic"), "wording"),
    ("adherence pipe str", lambda: adherence.measure_adherence("pipe", 2), "pipe"),
    ("by hand prompt int", lambda: inspection.denoise_by_hand(P(), 3), "prompt"),
    ("by hand prompt list", lambda: inspection.denoise_by_hand(P(), ["a", "b"]), "prompt"),
    ("by hand negative None", lambda: inspection.denoise_by_hand(P(), "a", negative_prompt=None), "negative_prompt"),
    ("by hand guidance nan", lambda: inspection.denoise_by_hand(P(), "a", guidance_scale=NAN), "guidance_scale"),
    ("by hand guidance inf", lambda: inspection.denoise_by_hand(P(), "a", guidance_scale=INF), "guidance_scale"),
    ("by hand guidance negative", lambda: inspection.denoise_by_hand(P(), "a", guidance_scale=-2.0), "guidance_scale"),
    ("by hand steps 0", lambda: inspection.denoise_by_hand(P(), "a", num_inference_steps=0), "num_inference_steps"),
    ("by hand steps 2.5", lambda: inspection.denoise_by_hand(P(), "a", num_inference_steps=2.5), "num_inference_steps"),
    ("by hand seed -1", lambda: inspection.denoise_by_hand(P(), "a", seed=-1), "seed"),
    ("by hand scheduler str", lambda: inspection.denoise_by_hand(P(), "a", scheduler="DDIM"), "scheduler"),
    ("by hand scheduler not DDIM-like",
     lambda: inspection.denoise_by_hand(P(), "a", scheduler=pipelines.make_scheduler("DPM-Solver++", P().scheduler.config)),
     "scheduler"),
    ("by hand pipe None", lambda: inspection.denoise_by_hand(None, "a"), "pipe"),
    ("strip prompt list", lambda: inspection.denoising_strip(P(), ["a"]), "prompt"),
    ("strip n_show 0", lambda: inspection.denoising_strip(P(), "a", n_show=0), "n_show"),
    ("strip seed str", lambda: inspection.denoising_strip(P(), "a", seed="0"), "seed"),
    ("strip own generator", lambda: inspection.denoising_strip(P(), "a", generator=gen()), "generator"),
    ("strip steps 0", lambda: inspection.denoising_strip(P(), "a", num_inference_steps=0), "num_inference_steps"),
    ("strip pipe int", lambda: inspection.denoising_strip(3, "a"), "pipe"),
    ("latents numpy", lambda: inspection.latents_to_images(P(), np.zeros((1, 4, 8, 8))), "latents"),
    ("latents 3-D", lambda: inspection.latents_to_images(P(), x(4, 8, 8)), "latents"),
    ("latents 3 channels", lambda: inspection.latents_to_images(P(), x(1, 3, 8, 8)), "latents"),
    ("component table prompt int", lambda: inspection.component_table(P(), 3), "prompt"),
    ("load model_id int", lambda: pipelines.load_text_to_image(3), "model_id"),
    ("load device gpu", lambda: pipelines.load_text_to_image(device="gpu"), "device"),
    ("load device cuda absent", lambda: pipelines.load_text_to_image(device="cuda:7"), "device"),
    ("make_scheduler name", lambda: pipelines.make_scheduler("Heun", P().scheduler.config), "scheduler"),
    # ---------------------------------------------------------------- models
    ("sample n 0", lambda: models.sample("gan-digits", 0), r"\bn\b"),
    ("sample n 2.5", lambda: models.sample("gan-digits", 2.5), r"\bn\b"),
    ("sample n huge", lambda: models.sample("gan-digits", 10**9), r"\bn\b"),
    ("sample seed str", lambda: models.sample("gan-digits", 2, seed="0"), "seed"),
    ("sample steps 0", lambda: models.sample("ddpm-digits", 2, steps=0), "steps"),
    ("sample steps for a GAN", lambda: models.sample("gan-digits", 2, steps=5), "steps"),
    ("sample unknown name", lambda: models.sample("dall-e", 2), "checkpoint"),
    ("load unknown name", lambda: models.load_pretrained("dall-e"), "checkpoint"),
    # ---------------------------------------------------------------- data
    ("digits size 12", lambda: data.digits(12), "size"),
    ("digits size 0", lambda: data.digits(0), "size"),
    ("digits size -8", lambda: data.digits(-8), "size"),
    ("digits size float", lambda: data.digits(8.0), "size"),
    ("digits size str", lambda: data.digits("16"), "size"),
    ("digits size huge", lambda: data.digits(8 * 10**5), "size"),
    ("digits binary str", lambda: data.digits(8, binary="yes"), "binary"),
    ("photo unknown", lambda: data.photo("dog"), "name"),
    ("photo name int", lambda: data.photo(3), "name"),
    ("photo name list", lambda: data.photo(["astronaut"]), "name"),
    ("photo size 4", lambda: data.photo("astronaut", 4), "size"),
    ("photo size huge", lambda: data.photo("astronaut", 10**6), "size"),
    ("photo size float", lambda: data.photo("astronaut", 64.5), "size"),
    ("shapes n 0", lambda: data.shapes_world(0), r"\bn\b"),
    ("shapes n -1", lambda: data.shapes_world(-1), r"\bn\b"),
    ("shapes n 2.5", lambda: data.shapes_world(2.5), r"\bn\b"),
    ("shapes n huge", lambda: data.shapes_world(10**8), r"\bn\b"),
    ("shapes seed -1", lambda: data.shapes_world(2, seed=-1), "seed"),
    ("shapes fraction 1.5", lambda: data.shapes_world(2, two_object_fraction=1.5), "two_object_fraction"),
    ("shapes fraction nan", lambda: data.shapes_world(2, two_object_fraction=NAN), "two_object_fraction"),
    ("shapes fraction str", lambda: data.shapes_world(2, two_object_fraction="half"), "two_object_fraction"),
    ("shapes wording", lambda: data.shapes_world(2, wording="poetic"), "wording"),
    ("shapes size 4", lambda: data.shapes_world(2, size=4), "size"),
    ("shapes size huge", lambda: data.shapes_world(2, size=10**5), "size"),
    ("shapes jitter str", lambda: data.shapes_world(2, jitter="no"), "jitter"),
    ("shapes start -1", lambda: data.shapes_world(2, start=-1), "start"),
    ("scene seed -1", lambda: data.shapes_scene(-1, 0), "seed"),
    ("scene index -1", lambda: data.shapes_scene(0, -1), "index"),
    ("scene wording int", lambda: data.shapes_scene(0, 0, wording=3), "wording"),
    ("dataset length 0", lambda: data.ShapesWorldDataset(0), "length"),
    ("dataset length huge", lambda: data.ShapesWorldDataset(10**9), "length"),
    # ---------------------------------------------------------------- noise
    ("schedule kind", lambda: noise.make_schedule("quadratic"), "kind"),
    ("schedule kind list", lambda: noise.make_schedule(["linear"]), "kind"),
    ("schedule T 1", lambda: noise.make_schedule("linear", 1), "num_timesteps"),
    ("schedule T huge", lambda: noise.make_schedule("cosine", 10**8), "num_timesteps"),
    ("schedule T float", lambda: noise.make_schedule("linear", 1000.0), "num_timesteps"),
    ("schedule beta_start 0", lambda: noise.make_schedule("linear", beta_start=0.0), "beta_start"),
    ("schedule beta_start nan", lambda: noise.make_schedule("linear", beta_start=NAN), "beta_start"),
    ("schedule beta_start str", lambda: noise.make_schedule("linear", beta_start="1e-4"), "beta_start"),
    ("schedule beta_end 1.5", lambda: noise.make_schedule("linear", beta_end=1.5), "beta_end"),
    ("schedule start > end", lambda: noise.make_schedule("linear", beta_start=0.5, beta_end=0.1), "beta_start"),
    ("add_noise x0 numpy", lambda: noise.add_noise(np.zeros((1, 1, 8, 8)), x(1, 1, 8, 8), 5, S()), "x0"),
    ("add_noise noise shape", lambda: noise.add_noise(x(2, 1, 8, 8), x(2, 1, 4, 4), 5, S()), "noise"),
    ("add_noise t 1000", lambda: noise.add_noise(x(1, 1, 8, 8), x(1, 1, 8, 8), 1000, S()), r"\bt\b"),
    ("add_noise t -1", lambda: noise.add_noise(x(1, 1, 8, 8), x(1, 1, 8, 8), -1, S()), r"\bt\b"),
    ("add_noise t 2.5", lambda: noise.add_noise(x(1, 1, 8, 8), x(1, 1, 8, 8), 2.5, S()), r"\bt\b"),
    ("add_noise t str", lambda: noise.add_noise(x(1, 1, 8, 8), x(1, 1, 8, 8), "5", S()), r"\bt\b"),
    ("add_noise t bool", lambda: noise.add_noise(x(1, 1, 8, 8), x(1, 1, 8, 8), torch.tensor([True]), S()), r"\bt\b"),
    ("add_noise t per image", lambda: noise.add_noise(x(2, 1, 8, 8), x(2, 1, 8, 8), torch.tensor([1, 2, 3]), S()),
     r"\bt\b"),
    ("add_noise schedule str", lambda: noise.add_noise(x(1, 1, 8, 8), x(1, 1, 8, 8), 5, "linear"), "schedule"),
    ("add_noise x0 nan", lambda: noise.add_noise(torch.full((1, 1, 8, 8), NAN), x(1, 1, 8, 8), 5, S()), "x0"),
    ("snr t 1000", lambda: S().snr(1000), r"\bt\b"),
    # ---------------------------------------------------------------- diffusion
    ("ddpm_step t 1000", lambda: ddpm_step(x(1, 1, 8, 8), x(1, 1, 8, 8), 1000, S()), r"\bt\b"),
    ("ddpm_step t -1", lambda: ddpm_step(x(1, 1, 8, 8), x(1, 1, 8, 8), -1, S()), r"\bt\b"),
    ("ddpm_step t float", lambda: ddpm_step(x(1, 1, 8, 8), x(1, 1, 8, 8), 2.5, S()), r"\bt\b"),
    ("ddpm_step eps shape", lambda: ddpm_step(x(1, 1, 8, 8), x(1, 1, 4, 4), 5, S()), "eps"),
    ("ddpm_step x_t numpy", lambda: ddpm_step(np.zeros((1, 1, 8, 8)), x(1, 1, 8, 8), 5, S()), "x_t"),
    ("ddpm_step schedule None", lambda: ddpm_step(x(1, 1, 8, 8), x(1, 1, 8, 8), 5, None), "schedule"),
    ("ddpm_step generator int", lambda: ddpm_step(x(1, 1, 8, 8), x(1, 1, 8, 8), 5, S(), generator=0), "generator"),
    ("ddpm_sample n 0", lambda: ddpm_sample(_UNet(), S(), 0), r"\bn\b"),
    ("ddpm_sample n huge", lambda: ddpm_sample(_UNet(), S(), 10**9), r"\bn\b"),
    ("ddpm_sample record_every -1", lambda: ddpm_sample(_UNet(), S(), 2, record_every=-1), "record_every"),
    ("sample_diffusion steps 0", lambda: sample_diffusion(_UNet(), None, 2, 0, gen()), "steps"),
    ("sample_diffusion steps huge", lambda: sample_diffusion(_UNet(), None, 2, 10**7, gen()), "steps"),
    ("sample_diffusion n 0", lambda: sample_diffusion(_UNet(), None, 0, 5, gen()), r"\bn\b"),
    ("sample_diffusion generator int", lambda: sample_diffusion(_UNet(), None, 2, 5, 0), "generator"),
    # ---------------------------------------------------------------- flow
    ("interpolate t 1.5", lambda: flow.interpolate(x(2, 2), x(2, 2), torch.tensor([0.5, 1.5])), r"\bt\b"),
    ("interpolate t nan", lambda: flow.interpolate(x(2, 2), x(2, 2), torch.tensor([0.5, NAN])), r"\bt\b"),
    ("interpolate t str", lambda: flow.interpolate(x(2, 2), x(2, 2), "half"), r"\bt\b"),
    ("interpolate t per sample", lambda: flow.interpolate(x(2, 2), x(2, 2), torch.rand(3)), r"\bt\b"),
    ("interpolate x0 numpy", lambda: flow.interpolate(np.zeros((2, 2)), x(2, 2), 0.5), "x0"),
    ("interpolate noise shape", lambda: flow.interpolate(x(2, 2), x(2, 3), 0.5), "noise"),
    ("euler steps 0", lambda: flow.euler_sample(lambda a, t: a, x(4, 2), 0), "steps"),
    ("euler steps 2.5", lambda: flow.euler_sample(lambda a, t: a, x(4, 2), 2.5), "steps"),
    ("euler steps huge", lambda: flow.euler_sample(lambda a, t: a, x(4, 2), 10**7), "steps"),
    ("euler noise numpy", lambda: flow.euler_sample(lambda a, t: a, np.zeros((4, 2)), 4), "noise"),
    ("euler model int", lambda: flow.euler_sample(3, x(4, 2), 4), "model"),
    ("toy_data n 0", lambda: flow.toy_data(0), r"\bn\b"),
    ("toy_data n huge", lambda: flow.toy_data(10**9), r"\bn\b"),
    ("toy_data seed -1", lambda: flow.toy_data(10, seed=-1), "seed"),
    ("train_toy steps 0", lambda: flow.train_toy(steps=0), "steps"),
    ("train_toy lr 0", lambda: flow.train_toy(steps=1, lr=0.0), "lr"),
    ("train_toy lr nan", lambda: flow.train_toy(steps=1, lr=NAN), "lr"),
    # ---------------------------------------------------------------- text
    ("tokenize int", lambda: text.tokenize(3), "texts"),
    ("tokenize []", lambda: text.tokenize([]), "texts"),
    ("tokenize [1]", lambda: text.tokenize([1]), "texts"),
    ("tokenize max_length 0", lambda: text.tokenize("a", max_length=0), "max_length"),
    ("tokenize max_length huge", lambda: text.tokenize("a", max_length=10**6), "max_length"),
    ("tokenize padding", lambda: text.tokenize("a", padding="both"), "padding"),
    ("tokenize model_id int", lambda: text.tokenize("a", model_id=3), "model_id"),
    ("token_embeddings None", lambda: text.token_embeddings(None), "texts"),
    ("sentence_embeddings dict", lambda: text.sentence_embeddings({"a": 1}), "texts"),
    ("sentence_embeddings huge list", lambda: text.sentence_embeddings(["a"] * 20_000), "texts"),
    ("mean_pool mask shape", lambda: text.mean_pool(x(2, 5, 8), torch.ones(2, 4)), "mask"),
    ("mean_pool embeddings 2-D", lambda: text.mean_pool(x(2, 5), torch.ones(2, 5)), "embeddings"),
    ("cosine d mismatch", lambda: text.cosine_similarity(x(2, 3), x(2, 4)), r"\bb\b"),
    ("cosine a numpy", lambda: text.cosine_similarity(np.zeros((2, 3)), x(2, 3)), r"\ba\b"),
    ("load encoder device", lambda: text.load_text_encoder(device="gpu"), "device"),
    # ---------------------------------------------------------------- images
    ("to_unit numpy", lambda: images.to_unit(np.zeros((3, 4, 4))), r"\bx\b"),
    ("to_signed str", lambda: images.to_signed("image"), r"\bx\b"),
    ("to_numpy 4-D", lambda: images.to_numpy(x(2, 3, 4, 4)), "image"),
    ("to_numpy str", lambda: images.to_numpy("image.png"), "image"),
    ("to_numpy object array", lambda: images.to_numpy(np.array([[None, 1]])), "image"),
    ("to_numpy array 4-D", lambda: images.to_numpy(np.zeros((1, 4, 4, 3))), "image"),
    ("to_numpy nan tensor", lambda: images.to_numpy(torch.full((3, 4, 4), NAN)), "image"),
    ("to_numpy range 255", lambda: images.to_numpy(x(3, 4, 4), value_range=(0, 255)), "value_range"),
    ("to_numpy range int", lambda: images.to_numpy(x(3, 4, 4), value_range=5), "value_range"),
    ("to_pil 5 channels", lambda: images.to_pil(x(5, 4, 4)), "image"),
    ("from_pil tensor", lambda: images.from_pil(x(3, 4, 4)), "image"),
    ("from_pil range", lambda: images.from_pil(Image.new("RGB", (4, 4)), value_range=(0, 2)), "value_range"),
    ("from_numpy list", lambda: images.from_numpy([[0, 1]]), "arr"),
    ("make_grid 3-D", lambda: images.make_grid(x(3, 4, 4)), "images"),
    ("make_grid numpy", lambda: images.make_grid(np.zeros((2, 3, 4, 4))), "images"),
    ("make_grid nrow 0", lambda: images.make_grid(x(2, 3, 4, 4), nrow=0), "nrow"),
    ("make_grid nrow -1", lambda: images.make_grid(x(2, 3, 4, 4), nrow=-1), "nrow"),
    ("make_grid padding -1", lambda: images.make_grid(x(2, 3, 4, 4), padding=-1), "padding"),
    ("make_grid padding huge", lambda: images.make_grid(x(2, 3, 4, 4), padding=10**6), "padding"),
    ("make_grid empty", lambda: images.make_grid(x(0, 3, 4, 4)), "images"),
    ("to_png scale 0", lambda: images.to_png(x(3, 4, 4), scale=0), "scale"),
    ("to_png scale 2.5", lambda: images.to_png(x(3, 4, 4), scale=2.5), "scale"),
    ("to_png scale huge", lambda: images.to_png(x(3, 64, 64), scale=10**6), "scale"),
    ("to_png picture too big", lambda: images.to_png(x(3, 2048, 2048), scale=8), "scale"),
    ("to_png 4-D", lambda: images.to_png(x(1, 3, 4, 4)), r"\bx\b"),
    # ---------------------------------------------------------------- viz
    ("show_images []", lambda: viz.show_images([]), "images"),
    ("show_images nrow 0", lambda: viz.show_images(x(2, 1, 4, 4), nrow=0), "nrow"),
    ("show_images size 0", lambda: viz.show_images(x(2, 1, 4, 4), size=0), "size"),
    ("show_images titles", lambda: viz.show_images(x(2, 1, 4, 4), titles=["a"]), "titles"),
    ("show_images too many", lambda: viz.show_images(x(5000, 1, 2, 2)), "images"),
    ("plot_loss []", lambda: viz.plot_loss([]), "losses"),
    ("plot_loss smooth 0", lambda: viz.plot_loss([1.0, 2.0], smooth=0), "smooth"),
    ("plot_loss strings", lambda: viz.plot_loss(["high", "low"]), "losses"),
    ("noising x0 4-D", lambda: viz.plot_noising_steps(x(1, 3, 8, 8)), "x0"),
    ("noising t 1000", lambda: viz.plot_noising_steps(x(3, 8, 8), timesteps=(0, 1000)), r"\bt\b"),
    ("noising no timesteps", lambda: viz.plot_noising_steps(x(3, 8, 8), timesteps=()), "timesteps"),
    ("schedules kind", lambda: viz.plot_schedules(["quadratic"]), "kinds"),
    ("schedules T 1", lambda: viz.plot_schedules(num_timesteps=1), "num_timesteps"),
    ("trajectory empty", lambda: viz.plot_denoising_trajectory([], []), "trajectory"),
    ("trajectory n_show 0", lambda: viz.plot_denoising_trajectory([x(2, 1, 4, 4)], [5], n_show=0), "n_show"),
    ("similarity []", lambda: viz.plot_embedding_similarity([]), "texts"),
    ("similarity rows", lambda: viz.plot_embedding_similarity(["a", "b"], embeddings=x(3, 4)), "embeddings"),
    ("map groups", lambda: viz.plot_embedding_map(["a", "b"], ["x"]), "groups"),
    ("project method", lambda: viz.project_2d(x(4, 3), method="tsne"), "method"),
    ("project 1 vector", lambda: viz.project_2d(x(1, 3)), "embeddings"),
    ("gan losses []", lambda: viz.plot_gan_losses([], []), "d_losses"),
    ("gan losses smooth 0", lambda: viz.plot_gan_losses([1.0], [1.0], smooth=0), "smooth"),
    ("class histogram {}", lambda: viz.plot_class_histogram({}), "reports"),
    ("quality {}", lambda: viz.plot_quality_vs_steps({}), "results"),
    ("toy flow empty", lambda: viz.plot_toy_flow([], [], x(4, 2)), "trail"),
    ("latent histogram factor 0", lambda: viz.latent_histogram(x(4, 8, 8), 0.0), "scaling_factor"),
    ("latent histogram z numpy", lambda: viz.latent_histogram(np.zeros(4), 0.5), r"\bz\b"),
    ("prompt grid count", lambda: viz.plot_prompt_grid(x(3, 3, 4, 4), ["a"], ["b", "c"]), "images"),
    ("attention weights count", lambda: viz.plot_attention_weights(["a", "b"], [1.0]), "weights"),
    # ---------------------------------------------------------------- metrics
    ("read_scene 4-D", lambda: shapes_reader.read_scene(x(1, 3, 64, 64)), "image"),
    ("read_scene str", lambda: shapes_reader.read_scene("scene.png"), "image"),
    ("read_scene grey", lambda: shapes_reader.read_scene(x(1, 64, 64)), "image"),
    ("read_scene nan", lambda: shapes_reader.read_scene(torch.full((3, 8, 8), NAN)), "image"),
    ("read_scene min_pixels 0", lambda: shapes_reader.read_scene(x(3, 64, 64), min_pixels=0), "min_pixels"),
    ("judge one digit", lambda: digit_judge.judge_digits(x(1, 1, 8, 8)), "images"),
    ("judge shape", lambda: digit_judge.judge_digits(x(4, 3, 8, 8)), "images"),
    ("judge 12x12", lambda: digit_judge.judge_digits(x(4, 1, 12, 12)), "images"),
    ("judge str", lambda: digit_judge.judge_digits("digits"), "images"),
    ("adherence lengths", lambda: shapes_reader.adherence(x(3, 3, 64, 64), [data.shapes_scene(0, 0)]), "scenes"),
    ("adherence scenes str", lambda: shapes_reader.adherence(x(1, 3, 64, 64), ["a red circle"]), "scenes"),
    ("adherence images 3-D", lambda: shapes_reader.adherence(x(3, 64, 64), [data.shapes_scene(0, 0)]), "images"),
    # ---------------------------------------------------------------- found by tests/sweep_bad_inputs.py
    ("one_of with an array", lambda: noise.make_schedule(np.zeros((2, 2))), "kind"),
    ("value_range tensor", lambda: images.to_numpy(x(3, 4, 4), value_range=torch.zeros(2, 2)), "value_range"),
    ("interpolate t bool", lambda: flow.interpolate(x(2, 2), x(2, 2), True), r"\bt\b"),
    ("load name list", lambda: models.load_pretrained(["gan-digits"]), "name"),
    ("vae encode vae None", lambda: __import__("course_utils.models.vae").models.vae.encode(None, x(1, 3, 8, 8)), "vae"),
    ("vae encode x nan", lambda: __import__("course_utils.models.vae").models.vae.check_images(
        torch.full((1, 3, 8, 8), NAN)), r"\bx\b"),
    ("vae decode z 3-D", lambda: __import__("course_utils.models.vae").models.vae.decode(
        models.load_pretrained("vae-shapes", "cpu"), x(4, 8, 8)), r"\bz\b"),
    ("pipe eta None", _pipe(eta=None), "eta"),
    ("pipe images per prompt None", _pipe(num_images_per_prompt=None), "num_images_per_prompt"),
    ("show_images int", lambda: viz.show_images(3), "images"),
    ("show_images empty tensor", lambda: viz.show_images(torch.zeros(0)), "images"),
    ("noising timesteps int", lambda: viz.plot_noising_steps(x(3, 8, 8), timesteps=5), "timesteps"),
    ("schedules kinds None", lambda: viz.plot_schedules(None), "kinds"),
    ("prompt grid labels int", lambda: viz.plot_prompt_grid(x(2, 3, 4, 4), 1, ["a", "b"]), "row_labels"),
    ("latent histogram z empty", lambda: viz.latent_histogram(torch.zeros(0), 0.5), r"\bz\b"),
    # ---------------------------------------------------------------- setup and the network switch
    ("setup seed -1", lambda: __import__("course_utils").setup(seed=-1), "seed"),
    ("setup seed str", lambda: __import__("course_utils").setup(seed="0"), "seed"),
    ("go_online timeout 0", lambda: network.go_online(timeout=0), "timeout"),
    ("go_online timeout str", lambda: network.go_online(timeout="5"), "timeout"),
    # ---------------------------------------------------------------- lesson 08: a new word, editing
    ("teal_examples n 0", lambda: finetune.teal_examples(0), r"\bn\b"),
    ("teal_examples seed -1", lambda: finetune.teal_examples(2, seed=-1), "seed"),
    ("teal_examples colour", lambda: finetune.teal_examples(2, colour="mauve"), "colour"),
    ("teal_examples other_share 2", lambda: finetune.teal_examples(2, other_share=2), "other_share"),
    ("teal_examples wording", lambda: finetune.teal_examples(2, wording="poetic"), "wording"),
    ("latents_for images 3-D", lambda: finetune.latents_for(P().vae, x(3, 64, 64)), "images"),
    ("latents_for steps -1", lambda: finetune.latents_for(P().vae, x(1, 3, 64, 64), steps=-1), "steps"),
    ("latents_for lr 0", lambda: finetune.latents_for(P().vae, x(1, 3, 64, 64), lr=0), r"\blr\b"),
    ("latents_for jitter nan", lambda: finetune.latents_for(P().vae, x(1, 3, 64, 64), jitter=NAN), "jitter"),
    ("read_colours 3-D", lambda: finetune.read_colours(x(3, 64, 64)), "images"),
    ("nearest_words vector size", lambda: finetune.nearest_words(P(), torch.zeros(5)), "vector"),
    ("nearest_words k 0", lambda: finetune.nearest_words(P(), torch.zeros(384), k=0), r"\bk\b"),
    ("learn_word captions count", lambda: finetune.learn_word(P(), x(2, 4, 8, 8), ["a <t> circle"]), "captions"),
    ("learn_word steps 0", lambda: finetune.learn_word(P(), x(1, 4, 8, 8), ["a <t> circle"], steps=0), "steps"),
    ("learn_word start_word", lambda: finetune.learn_word(P(), x(1, 4, 8, 8), ["a <t> circle"], token="<t>",
                                                          start_word="greenish blue"), "start_word"),
    ("learn_word latents 3-D", lambda: finetune.learn_word(P(), x(4, 8, 8), ["a <t> circle"]), "latents"),
    ("train_lora batch 0", lambda: finetune.train_lora(P(), x(1, 4, 8, 8), ["a teal star"], batch_size=0), "batch_size"),
    ("train_lora lr nan", lambda: finetune.train_lora(P(), x(1, 4, 8, 8), ["a teal star"], lr=NAN), r"\blr\b"),
    ("train_lora preserve_weight -1", lambda: finetune.train_lora(P(), x(1, 4, 8, 8), ["a teal star"], preserve_weight=-1),
     "preserve_weight"),
    ("add_lora rank 0", lambda: finetune.add_lora(P().unet, rank=0), "rank"),
    ("add_decoder_lora rank 0", lambda: finetune.add_decoder_lora(P().vae, rank=0), "rank"),
    ("lora_scale -1", lambda: finetune.lora_scale(P(), -1), "scale"),
    ("lora_scale str", lambda: finetune.lora_scale(P(), "1"), "scale"),
    ("decoder_adapter none loaded", lambda: finetune.decoder_adapter(P().vae, True), "adapter"),
    ("save_word vector 2-D", lambda: finetune.save_word(torch.zeros(2, 384), "<t>", "/tmp/never.safetensors"), "vector"),
    ("region_mask position", lambda: editing.region_mask("upper leftish"), "position"),
    ("region_mask side 0", lambda: editing.region_mask("top", side=0), "side"),
    ("ddim_invert image 4-D", lambda: editing.ddim_invert(P(), x(1, 3, 64, 64), "a red circle"), "image"),
    ("ddim_invert steps 0", lambda: editing.ddim_invert(P(), x(3, 64, 64), "a red circle", 0), "num_inference_steps"),
    ("regenerate noise 3-D", lambda: editing.regenerate(P(), x(4, 8, 8), "a red circle"), "noise"),
    ("inpaint mask size", lambda: editing.inpaint(P(), x(3, 64, 64), x(32, 32), "a red circle"), "mask"),
    ("inpaint seed -1", lambda: editing.inpaint(P(), x(3, 64, 64), x(64, 64), "a red circle", seed=-1), "seed"),
    ("measure_edits n 0", lambda: editing.measure_edits(P(), 0), r"\bn\b"),
]


def test_the_catalogue_is_long_enough_and_unique():
    assert len(CASES) >= 150 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("call, argument", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_call_gets_a_course_error_naming_the_argument(call, argument):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    error = info.value
    assert type(error).__module__.startswith(("builtins", "course_utils")), type(error)
    raised_in = info.traceback[-1].path                          # raised by course code, not inside a library
    assert "course_utils" in str(raised_in), f"raised in {raised_in}: {error}"
    assert re.search(argument, str(error)), f"{argument!r} not named in: {error}"
