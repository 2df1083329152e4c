"""Lesson 08: teach the course's text-to-image model a new word ("teal"), on a CPU.

- `teal_examples`: Shapes World scenes drawn in the extra colour teal (20, 160, 160), which no
  base model ever saw, with captions in the course's varied wording.
- `latents_for`: latents that `vae-shapes` decodes to the given pictures. Its encoder never saw
  teal and returns latents that decode to a duller, greener colour; a few steps of gradient descent
  through the frozen decoder find latents that decode to teal (the VAE bounds what the whole
  model can draw: lesson 08 shows it).
- Textual inversion (Gal et al. 2022): `learn_word` learns one new token vector, everything else
  frozen; `save_word` writes it in the format of diffusers' `pipe.load_textual_inversion`.
- LoRA (Hu et al. 2021), two adapters: `add_decoder_lora` / `train_decoder_lora` teach the VAE
  decoder to paint teal; `add_lora` / `train_lora` put a PEFT adapter on the U-Net's attention
  layers (`unet.add_adapter`), trained with `train.fit`. `save_lora` and `save_decoder_lora` write
  them, `load_lora` loads both, `lora_scale` sets how much of them a call uses.
- `read_colours`: read pictures back with a reader that knows teal."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

from . import metrics, shapes
from . import validate as v
from .models.unet_shapes import denoising_loss, encode_prompts, training_schedule

NEW_COLOUR = "teal"
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")  # the projections of every attention layer


def fresh_pipeline(device: str = "cpu"):
    """A course StableDiffusionPipeline with its own copies of the tokenizer, text encoder, U-Net and VAE,
    so that adding a word or an adapter leaves `pipelines.load_text_to_image()` untouched."""
    from .pipelines import load_text_to_image

    base = load_text_to_image(None, device)
    parts = dict(base.components)
    for name in ("tokenizer", "text_encoder", "unet", "vae"):
        parts[name] = copy.deepcopy(parts[name])
    pipe = type(base)(**parts, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def teal_examples(n: int, seed: int = 0, colour: str = NEW_COLOUR, other_share: float = 0.0,
                  wording: str = "varied"):
    """n single-object scenes -> (images (n, 3, 64, 64) in [0, 1], scenes, captions). The object is
    `colour`; a share `other_share` of the scenes keep one of the six old colours (so that a
    fine-tuned model keeps them: DreamBooth's "prior preservation"). Captions in `wording`
    ('varied' for training, 'freeform' for measuring: wordings training never used)."""
    v.whole("n", n, 1, v.MAX_IMAGES)
    v.whole("seed", seed, 0, 2**62)
    v.number("other_share", other_share, 0.0, 1.0)
    v.one_of("wording", wording, ("varied", "freeform"))
    if colour not in shapes.COLOURS | shapes.EXTRA_COLOURS:
        raise ValueError(f"colour must be one of {list(shapes.COLOURS | shapes.EXTRA_COLOURS)}, got {colour!r}")
    rng = np.random.default_rng([seed, 8])
    scenes = []
    for _ in range(n):
        fixed = {} if rng.random() < other_share else {"colour": colour}
        scene = shapes.Scene(str(rng.choice(list(shapes.BACKGROUNDS))), [shapes.random_object(rng, **fixed)])
        scene.caption = shapes.make_caption(scene, rng, wording)
        scenes.append(scene)
    images = torch.from_numpy(np.stack([shapes.render_scene(s) for s in scenes])).permute(0, 3, 1, 2).float() / 255
    return images, scenes, [s.caption for s in scenes]


def latents_for(vae, images: torch.Tensor, steps: int = 150, lr: float = 0.05, jitter: float = 0.0,
                seed: int = 0) -> torch.Tensor:
    """Scaled latents (N, 4, 8, 8) that `vae` decodes to `images` (N, 3, 64, 64) in [0, 1]: the
    encoder's answer, then `steps` Adam steps on the decoder's pixel error (the decoder frozen).
    jitter > 0 decodes z + jitter * N(0, 1) at each step instead, so that latents near z decode to
    the picture too (a model that makes them will make them only approximately)."""
    from .models.vae import check_vae, encode

    check_vae(vae)
    images = v.tensor("images", images, 4, "(N, 3, 64, 64) in [0, 1]")
    v.whole("steps", steps, 0, 100_000)
    v.number("lr", lr, 0.0, 10.0, open_lo=True)
    v.number("jitter", jitter, 0.0, 100.0)
    z = encode(vae, images).clone().requires_grad_(True)                       # (N, 4, 8, 8)
    opt = torch.optim.Adam([z], lr=lr)
    target = images * 2 - 1                                                    # the decoder speaks [-1, 1]
    for p in vae.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        shaken = z + jitter * torch.randn(z.shape, generator=g) if jitter else z
        loss = (vae.decode(shaken).sample.clamp(-1, 1) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return z.detach() * vae.config.scaling_factor


def read_colours(images) -> list[str]:
    """The colour of the largest object of each picture (N, 3, 64, 64), read by a reader that knows
    teal too ('none' where it finds no object). Example: Counter(read_colours(images))"""
    found = [metrics.read_scene(im, extra_colours=(NEW_COLOUR,))[1] for im in v.tensor("images", images, 4)]
    return [f[0].colour if f else "none" for f in found]


def nearest_words(pipe, vector: torch.Tensor, k: int = 5) -> list[tuple[str, float]]:
    """The k words of the tokenizer whose input vectors point most nearly the way `vector` does (cosine)."""
    from .pipelines import check_pipe

    check_pipe(pipe)
    v.whole("k", k, 1, 1000)
    table = pipe.text_encoder.get_input_embeddings().weight.detach()            # (V, d)
    vector = v.tensor("vector", vector, 1, f"one word vector ({table.shape[1]},)")
    if vector.shape[0] != table.shape[1]:
        raise ValueError(f"vector must have {table.shape[1]} numbers (the text encoder's width), got {vector.shape[0]}")
    cos = torch.nn.functional.cosine_similarity(table, vector.reshape(1, -1).to(table), dim=1)
    best = cos.topk(k + 1)
    words = pipe.tokenizer.convert_ids_to_tokens(best.indices.tolist())
    return [(w, round(float(c), 3)) for w, c in zip(words, best.values) if not w.startswith("<")][:k]


def _check_training(latents, captions, steps, lr, batch_size) -> None:
    """The arguments learn_word and train_lora share: latents (N, 4, h, w), N captions, steps, lr, batch."""
    latents = v.tensor("latents", latents, 4, "scaled latents (N, 4, 8, 8)")
    captions = v.texts("captions", captions)
    if len(captions) != len(latents):
        raise ValueError(f"captions must be one per latent: got {len(latents)} latents and {len(captions)} captions")
    v.whole("steps", steps, 1, 1_000_000)
    v.number("lr", lr, 0.0, 10.0, open_lo=True)
    v.whole("batch_size", batch_size, 1, 4096)


# ---------------------------------------------------------------- textual inversion
class NewWord(torch.nn.Module):
    """One learnable token vector (d,), started from the vector of an existing word."""

    def __init__(self, start: torch.Tensor):
        super().__init__()
        self.vector = torch.nn.Parameter(start.detach().clone().float())


def _embed_with(text_encoder, ids: torch.Tensor, mask: torch.Tensor, new_id: int, vector: torch.Tensor):
    """Token embeddings (B, L, d) of the text encoder, the new token's rows replaced by `vector`."""
    table = text_encoder.get_input_embeddings()
    rows = table(ids.clamp(max=table.num_embeddings - 1))                      # (B, L, d)
    rows = torch.where((ids == new_id)[..., None], vector.to(rows), rows)      # the new word's vector
    return text_encoder(inputs_embeds=rows, attention_mask=mask)[0]


def learn_word(pipe, latents: torch.Tensor, captions: list[str], token: str = "<teal>", start_word: str = "green",
               steps: int = 200, lr: float = 5e-3, batch_size: int = 16, seed: int = 0):
    """Textual inversion: a vector for `token`, learned so that the frozen U-Net denoises `latents`
    (scaled, (N, 4, 8, 8)) given `captions` in which `token` stands for the colour. Returns
    (vector (d,), losses). Only the vector is trained, with train.fit."""
    from .pipelines import check_pipe
    from .train import fit

    check_pipe(pipe)
    _check_training(latents, captions, steps, lr, batch_size)
    v.text("token", token)
    v.text("start_word", start_word)
    if start_word not in pipe.tokenizer.get_vocab():
        raise ValueError(f"start_word must be one word of the tokenizer's vocabulary (e.g. 'green'), got {start_word!r}")
    tok = copy.deepcopy(pipe.tokenizer)
    if tok.add_tokens([token]) != 1:
        raise ValueError(f"{token!r} is already a word of the tokenizer: pick a new one such as '<my-colour>'")
    new_id = tok.convert_tokens_to_ids(token)
    enc = tok(captions, padding="max_length", max_length=tok.model_max_length, truncation=True, return_tensors="pt")
    if not (enc.input_ids == new_id).any(dim=1).all():
        raise ValueError(f"every caption must contain {token!r} (the word being learned)")
    start = pipe.text_encoder.get_input_embeddings().weight[tok.convert_tokens_to_ids(start_word)]
    word, schedule = NewWord(start), training_schedule()
    for p in [*pipe.text_encoder.parameters(), *pipe.unet.parameters()]:
        p.requires_grad_(False)

    def draw(gen, step):
        idx = torch.randint(0, len(latents), (batch_size,), generator=gen)
        return latents[idx], enc.input_ids[idx], enc.attention_mask[idx]

    def loss(model, batch, gen):
        x0, ids, mask = batch
        context = _embed_with(pipe.text_encoder, ids, mask, new_id, model.vector)
        return denoising_loss(pipe.unet, x0, context, schedule, generator=gen)

    kept = {}
    fit(word, loss, draw, steps, lr=lr, name=f"learning {token}", seed=seed, every=steps,
        callback=lambda step, losses, model: kept.update(losses=list(losses)))
    return word.vector.detach(), kept["losses"]


def save_word(vector: torch.Tensor, token: str, path) -> None:
    """Write {token: vector} as safetensors, for pipe.load_textual_inversion(path, token=token)."""
    from safetensors.torch import save_file

    from .train import atomic_file

    vector = v.tensor("vector", vector, 1, "one word vector (d,)")
    v.text("token", token)
    atomic_file(path, lambda p: save_file({token: vector.detach().float().reshape(1, -1).contiguous()}, str(p)))


def load_word(pipe, path, token: str) -> None:
    """pipe.load_textual_inversion(path, token=token), without transformers' notice about how it
    initialises the new row (the row is overwritten with the learned vector right after)."""
    import transformers.utils.logging as tlog

    before = tlog.get_verbosity()
    tlog.set_verbosity_error()
    try:
        pipe.load_textual_inversion(str(path), token=token)
    finally:
        tlog.set_verbosity(before)


# ---------------------------------------------------------------- LoRA
DECODER_TARGETS = ("conv1", "conv2", "conv_out")  # the VAE decoder's resnet convolutions and its last layer


def add_decoder_lora(vae, rank: int = 4):
    """A LoRA adapter (PEFT) on the VAE decoder's convolutions, so that it can learn to paint a colour
    its training never showed it; the encoder and every base weight stay frozen."""
    from peft import LoraConfig, inject_adapter_in_model

    v.whole("rank", rank, 1, 64)
    vae.requires_grad_(False)
    inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian",
                                       target_modules=list(DECODER_TARGETS)), vae.decoder)
    return vae


