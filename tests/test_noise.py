import pytest
import torch
from diffusers import DDPMScheduler

from course_utils.noise import add_noise, make_schedule

DIFFUSERS = {
    "linear": dict(beta_schedule="linear", beta_start=1e-4, beta_end=0.02),
    "scaled_linear": dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
    "cosine": dict(beta_schedule="squaredcos_cap_v2"),
}


@pytest.mark.parametrize("kind", list(DIFFUSERS))
@pytest.mark.parametrize("T", [1000, 50])
def test_schedules_equal_diffusers(kind, T):
    ours = make_schedule(kind, T)
    ref = DDPMScheduler(num_train_timesteps=T, **DIFFUSERS[kind])
    assert torch.allclose(ours.betas, ref.betas, rtol=1e-6, atol=1e-9)
    assert torch.allclose(ours.alphas_cumprod, ref.alphas_cumprod, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("kind", list(DIFFUSERS))
def test_add_noise_equals_diffusers_for_a_batch_of_timesteps(kind):
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(5, 3, 8, 8, generator=g), torch.randn(5, 3, 8, 8, generator=g)
    t = torch.tensor([0, 1, 250, 998, 999])
    ref = DDPMScheduler(num_train_timesteps=1000, **DIFFUSERS[kind]).add_noise(x0, noise, t)
    assert torch.allclose(add_noise(x0, noise, t, make_schedule(kind)), ref, atol=1e-6)


def test_schedule_shapes_and_endpoints():
    s = make_schedule("linear")
    assert s.betas[0].item() == pytest.approx(1e-4) and s.betas[-1].item() == pytest.approx(0.02)
    assert s.alphas_cumprod[-1] < 1e-4 and torch.all(s.alphas_cumprod[1:] < s.alphas_cumprod[:-1])
    snr = s.snr(torch.arange(1000))
    assert torch.all(snr[1:] < snr[:-1]) and s.snr(0) > 1e3
    c = make_schedule("cosine")
    assert c.betas.max().item() == pytest.approx(0.999)  # clipped, as in Nichol & Dhariwal


def test_add_noise_single_image_and_statistics():
    s = make_schedule("linear")
    x0 = torch.ones(3, 64, 64)
    noise = torch.randn(3, 64, 64, generator=torch.Generator().manual_seed(1))
    assert torch.equal(add_noise(x0, noise, 0, s), s.alphas_cumprod[0].sqrt() * x0 + (1 - s.alphas_cumprod[0]).sqrt() * noise)
    x_last = add_noise(x0, noise, 999, s)
    assert abs(x_last.mean().item()) < 0.05 and abs(x_last.std().item() - 1) < 0.05


def test_bad_timesteps_and_shapes_are_explained():
    s = make_schedule("linear")
    x = torch.zeros(2, 1, 4, 4)
    with pytest.raises(ValueError, match=r"t must be in \[0, 999\] for this 1000-step schedule, got 1000"):
        add_noise(x, x, torch.tensor([0, 1000]), s)
    with pytest.raises(ValueError, match="got -1"):
        add_noise(x, x, -1, s)
    with pytest.raises(ValueError, match="same shape"):
        add_noise(x, torch.zeros(2, 1, 4, 5), 3, s)
    with pytest.raises(ValueError, match="one per image"):
        add_noise(x, x, torch.tensor([1, 2, 3]), s)
    with pytest.raises(ValueError, match="whole numbers"):
        add_noise(x, x, torch.tensor([1.5, 2.0]), s)
    with pytest.raises(ValueError, match="kind must be one of"):
        make_schedule("quadratic")
    with pytest.raises(ValueError, match="beta_start <= beta_end"):
        make_schedule("linear", beta_start=0.1, beta_end=0.01)
