"""The course's small models and their shipped checkpoints.

`load_pretrained(name)` loads a checkpoint from assets/checkpoints/; `sample(name, n, seed)`
draws n images from it as a tensor (n, C, H, W) in [0, 1]."""

from __future__ import annotations

import torch

from ..paths import checkpoint_dir

_CACHE: dict = {}


def load_pretrained(name: str, device: str | torch.device = "cpu"):
    """Load a shipped checkpoint by name (cached). 'rbm-digits' -> our RBM; 'gan-digits' ->
    (generator, discriminator); 'ddpm-digits' -> a diffusers DDPMPipeline; 'flow-digits' -> a
    diffusers UNet2DModel that predicts rectified-flow velocities; 'vae-shapes' -> a
    diffusers AutoencoderKL.

    Example: pipe = load_pretrained("ddpm-digits"); pipe.unet, pipe.scheduler"""
    path = checkpoint_dir(name)
    key = (name, str(device))
    if key not in _CACHE:
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()  # no "Loading pipeline components" bars in lessons
        if name == "ddpm-digits":
            from diffusers import DDPMPipeline

            pipe = DDPMPipeline.from_pretrained(path, use_safetensors=True).to(device)
            pipe.set_progress_bar_config(disable=True)
            _CACHE[key] = pipe
        elif name == "rbm-digits":
            import json

            from safetensors.torch import load_file

            from .rbm import RBM

            cfg = json.loads((path / "config.json").read_text())
            rbm = RBM(cfg["n_visible"], cfg["n_hidden"])
            rbm.load_state_dict(load_file(str(path / "model.safetensors")))
            _CACHE[key] = rbm
        elif name == "gan-digits":
            import json

            from safetensors.torch import load_file

            from .gan import make_discriminator, make_generator

            cfg = json.loads((path / "config.json").read_text())
            G = make_generator(cfg["z_dim"], cfg["hidden"])
            G.load_state_dict(load_file(str(path / "generator.safetensors")))
            D = make_discriminator(cfg["hidden"], cfg["dropout"])
            D.load_state_dict(load_file(str(path / "discriminator.safetensors")))
            _CACHE[key] = (G.eval(), D.eval())
        elif name == "flow-digits":
            from diffusers import UNet2DModel

            _CACHE[key] = UNet2DModel.from_pretrained(path, use_safetensors=True).eval().to(device)
        elif name == "vae-shapes":
            from diffusers import AutoencoderKL

            _CACHE[key] = AutoencoderKL.from_pretrained(path, use_safetensors=True).eval().to(device)
        else:
            raise NotImplementedError(f"{name!r} is not available yet in this version of the course")
    return _CACHE[key]


@torch.no_grad()
def sample(name: str, n: int = 16, seed: int = 0, steps: int = 50, device="cpu") -> torch.Tensor:
    """n samples of a shipped model as (n, C, H, W) in [0, 1]; the same seed, the same images.

    For 'ddpm-digits', `steps` DDIM steps (eta = 0) from the shipped 1000-step model; for
    'flow-digits', `steps` Euler steps along the learned velocity (lesson 07); for
    'rbm-digits', `steps` Gibbs steps from random bits (1000 if steps is left at 50).
    Example: sample("ddpm-digits", 16, seed=0).shape -> (16, 1, 16, 16)"""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if name == "ddpm-digits":
        from diffusers import DDIMScheduler

        pipe = load_pretrained(name, device)
        ddim = DDIMScheduler.from_config(pipe.scheduler.config)
        return sample_diffusion(pipe.unet, ddim, n, steps, torch.Generator().manual_seed(seed))
    if name == "flow-digits":
        from ..flow import euler_sample, unet_velocity

        unet = load_pretrained(name, device)
        cfg = unet.config
        noise = torch.randn((n, cfg.in_channels, cfg.sample_size, cfg.sample_size),
                            generator=torch.Generator().manual_seed(seed)).to(unet.device)
        x = euler_sample(unet_velocity(unet), noise, steps)
        return ((x.clamp(-1, 1) + 1) / 2).cpu()
    if name == "gan-digits":
        from .gan import generate

        G, _ = load_pretrained(name)
        return generate(G, torch.randn(n, G[0].in_features, generator=torch.Generator().manual_seed(seed)))
    if name == "rbm-digits":
        rbm = load_pretrained(name)
        pv = rbm.sample(n, steps=1000 if steps == 50 else steps, generator=torch.Generator().manual_seed(seed))
        return pv.reshape(n, 1, 8, 8)
    load_pretrained(name, device)  # raises the helpful error for unknown / missing names
    raise NotImplementedError(name)


@torch.no_grad()
def sample_diffusion(unet, scheduler, n: int, steps: int, generator: torch.Generator) -> torch.Tensor:
    """Run a diffusers scheduler's reverse loop from seeded noise -> (n, C, H, W) in [0, 1]."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    cfg = unet.config
    x = torch.randn((n, cfg.in_channels, cfg.sample_size, cfg.sample_size), generator=generator)
    x = x.to(unet.device)
    scheduler.set_timesteps(steps)
    for t in scheduler.timesteps:
        eps = unet(x, t).sample
        x = scheduler.step(eps, t, x, generator=generator).prev_sample
    return ((x.clamp(-1, 1) + 1) / 2).cpu()
