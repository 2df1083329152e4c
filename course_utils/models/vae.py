"""The VAE of lessons 05-06: a diffusers `AutoencoderKL`, 64x64x3 images <-> 8x8x4 latents
(the same 8x per side and 4 channels as Stable Diffusion's VAE: 48x fewer numbers)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4, sample_size=64, layers_per_block=1,
    block_out_channels=(16, 32, 64, 64), norm_num_groups=8,
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
)
KL_WEIGHT = 1e-6


def make_vae(**overrides):
    """A fresh (untrained) `AutoencoderKL` with the course's config (about 1 M parameters)."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(**(VAE_CONFIG | overrides))


def vae_loss(vae, x: torch.Tensor, generator=None, kl_weight: float = KL_WEIGHT):
    """Reconstruction (MSE) + a small KL term; x: (B, 3, 64, 64) in [-1, 1] -> (loss, mse, kl)."""
    posterior = vae.encode(x).latent_dist                       # N(mu, sigma^2) per latent number
    z = posterior.sample(generator=generator)                  # reparameterised: mu + sigma * eps
    recon = vae.decode(z).sample                               # (B, 3, 64, 64)
    mse = F.mse_loss(recon, x)
    kl = posterior.kl().mean() / z[0].numel()                  # per latent number
    return mse + kl_weight * kl, mse, kl


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, for images in [0, 1]: 10 log10(1 / MSE)."""
    mse = ((x - y) ** 2).flatten(1).mean(1).clamp(min=1e-10)
    return 10 * torch.log10(1 / mse)
