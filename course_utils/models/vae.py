"""The VAE of lessons 05-06: a diffusers `AutoencoderKL`, 64x64x3 images <-> 8x8x4 latents
(the same 8x per side and 4 channels as Stable Diffusion's VAE: 48x fewer numbers)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..images import to_unit

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
    """Reconstruction (MSE) + a small KL term; x: (B, 3, 64, 64) in [-1, 1] -> (loss, mse, kl).

    Both terms are *means* (and averaged over the batch): `mse` over the 3 x 64 x 64 = 12,288 pixel
    values of each image, `kl` over its 4 x 8 x 8 = 256 latent numbers. Written per image with sums,
    as papers write it: loss x 12,288 = ||x - D(z)||^2 + (kl_weight x 12,288 / 256) KL_sum, so the
    weight on the summed KL is 48 x kl_weight (see `summed_kl_weight`). Used in notebooks/05_vae.ipynb and scripts/train_vae_shapes.py."""
    posterior = vae.encode(x).latent_dist                       # N(mu, sigma^2) per latent number
    z = posterior.sample(generator=generator)                  # reparameterised: mu + sigma * eps
    recon = vae.decode(z).sample                               # (B, 3, 64, 64)
    mse = F.mse_loss(recon, x)
    kl = posterior.kl().mean() / z[0].numel()                  # per latent number
    return mse + kl_weight * kl, mse, kl


def summed_kl_weight(kl_weight: float = KL_WEIGHT, image_numel: int = 3 * 64 * 64, latent_numel: int = 4 * 8 * 8) -> float:
    """The beta of the summed loss ||x - D(z)||^2 + beta KL_sum that `vae_loss`'s means amount to:
    kl_weight x image_numel / latent_numel (1e-6 x 48 = 4.8e-5 for vae-shapes).

    Example: summed_kl_weight()  # 4.8e-05"""
    from ..validate import number, whole

    return (number("kl_weight", kl_weight, 0.0, None) * whole("image_numel", image_numel, 1)
            / whole("latent_numel", latent_numel, 1))


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, for images in [0, 1]: 10 log10(1 / MSE)."""
    mse = ((x - y) ** 2).flatten(1).mean(1).clamp(min=1e-10)
    return 10 * torch.log10(1 / mse)


def check_images(x: torch.Tensor) -> torch.Tensor:
    """Images for the VAE: (N, 3, H, W) or (3, H, W), values in [0, 1], H and W multiples of 8.
    Returns a (N, 3, H, W) float tensor, or raises a ValueError that says what was expected."""
    from ..validate import tensor

    x = tensor("x", x, hint="images (N, 3, H, W) in [0, 1]; NumPy images convert with images.from_numpy(arr)")
    x = x[None] if x.ndim == 3 else x
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected RGB images (N, 3, H, W) or (3, H, W), got shape {tuple(x.shape)}"
                         + (": grey images need 3 channels, e.g. x.repeat(1, 3, 1, 1)" if x.ndim == 4 and x.shape[1] == 1 else ""))
    if x.shape[-1] % 8 or x.shape[-2] % 8:
        raise ValueError(f"height and width must be multiples of 8 (the VAE shrinks them 8x), got {tuple(x.shape[-2:])}")
    lo, hi = x.min().item(), x.max().item()
    if lo < -1e-3 or hi > 1 + 1e-3:
        hint = " (these look like [-1, 1] images: pass (x + 1) / 2)" if lo >= -1 - 1e-3 and hi <= 1 + 1e-3 else ""
        raise ValueError(f"expected pixel values in [0, 1], got min {lo:.3g} and max {hi:.3g}{hint}")
    return x.float()


def check_vae(vae):
    """`vae` if it is an autoencoder (encode, decode, config), else a TypeError that says where to get one."""
    if not all(hasattr(vae, a) for a in ("encode", "decode", "config", "device")):
        from ..validate import InputTypeError

        raise InputTypeError(f"vae must be an AutoencoderKL, e.g. models.load_pretrained('vae-shapes'), "
                             f"got {type(vae).__name__}")
    return vae


@torch.no_grad()
def encode(vae, x: torch.Tensor, sample: bool = False, generator=None) -> torch.Tensor:
    """Images (N, 3, H, W) in [0, 1] -> latents (N, 4, H/8, W/8): the mean of q(z | x), or a sample."""
    x = check_images(x).to(check_vae(vae).device)
    dist = vae.encode(x * 2 - 1).latent_dist
    return (dist.sample(generator=generator) if sample else dist.mode()).cpu()


@torch.no_grad()
def decode(vae, z: torch.Tensor) -> torch.Tensor:
    """Latents (N, 4, h, w) -> images (N, 3, 8h, 8w) in [0, 1]."""
    from ..validate import tensor

    channels = check_vae(vae).config.latent_channels
    if tensor("z", z).ndim != 4 or z.shape[1] != channels or 0 in z.shape:
        raise ValueError(f"z must be latents (N, {channels}, h, w), got shape {tuple(z.shape)}")
    return to_unit(vae.decode(z.to(vae.device)).sample).cpu()


def reconstruct(vae, x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] through the encoder and the decoder -> images in [0, 1]."""
    return decode(vae, encode(vae, x))


@torch.no_grad()
def perturbed_reconstructions(vae, x: torch.Tensor, sizes, generator=None) -> torch.Tensor:
    """decode(mu(x) + s * eps) for each noise size s -> (S, N, 3, H, W) in [0, 1], one eps ~ N(0, I)
    (drawn on the CPU) for every size: how far the picture moves when its latent moves by s.

    Example: perturbed_reconstructions(vae, shapes_world(4).images, [0, 0.1, 1.0])
    Used in notebooks/05_vae.ipynb."""
    from ..validate import generator as check_generator
    from ..validate import number

    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be a list of noise sizes, e.g. [0, 0.1, 1.0], got {type(sizes).__name__}")
    sizes = [number("sizes (each noise size)", s, 0.0, 1e3, "a standard deviation in latent units, e.g. 0.1") for s in sizes]
    if not sizes:
        raise ValueError("sizes must list at least one noise size, e.g. [0, 0.1, 1.0]")
    z = encode(vae, x)                                                        # (N, 4, h, w)
    eps = torch.randn(z.shape, generator=check_generator("generator", generator))
    return torch.stack([decode(vae, z + s * eps) for s in sizes])


def load(folder, device="cpu"):
    """The AutoencoderKL saved in `folder` (safetensors), for models.load_pretrained."""
    from diffusers import AutoencoderKL

    from ..checkpoint_files import read_config

    read_config(folder, [*VAE_CONFIG, "scaling_factor"])   # a missing key would load a library default
    return AutoencoderKL.from_pretrained(folder, use_safetensors=True).eval().to(device)