def decoder_adapter(vae, on: bool = True) -> None:
    """Switch the VAE decoder's adapter on or off (off: the base decoder, exactly)."""
    layers = list(_tuner_layers(vae.decoder))
    if not layers:
        raise ValueError("this VAE's decoder has no adapter: finetune.add_decoder_lora(vae) or load_lora(pipe, folder)")
    for m in layers:
        m.enable_adapters(bool(on))


def lora_scale(pipe, scale: float) -> dict:
    """Use the adapters at `scale`: the VAE decoder's switched on (scale > 0) or off, and the keyword
    arguments that give the U-Net's that scale. Example: pipe(prompt, **lora_scale(pipe, 0.5))"""
    scale = v.number("scale", scale, 0.0, 10.0, "how much of the adapter: 0 = the base model, 1 = as trained")
    if any(True for _ in _tuner_layers(pipe.vae.decoder)):
        decoder_adapter(pipe.vae, scale > 0)
    return {"cross_attention_kwargs": {"scale": scale}}


def _tuner_layers(module):
    from peft.tuners.tuners_utils import BaseTunerLayer

    return (m for m in module.modules() if isinstance(m, BaseTunerLayer))


def train_decoder_lora(vae, images: torch.Tensor, steps: int = 300, lr: float = 5e-3, batch_size: int = 16,
                       seed: int = 0, **fit_kwargs) -> dict:
    """Train the decoder's adapter (add_decoder_lora first) to paint `images` (N, 3, 64, 64) in [0, 1]
    from the frozen encoder's latents. Returns train.fit's log, with every step's loss."""
    from .models.vae import encode
    from .train import fit

    images = v.tensor("images", images, 4, "(N, 3, 64, 64) in [0, 1]")
    v.whole("steps", steps, 1, 1_000_000)
    v.number("lr", lr, 0.0, 10.0, open_lo=True)
    v.whole("batch_size", batch_size, 1, 4096)
    latents = encode(vae, images)                                            # (N, 4, 8, 8), unscaled

    def draw(gen, step):
        idx = torch.randint(0, len(images), (batch_size,), generator=gen)
        return latents[idx], images[idx] * 2 - 1

    def loss(model, batch, gen):
        z, target = batch
        return (model.decode(z).sample - target).pow(2).mean()

    kept = {}
    _, log = fit(vae, loss, draw, steps, lr=lr, name="decoder adapter", seed=seed, every=steps,
                 callback=lambda step, losses, model: kept.update(losses=list(losses)), **fit_kwargs)
    return log | kept


