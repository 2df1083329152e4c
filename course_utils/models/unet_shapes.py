"""The text-conditioned denoiser of lesson 06: a diffusers `UNet2DConditionModel` on the 8x8x4
latents of `vae-shapes`, cross-attending to the token embeddings of the course's text encoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..noise import Schedule, add_noise

UNET_CONFIG = dict(
    sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
    block_out_channels=(64, 128), norm_num_groups=32, cross_attention_dim=384, attention_head_dim=8,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
)
# Stable Diffusion's schedule (1000 steps, "scaled_linear" betas from 0.00085 to 0.012), with the
# fixes of Lin et al. 2024 ("Common Diffusion Noise Schedules and Sample Steps are Flawed"): the
# betas rescaled so that the last step is pure noise (SD's leaves 7 % of the image in, and a model
# that learns to read the layout from that leak ignores the prompt's "top left" when sampling
# starts from pure noise), v-prediction (the U-Net predicts v = sqrt(abar) eps - sqrt(1 - abar) x0,
# as Stable Diffusion 2 does: at pure noise, v = -x0 must come from the prompt alone), and
# sampling that starts at the last timestep ("trailing").
SCHEDULER_CONFIG = dict(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085, steps_offset=1,
                        beta_end=0.012, prediction_type="v_prediction", rescale_betas_zero_snr=True,
                        timestep_spacing="trailing", clip_sample=False, set_alpha_to_one=False)
CAPTION_DROPOUT = 0.1  # share of captions replaced by "" in training, so classifier-free guidance works


def make_unet(**overrides):
    """A fresh (untrained) `UNet2DConditionModel` with the course's config."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(**(UNET_CONFIG | overrides))


@torch.no_grad()
def encode_prompts(tokenizer, text_encoder, prompts: list[str]) -> torch.Tensor:
    """Token embeddings exactly as StableDiffusionPipeline.encode_prompt computes them:
    padded to tokenizer.model_max_length, attention mask used when the encoder's config asks. (n, L, d)"""
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt")
    use_mask = getattr(text_encoder.config, "use_attention_mask", False)
    mask = ids.attention_mask.to(text_encoder.device) if use_mask else None
    return text_encoder(ids.input_ids.to(text_encoder.device), attention_mask=mask)[0]


def training_schedule() -> Schedule:
    """The noise schedule of SCHEDULER_CONFIG (zero terminal SNR included), as a course Schedule."""
    from diffusers import DDIMScheduler

    return Schedule("scaled_linear, zero terminal SNR", DDIMScheduler(**SCHEDULER_CONFIG).betas.float())


def noisy_batch(latents: torch.Tensor, schedule: Schedule, generator=None,
                prediction_type: str = SCHEDULER_CONFIG["prediction_type"]):
    """One training batch of Ho et al.'s objective on scaled latents (B, 4, 8, 8): random timesteps t (B,),
    the noised latents x_t and the target the scheduler expects: the noise eps, or
    v = sqrt(abar) eps - sqrt(1 - abar) x0. Returns (x_t, t, target), on the latents' device
    (t and eps are drawn on the CPU, from a CPU generator, then moved there)."""
    B = latents.shape[0]
    t = torch.randint(0, schedule.num_timesteps, (B,), generator=generator).to(latents.device)
    eps = torch.randn(latents.shape, generator=generator).to(latents.device)
    x_t = add_noise(latents, eps, t, schedule)
    if prediction_type == "epsilon":
        target = eps
    elif prediction_type == "v_prediction":
        abar = schedule.alphas_cumprod.to(latents)[t].reshape(B, 1, 1, 1)       # (B, 1, 1, 1)
        target = abar.sqrt() * eps - (1 - abar).sqrt() * latents               # Salimans & Ho 2022
    else:
        raise ValueError(f"prediction_type must be 'epsilon' or 'v_prediction', got {prediction_type!r}")
    return x_t, t, target


def denoising_loss(unet, latents: torch.Tensor, context: torch.Tensor, schedule: Schedule, generator=None,
                   prediction_type: str = SCHEDULER_CONFIG["prediction_type"]):
    """The U-Net's training loss: MSE between its prediction for noisy_batch's x_t, conditioned on token
    embeddings (B, L, d), and the target."""
    x_t, t, target = noisy_batch(latents, schedule, generator, prediction_type)
    return F.mse_loss(unet(x_t, t, encoder_hidden_states=context).sample, target)


def load(folder, device="cpu"):
    """The UNet2DConditionModel saved in `folder` (stored as float16, run as float32)."""
    from diffusers import UNet2DConditionModel

    from ..checkpoint_files import read_config

    read_config(folder, UNET_CONFIG)                        # a missing key would load a library default
    unet = UNet2DConditionModel.from_pretrained(folder, use_safetensors=True, dtype=torch.float32)
    return unet.eval().to(device)
