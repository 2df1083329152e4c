"""LoRA on the U-Net (Hu et al. 2021): a PEFT adapter on its attention projections (`unet.add_adapter`),
trained with train.fit on scaled latents, the base weights frozen.

- `add_lora` / `train_lora`: the adapter and its training, with prior preservation by distillation
  (`preserve`: examples whose target is what the base U-Net predicts, so that the adapter leaves them).
- `save_lora` writes diffusers' LoRA format; `load_lora` loads it with the VAE's adapters
  (vae_adapters) where the folder holds them, `load_adapter` into a fresh pipeline.
- `lora_scale`: how much of the adapters a call of the pipeline uses."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import validate as v
from ..models.unet_shapes import denoising_loss, encode_prompts, noisy_batch, training_schedule
from .teal import check_training_args, fresh_pipeline
from .vae_adapters import decoder_adapter, has_adapter, load_vae_lora

LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")  # the projections of every attention layer
CONV_TARGETS = ("conv1", "conv2")                     # the U-Net's resnet convolutions
WORD_TARGETS = ("attn2.to_v", "attn2.to_out.0")       # the cross-attention's values and output: what a word writes,
                                                      # not where any word or pixel looks (queries and keys stay)


def add_lora(unet, rank: int = 4, alpha: float | None = None, targets=LORA_TARGETS):
    """Put a LoRA adapter (PEFT) on the U-Net's attention projections: W x -> W x + (alpha / rank) B A x,
    A (rank, in) random, B (out, rank) zero, so the adapted U-Net starts as the base one. Only A and B train."""
    from peft import LoraConfig

    v.whole("rank", rank, 1, 64)
    unet.requires_grad_(False)
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=alpha or rank, init_lora_weights="gaussian",
                                target_modules=list(targets)))
    return unet


def lora_parameters(unet) -> int:
    """How many numbers the adapter adds (its trainable parameters)."""
    return sum(p.numel() for p in unet.parameters() if p.requires_grad)


def train_lora(pipe, latents: torch.Tensor, captions: list[str], steps: int = 300, lr: float = 1e-3,
               batch_size: int = 32, seed: int = 0, out=None, preserve=None, preserve_weight: float = 1.0,
               keep_unconditional: bool = False, **fit_kwargs):
    """Train the adapter of pipe.unet (add_lora first) so that it denoises `latents` (scaled) given
    `captions`, 10 % of them dropped for guidance. `preserve`: an optional (N,) bool mask of examples
    whose target is not their own v but what the base U-Net (adapter off) predicts for the same noisy
    input, so that the adapter learns to leave them as they were (a distillation form of DreamBooth's
    prior preservation); their error weighs `preserve_weight` times a new example's. With
    `keep_unconditional`, every example whose caption was dropped is preserved the same way, so that the
    adapter leaves the unconditional prediction (the one guidance pushes away from) as it was and
    changes only what captions ask for. Returns train.fit's log, with every step's loss under "losses";
    with `out`, saves the adapter there (save_lora) atomically."""
    from ..models.unet_shapes import CAPTION_DROPOUT
    from ..pipelines import check_pipe
    from ..train import fit

    check_pipe(pipe)
    check_training_args(latents, captions, steps, lr, batch_size)
    v.number("preserve_weight", preserve_weight, 0.0, 1e6)
    if preserve is not None:
        preserve = torch.as_tensor(preserve, dtype=torch.bool)
        if preserve.shape != (len(latents),):
            raise ValueError(f"preserve must be one True/False per example ({len(latents)}), got shape {tuple(preserve.shape)}")

    contexts = encode_prompts(pipe.tokenizer, pipe.text_encoder, list(captions))     # (N, L, d)
    null = encode_prompts(pipe.tokenizer, pipe.text_encoder, [""])                  # (1, L, d)
    schedule = training_schedule()

    def draw(gen, step):
        idx = torch.randint(0, len(latents), (batch_size,), generator=gen)
        drop = torch.rand(batch_size, generator=gen) < CAPTION_DROPOUT
        keep = preserve[idx] if preserve is not None else torch.zeros(batch_size, dtype=torch.bool)
        return latents[idx], torch.where(drop[:, None, None], null, contexts[idx]), keep, drop

    def loss(unet, batch, gen):
        x0, context, keep, drop = batch
        if keep_unconditional:
            keep = keep | drop
        if not keep.any():
            return denoising_loss(unet, x0, context, schedule, generator=gen)
        x_t, t, target = noisy_batch(x0, schedule, gen)
        unet.disable_adapters()
        try:
            with torch.no_grad():
                base = unet(x_t[keep], t[keep], encoder_hidden_states=context[keep]).sample
        finally:
            unet.enable_adapters()
        target = target.clone()
        target[keep] = base
        error = (unet(x_t, t, encoder_hidden_states=context).sample - target).pow(2).mean(dim=(1, 2, 3))
        weight = torch.where(keep, preserve_weight, 1.0)
        return (weight * error).mean()

    write = fit_kwargs.pop("write_weights", save_lora)
    _, log, losses = fit(pipe.unet, loss, draw, steps, lr=lr, name="lora-teal", seed=seed, out=out,
                         write_weights=write, **fit_kwargs)
    return log | {"losses": losses}


def save_lora(unet, folder) -> None:
    """Write the U-Net's adapter as diffusers LoRA weights (pytorch_lora_weights.safetensors)."""
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=layers, safe_serialization=True)


def load_lora(pipe, folder) -> None:
    """pipe.load_lora_weights(folder) (the U-Net's adapter), without diffusers' notice that the text
    encoder (our BERT) has none; and the VAE decoder's adapter too when the folder holds one."""
    from ..pipelines import check_pipe
    from ..quiet import quiet

    check_pipe(pipe)
    if not (Path(folder) / "pytorch_lora_weights.safetensors").is_file():
        raise FileNotFoundError(f"no LoRA weights (pytorch_lora_weights.safetensors) in {str(folder)!r}: the course's "
                                "adapter is in assets/checkpoints/lora-teal (python scripts/train_lora_teal.py rebuilds it)")
    with quiet("diffusers.loaders.lora_base"):
        pipe.load_lora_weights(str(folder))
    if (Path(folder) / "vae_decoder_lora.safetensors").exists():
        load_vae_lora(pipe.vae, folder)


def load_adapter(folder, device="cpu"):
    """A fresh course pipeline with the LoRA adapter in `folder` loaded (models.load_pretrained("lora-teal"))."""
    pipe = fresh_pipeline(device)
    load_lora(pipe, folder)
    return pipe


def lora_scale(pipe, scale: float) -> dict:
    """Use the adapters at `scale`: the VAE's switched on (scale > 0) or off, and the keyword
    arguments that give the U-Net's that scale. Example: pipe(prompt, **lora_scale(pipe, 0.5))"""
    scale = v.number("scale", scale, 0.0, 10.0, "how much of the adapter: 0 = the base model, 1 = as trained")
    if has_adapter(pipe.vae):
        decoder_adapter(pipe.vae, scale > 0)
    return {"cross_attention_kwargs": {"scale": scale}}
