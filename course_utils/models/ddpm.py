"""The DDPM of lesson 03: a small diffusers `UNet2DModel` that predicts the noise in 16x16 digits."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..noise import Schedule, add_noise

UNET_CONFIG = dict(
    sample_size=16, in_channels=1, out_channels=1, layers_per_block=1,
    block_out_channels=(32, 64, 64), norm_num_groups=8,
    down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
    up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
)
SCHEDULER_CONFIG = dict(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4,
                        beta_end=0.02, prediction_type="epsilon", clip_sample=True)


def make_unet(**overrides):
    """A fresh (untrained) `UNet2DModel` with the lesson's config (1.1 M parameters)."""
    from diffusers import UNet2DModel

    return UNet2DModel(**(UNET_CONFIG | overrides))


def ddpm_loss(unet, x0: torch.Tensor, schedule: Schedule, generator: torch.Generator | None = None):
    """The DDPM training objective (Ho et al. 2020, Algorithm 1): || eps - eps_theta(x_t, t) ||^2.

    x0: (B, C, H, W) clean images in [-1, 1]."""
    B = x0.shape[0]
    t = torch.randint(0, schedule.num_timesteps, (B,), generator=generator)      # 1. random timesteps
    noise = torch.randn(x0.shape, generator=generator)                            # 2. eps ~ N(0, I)
    x_t = add_noise(x0, noise.to(x0.device), t, schedule)                         # 3. q(x_t | x_0)
    eps_pred = unet(x_t, t.to(x0.device)).sample                                  # 4. predict eps
    return F.mse_loss(eps_pred, noise.to(x0.device))


def load(folder, device="cpu"):
    """The DDPMPipeline saved in `folder` (safetensors), for models.load_pretrained."""
    from diffusers import DDPMPipeline

    from ..checkpoint_files import read_config

    read_config(folder, ("unet", "scheduler"), "model_index.json")   # a missing key would load a library default
    read_config(folder, UNET_CONFIG, "unet/config.json")
    read_config(folder, SCHEDULER_CONFIG, "scheduler/scheduler_config.json")
    pipe = DDPMPipeline.from_pretrained(folder, use_safetensors=True).to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def load_unet(folder, device="cpu"):
    """A bare UNet2DModel saved in `folder` (flow-digits), for models.load_pretrained."""
    from diffusers import UNet2DModel

    from ..checkpoint_files import read_config

    read_config(folder, UNET_CONFIG)
    return UNet2DModel.from_pretrained(folder, use_safetensors=True).eval().to(device)