def save_decoder_lora(vae, folder) -> None:
    """Write the decoder's adapter as vae_decoder_lora.safetensors in `folder`."""
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file

    state = {k: t.contiguous() for k, t in get_peft_model_state_dict(vae.decoder).items()}
    save_file(state, str(Path(folder) / "vae_decoder_lora.safetensors"), metadata={"rank": str(_rank(state))})


def _rank(state: dict) -> int:
    return next(t.shape[0] for k, t in state.items() if "lora_A" in k)

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
               batch_size: int = 32, seed: int = 0, out=None, **fit_kwargs):
    """Train the adapter of pipe.unet (add_lora first) so that it denoises `latents` (scaled) given
    `captions`, 10 % of them dropped for guidance. Returns train.fit's log; with `out`, saves the
    adapter there (save_lora) atomically."""
    from .models.unet_shapes import CAPTION_DROPOUT
    from .pipelines import check_pipe
    from .train import fit

    check_pipe(pipe)
    _check_training(latents, captions, steps, lr, batch_size)

    contexts = encode_prompts(pipe.tokenizer, pipe.text_encoder, list(captions))     # (N, L, d)
    null = encode_prompts(pipe.tokenizer, pipe.text_encoder, [""])                  # (1, L, d)
    schedule = training_schedule()

    def draw(gen, step):
        idx = torch.randint(0, len(latents), (batch_size,), generator=gen)
        drop = torch.rand(batch_size, generator=gen) < CAPTION_DROPOUT
        return latents[idx], torch.where(drop[:, None, None], null, contexts[idx])

    def loss(unet, batch, gen):
        return denoising_loss(unet, *batch, schedule, generator=gen)

    kept, write = {}, fit_kwargs.pop("write_weights", save_lora)
    _, log = fit(pipe.unet, loss, draw, steps, lr=lr, name="lora-teal", seed=seed, out=out, write_weights=write,
                 every=steps, callback=lambda step, losses, model: kept.update(losses=list(losses)), **fit_kwargs)
    return log | kept


