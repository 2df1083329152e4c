import pytest
import torch

from course_utils import adherence, digit_judge, models
from course_utils.paths import checkpoint_dir


def test_unknown_and_missing_checkpoints_say_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="the course ships: rbm-digits"):
        models.load_pretrained("stable-diffusion-9")
    import course_utils.paths as paths

    monkeypatch.setattr(paths, "CHECKPOINTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="python scripts/train_ddpm_digits.py"):
        checkpoint_dir("ddpm-digits")
    with pytest.raises(ValueError, match="n must be between 1 and 10000"):
        models.sample("ddpm-digits", 0)


@pytest.mark.slow
@pytest.mark.parametrize("name, steps", [("ddpm-digits", 25), ("flow-digits", 8)])
def test_diffusion_digits_samples_are_seeded_digits_of_every_class(name, steps):
    a = models.sample(name, 200, seed=0, steps=steps)
    assert a.shape == (200, 1, 16, 16) and 0 <= a.min() and a.max() <= 1
    b = models.sample(name, 8, seed=3, steps=steps)
    assert torch.equal(b, models.sample(name, 8, seed=3, steps=steps))
    assert not torch.equal(b, models.sample(name, 8, seed=4, steps=steps))
    report = digit_judge.judge_digits(a)
    noise = digit_judge.judge_digits(torch.rand(200, 1, 8, 8, generator=torch.Generator().manual_seed(0)))
    assert report.classes_covered == 10
    assert report.frechet < noise.frechet / 4 and report.confidence > noise.confidence + 0.15


@pytest.mark.slow
def test_vae_shapes_reconstructs_unseen_scenes():
    from course_utils import data
    from course_utils.models.vae import psnr, reconstruct

    vae = models.load_pretrained("vae-shapes")
    x = data.shapes_world(64, seed=4321).images
    assert psnr(reconstruct(vae, x), x).mean() > 28
    assert 0.05 < vae.config.scaling_factor < 2


def test_rbm_digits_samples_look_like_digits():
    x = models.sample("rbm-digits", 200, seed=0, steps=200)
    assert x.shape == (200, 1, 8, 8) and 0 <= x.min() and x.max() <= 1
    assert torch.equal(x[:5], models.sample("rbm-digits", 200, seed=0, steps=200)[:5])
    report = digit_judge.judge_digits(x)
    noise = digit_judge.judge_digits((torch.rand(200, 1, 8, 8, generator=torch.Generator().manual_seed(0)) < 0.3).float())
    assert report.classes_covered >= 9 and report.frechet < noise.frechet / 2


@pytest.mark.slow
def test_course_text_to_image_follows_prompts():
    from course_utils import pipelines

    pipe = pipelines.load_text_to_image(device="cpu")
    r = adherence.measure_adherence(pipe, 32, guidance_scale=2.0)    # card, 400 prompts: 0.83 / 0.83 / 0.98 / 1.0
    assert r["colour"] > 0.6 and r["position"] > 0.6 and r["size"] > 0.8 and r["background"] > 0.9
    image = pipe("a big blue square in the center", num_inference_steps=25, guidance_scale=5.0,
                 generator=torch.Generator().manual_seed(0), output_type="pt").images
    assert image.shape == (1, 3, 64, 64)
