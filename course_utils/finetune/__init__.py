"""Lesson 08: teach the course's text-to-image model a new word ("teal"), on a CPU. One module a technique:

- `teal`: the data. Shapes World scenes in the extra colour teal (20, 160, 160), which no base model ever
  saw (`teal_examples`, `recoloured`), latents for them (`latents_for`, `drawn_latents`), a reader that
  knows teal (`read_colours`) and a pipeline of one's own to change (`fresh_pipeline`).
- `textual_inversion` (Gal et al. 2022): `learn_word` learns one new token vector, everything else
  frozen; `save_word` writes it in the format of diffusers' `pipe.load_textual_inversion`.
- `vae_adapters` (LoRA, Hu et al. 2021): `add_decoder_lora` / `train_decoder_lora` teach the VAE decoder
  to paint teal (and, with encoder=True, the encoder to give teal latents of its own).
- `unet_adapters` (LoRA): `add_lora` / `train_lora` put a PEFT adapter on the U-Net's attention layers
  (`unet.add_adapter`), trained with `train.fit`; `save_lora` writes it, `load_lora` loads it with the
  VAE's adapters, `lora_scale` sets how much of them a call uses.
Both adapters can keep what the base model did where it should not change (prior preservation by
distillation: `drawn_latents`, `preserve`, `preserve_latents`). `live_demo` (course_utils/live.py) runs
any of the trainers as a live demo bounded by wall time.

One latent convention: every function here takes and gives scaled latents, as the U-Net sees them (the
VAE's own times vae.config.scaling_factor, what `pipe(..., output_type="latent")` gives);
`vae_adapters.to_decoder` and `vae_adapters.from_encoder` are the one place that converts.

This package's face re-exports the public names, so `finetune.learn_word(...)` works as before;
course_utils modules and scripts import from the technique's module."""

from ..live import LiveDemo, live_demo
from .teal import (
    NEW_COLOUR,
    drawn_latents,
    fresh_pipeline,
    latents_for,
    read_colours,
    recoloured,
    teal_examples,
)
from .textual_inversion import NewWord, learn_word, load_word, nearest_words, save_word
from .unet_adapters import (
    CONV_TARGETS,
    LORA_TARGETS,
    WORD_TARGETS,
    add_lora,
    load_adapter,
    load_lora,
    lora_parameters,
    lora_scale,
    save_lora,
    train_lora,
)
from .vae_adapters import (
    DECODER_TARGETS,
    add_decoder_lora,
    decoder_adapter,
    from_encoder,
    load_vae_lora,
    save_decoder_lora,
    to_decoder,
    train_decoder_lora,
)

__all__ = [
    "NEW_COLOUR", "drawn_latents", "fresh_pipeline", "latents_for", "read_colours", "recoloured", "teal_examples",
    "NewWord", "learn_word", "load_word", "nearest_words", "save_word",
    "CONV_TARGETS", "LORA_TARGETS", "WORD_TARGETS", "add_lora", "load_adapter", "load_lora", "lora_parameters", "lora_scale",
    "save_lora", "train_lora",
    "DECODER_TARGETS", "add_decoder_lora", "decoder_adapter", "from_encoder", "load_vae_lora", "save_decoder_lora",
    "to_decoder", "train_decoder_lora",
    "LiveDemo", "live_demo",
]
