"""course_utils/web.py: the ONNX export the browser runs, checked against torch with onnxruntime."""

import numpy as np
import pytest
import torch

from course_utils import web

pytest.importorskip("onnxruntime")

PROMPTS = ["a small red circle in the top left", "BLUE STAR, bottom right!", "two green squares 🙂 on gray", ""]


@pytest.fixture(scope="module")
def pipe():
    from course_utils.pipelines import load_text_to_image

    return load_text_to_image(device="cpu")


@pytest.fixture(scope="module")
def exported(pipe, tmp_path_factory):
    """Two exports: every part in float32, and the download the site ships (web.STORAGE)."""
    f32, shipped = tmp_path_factory.mktemp("onnx32"), tmp_path_factory.mktemp("onnx")
    web.export_onnx(f32, pipe, storage={f: "float32" for f in web.FILES})
    sizes = web.export_onnx(shipped, pipe)
    return web.OnnxPipeline(f32), web.OnnxPipeline(shipped), sizes, f32, shipped


def python_image(pipe, prompt, seed, guidance_scale=5.0, steps=25):
    """What load_text_to_image() draws from web.noise(seed), as 8-bit pixels."""
    x = pipe(prompt, latents=web.noise(seed), guidance_scale=guidance_scale, num_inference_steps=steps,
             output_type="np").images[0]
    return np.round(x * 255).astype(np.uint8)


@pytest.mark.slow
def test_each_part_equals_torch(pipe, exported):
    onnx32 = exported[0]
    with torch.no_grad():
        ids = pipe.tokenizer(PROMPTS, padding="max_length", max_length=32, truncation=True, return_tensors="pt")
        ctx = pipe.text_encoder(ids.input_ids, attention_mask=ids.attention_mask)[0]
        got = onnx32.encode(PROMPTS)
        # six float32 layers on values up to ~6: within 1e-4 of the largest value
        assert np.abs(got - ctx.numpy()).max() <= 1e-4 * np.abs(ctx.numpy()).max()
        g = torch.Generator().manual_seed(0)
        x = torch.randn(4, 4, 8, 8, generator=g)
        for t in (999, 500, 0):
            ref = pipe.unet(x, t, encoder_hidden_states=ctx).sample.numpy()
            out = onnx32.sessions["unet.onnx"].run(None, {"sample": x.numpy(), "context": ctx.numpy(),
                                                          "timestep": np.full(4, t, np.float32)})[0]
            assert np.abs(out - ref).max() < 1e-4, t
        ref = pipe.vae.decode(x / pipe.vae.config.scaling_factor).sample.numpy()
        out = onnx32.sessions["vae_decoder.onnx"].run(None, {"latents": x.numpy()})[0]
        assert np.abs(out - ref).max() < 1e-4
        assert np.abs(out - ref[::-1]).max() > 0.1                       # the comparison can fail


@pytest.mark.slow
def test_the_whole_picture_equals_the_pipeline(pipe, exported):
    onnx32, shipped, sizes = exported[:3]
    for seed, prompt in enumerate(PROMPTS[:3]):
        ref = python_image(pipe, prompt, seed).astype(float)
        assert np.abs(onnx32(prompt, seed=seed).astype(float) - ref).mean() < 0.05, prompt   # float32: same bytes
        mad = np.abs(shipped(prompt, seed=seed).astype(float) - ref).mean()
        print(f"{prompt!r}: shipped download differs by {mad:.3f} / 255 on average")
        assert mad <= 2.0, prompt
    other = python_image(pipe, PROMPTS[0], seed=1).astype(float)
    assert np.abs(shipped(PROMPTS[0], seed=0).astype(float) - other).mean() > 2.0   # another seed: another picture
    assert sum(sizes[f] for f in web.FILES) < 40e6, sizes


@pytest.mark.slow
def test_compare_with_torch_reports_what_changes(pipe, exported):
    f32, shipped = exported[3], exported[4]
    prompts = [("a small red circle in the top left", 4)]
    exact, download = web.compare_with_torch(pipe, f32, prompts), web.compare_with_torch(pipe, shipped, prompts)
    for part in exact["parts"].values():                                  # float32 files: summation order only
        assert part["storage"] == "float32" and part["max_abs"] <= 1e-4 * part["max_ref"]
    assert exact["pictures"][0]["mad"] < 0.05
    text = download["parts"]["text_encoder.onnx"]                          # int8: a visible but small change
    assert text["storage"] == "int8" and 1e-4 * text["max_ref"] < text["max_abs"] < 0.05 * text["max_ref"]
    assert download["parts"]["unet.onnx"]["max_abs"] < 1e-4 and download["pictures"][0]["mad"] <= 2.0
    picture = download["pictures"][0]
    assert picture["torch"].shape == picture["onnx"].shape == (64, 64, 3) and picture["onnx"].dtype == np.uint8
    assert np.abs(picture["torch"].astype(float) - python_image(pipe, prompts[0][0], 4)).max() == 0
    bias = pipe.unet.conv_in.bias
    kept = bias.detach().clone()
    try:                                                                   # the comparison can fail: nudge torch's U-Net
        with torch.no_grad():
            bias += 0.05
        nudged = web.compare_with_torch(pipe, f32, prompts)
    finally:
        with torch.no_grad():
            bias.copy_(kept)
    assert nudged["parts"]["unet.onnx"]["max_abs"] > 1e-3 and nudged["pictures"][0]["mad"] > 0.05


def test_noise_is_seeded_standard_normal():
    a, b = web.noise(7), web.noise(7)
    assert a.shape == web.LATENT_SHAPE and a.dtype == torch.float32 and torch.equal(a, b)
    assert not torch.equal(a, web.noise(8))
    big = web.noise(123, (100_000,))
    assert abs(big.mean()) < 0.02 and abs(big.std() - 1) < 0.02
    # the first values, as t2i.js draws them (tests/test_web_js.py and the browser test check the JS side)
    assert web.noise(0, (4,)).tolist() == pytest.approx([1.6264323, 0.0033697353, 1.0509958, 1.3762764], abs=1e-6)
    with pytest.raises(ValueError, match="seed"):
        web.noise(-1)


@pytest.mark.parametrize("n", [1, 7, 16, 25, 50])
def test_timesteps_equal_the_schedulers(pipe, n):
    from diffusers import DDIMScheduler

    s = DDIMScheduler.from_config(pipe.scheduler.config)
    s.set_timesteps(n)
    cfg = web.web_config(pipe, web.STORAGE)
    assert web.timesteps(cfg, n) == s.timesteps.tolist()