def load_lora(pipe, folder) -> None:
    """pipe.load_lora_weights(folder) (the U-Net's adapter), without diffusers' notice that the text
    encoder (our BERT) has none; and the VAE decoder's adapter too when the folder holds one."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    from .pipelines import _quiet, check_pipe

    check_pipe(pipe)
    if not (Path(folder) / "pytorch_lora_weights.safetensors").is_file():
        raise FileNotFoundError(f"no LoRA weights (pytorch_lora_weights.safetensors) in {str(folder)!r}: the course's "
                                "adapter is in assets/checkpoints/lora-teal (python scripts/train_lora_teal.py rebuilds it)")
    with _quiet("diffusers.loaders.lora_base"):
        pipe.load_lora_weights(str(folder))
    decoder_file = Path(folder) / "vae_decoder_lora.safetensors"
    if decoder_file.exists():
        state = load_file(str(decoder_file))
        add_decoder_lora(pipe.vae, rank=_rank(state))
        set_peft_model_state_dict(pipe.vae.decoder, state)


def load_adapter(folder, device="cpu"):
    """A fresh course pipeline with the LoRA adapter in `folder` loaded (models.load_pretrained("lora-teal"))."""
    pipe = fresh_pipeline(device)
    load_lora(pipe, folder)
    return pipe


def save_lora(unet, folder) -> None:
    """Write the U-Net's adapter as diffusers LoRA weights (pytorch_lora_weights.safetensors)."""
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=layers, safe_serialization=True)
