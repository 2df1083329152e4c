"""`ddpm_loss` (course_utils/models/ddpm.py), the objective scripts/train_ddpm_digits.py trains with:
Ho et al.'s Algorithm 1, step for step as diffusers' training example writes it; a U-Net that knows
the answer scores zero, one that reads the wrong timestep does not (the negative control)."""

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler

from course_utils.models.ddpm import SCHEDULER_CONFIG, ddpm_loss, make_unet
from course_utils.noise import make_schedule

SCHEDULE = make_schedule("linear")     # what scripts/train_ddpm_digits.py passes
X0 = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1    # "images" in [-1, 1]


class FakeUNet(torch.nn.Module):
    """Stands in for the U-Net: remembers its inputs and answers `answer(x_t, t)` as `.sample`."""

    def __init__(self, answer):
        super().__init__()
        self.answer, self.seen = answer, []

    def forward(self, x_t, t):
        self.seen.append((x_t, t))
        return SimpleNamespace(sample=self.answer(x_t, t))


def oracle(shift=0):
    """The noise in x_t, solved from q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) (eq. 4)
    for the clean X0, at the timestep it is given plus `shift` (shift != 0: a U-Net off by some steps)."""
    def answer(x_t, t):
        abar = SCHEDULE.alphas_cumprod[(t + shift).clamp(0, 999)].view(-1, 1, 1, 1)   # (B, 1, 1, 1)
        return (x_t - abar.sqrt() * X0) / (1 - abar).sqrt()
    return answer


def test_ddpm_loss_is_diffusers_training_step():
    unet = FakeUNet(lambda x_t, t: 0.5 * x_t)
    loss = ddpm_loss(unet, X0, SCHEDULE, generator=torch.Generator().manual_seed(3))
    # diffusers' train_unconditional.py, with the random numbers in ddpm_loss's order (t, then the noise)
    g = torch.Generator().manual_seed(3)
    t = torch.randint(0, 1000, (64,), generator=g)
    noise = torch.randn(X0.shape, generator=g)
    x_t = DDPMScheduler(**SCHEDULER_CONFIG).add_noise(X0, noise, t)
    (seen_x_t, seen_t), = unet.seen
    assert torch.equal(seen_t, t) and len(t.unique()) > 50                 # one random timestep per image
    assert torch.allclose(seen_x_t, x_t, atol=1e-6)
    assert loss.item() == pytest.approx(F.mse_loss(0.5 * x_t, noise).item(), rel=1e-6)


def test_a_unet_that_knows_the_noise_scores_zero_and_one_off_by_50_steps_does_not():
    g = torch.Generator().manual_seed(0)
    assert ddpm_loss(FakeUNet(oracle()), X0, SCHEDULE, generator=g).item() < 1e-8
    assert ddpm_loss(FakeUNet(oracle(shift=50)), X0, SCHEDULE, generator=g).item() > 1e-3
    no_guess = ddpm_loss(FakeUNet(lambda x_t, t: torch.zeros_like(x_t)), X0, SCHEDULE, generator=g)
    assert no_guess.item() == pytest.approx(1.0, abs=0.05)                 # E[eps^2] = 1: the loss to beat


def test_ddpm_loss_is_seeded_and_trains_the_unet():
    unet = make_unet(block_out_channels=(8, 16, 16), norm_num_groups=4, sample_size=8)
    x0 = X0[:4]
    loss = ddpm_loss(unet, x0, SCHEDULE, generator=torch.Generator().manual_seed(1))
    assert loss.item() == ddpm_loss(unet, x0, SCHEDULE, generator=torch.Generator().manual_seed(1)).item()
    assert loss.item() != ddpm_loss(unet, x0, SCHEDULE, generator=torch.Generator().manual_seed(2)).item()
    loss.backward()
    assert all(p.grad is not None for p in unet.parameters() if p.requires_grad)
