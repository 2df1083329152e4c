"""Lesson 08: teach the course's text-to-image model a new word ("teal"), on a CPU.

- `teal_examples`: Shapes World scenes drawn in the extra colour teal (20, 160, 160), which no
  base model ever saw, with captions in the course's varied wording.
- `latents_for`: latents that `vae-shapes` decodes to the given pictures. Its encoder never saw
  teal and returns latents that decode to a duller, greener colour; a few steps of gradient descent
  through the frozen decoder find latents that decode to teal (the VAE bounds what the whole
  model can draw: lesson 08 shows it).
- Textual inversion (Gal et al. 2022): `learn_word` learns one new token vector, everything else
  frozen; `save_word` writes it in the format of diffusers' `pipe.load_textual_inversion`.
- LoRA (Hu et al. 2021): `add_decoder_lora` / `train_decoder_lora` teach the VAE decoder to paint
  teal (and, with encoder=True, the encoder to give teal latents of its own, kept a margin away
  from the same scenes in the old colours: `recoloured`); `add_lora` /
  `train_lora` put a PEFT adapter on the U-Net's attention layers (`unet.add_adapter`), trained with
  `train.fit`. Both can keep what the base model did where it should not change (prior preservation
  by distillation: `drawn_latents`, `preserve`). `save_lora` and `save_decoder_lora` write them,
  `load_lora` loads them all, `lora_scale` sets how much of them a call uses.
- `read_colours`: read pictures back with a reader that knows teal."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from . import metrics, shapes
from . import validate as v
from .data import render_scenes
from .models.unet_shapes import denoising_loss, encode_prompts, noisy_batch, training_schedule

NEW_COLOUR = "teal"
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")  # the projections of every attention layer
CONV_TARGETS = ("conv1", "conv2")                     # the U-Net's resnet convolutions


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
    return render_scenes(scenes), scenes, [s.caption for s in scenes]


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
               steps: int = 200, lr: float = 5e-3, batch_size: int = 16, seed: int = 0, **fit_kwargs):
    """Textual inversion: a vector for `token`, learned so that the frozen U-Net denoises `latents`
    (scaled, (N, 4, 8, 8)) given `captions` in which `token` stands for the colour. Returns
    (vector (d,), losses). Only the vector is trained, with train.fit (fit_kwargs go to it)."""
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

    def loss(model, batch, gen):     # fit trains the word alone; the frozen pipeline stays where it is
        x0, ids, mask = (b.to(pipe.unet.device) for b in batch)
        context = _embed_with(pipe.text_encoder, ids, mask, new_id, model.vector)
        return denoising_loss(pipe.unet, x0, context, schedule, generator=gen)

    losses = fit(word, loss, draw, steps, lr=lr, name=f"learning {token}", seed=seed, **fit_kwargs).losses
    return word.vector.detach(), losses


class _TimeUp(Exception):
    """Raised by live_demo's callback to end train.fit when the demo's time is up."""


class LiveDemo(NamedTuple):
    """What a live demo of a trainer did (see `live_demo`)."""
    model: object  # what was trained (the NewWord of learn_word, the VAE, the U-Net); None if no step finished
    losses: list[float]  # every finished step's loss
    steps: int
    seconds: float
    stopped_by: str  # "time", "steps" or "interrupt"


def live_demo(trainer, *args, seconds: float, then: str = "the lesson continues with the shipped lora-teal",
              clock=None, **kwargs) -> LiveDemo:
    """Run a trainer of this module (learn_word, train_decoder_lora, train_lora) as a live demo: it
    stops at its `steps`, or after `seconds` of wall time (no step starts after), or when the
    kernel is interrupted (the stop button), with a printed line instead of a traceback. What
    was trained keeps the weights of its last finished step (`model`, trained in place).
    The same rules as train.live_training, for trainers that run train.fit.

    Example: run = live_demo(train_lora, pipe, latents, captions, steps=150, seconds=60)"""
    import time

    clock = clock or time.perf_counter
    seconds = v.number("seconds", seconds, 0, 24 * 3600, open_lo=True, hint="the wall time the demo may take, e.g. seconds=60")
    if not callable(trainer):
        raise TypeError(f"trainer must be one of finetune's trainers (e.g. finetune.train_lora), got {type(trainer).__name__}")
    start, seen, stopped_by = clock(), {"model": None, "losses": []}, "steps"

    def callback(step, losses, model):
        seen.update(model=model, losses=list(losses))
        if clock() - start >= seconds:
            raise _TimeUp

    try:
        trainer(*args, callback=callback, every=1, **kwargs)
    except _TimeUp:
        stopped_by = "time"
    except KeyboardInterrupt:
        stopped_by = "interrupt"
    run = LiveDemo(seen["model"], seen["losses"], len(seen["losses"]), clock() - start, stopped_by)
    why = {"time": f"time is up ({seconds:g} s)", "steps": f"all {run.steps} steps done",
           "interrupt": "stopped by you (interrupt)"}[stopped_by]
    print(f"Live demo: {why} after {run.steps} steps in {run.seconds:.0f} s; {then}.")
    return run


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
    from .quiet import quiet

    with quiet("transformers"):
        pipe.load_textual_inversion(str(path), token=token)


# ---------------------------------------------------------------- LoRA
DECODER_TARGETS = ("conv1", "conv2", "conv_out")  # the VAE decoder's resnet convolutions and its last layer


def add_decoder_lora(vae, rank: int = 4, encoder: bool = False):
    """A LoRA adapter (PEFT) on the VAE decoder's convolutions, so that it can learn to paint a colour
    its training never showed it; every base weight stays frozen. encoder=True puts one on the
    encoder's convolutions too, so that the new colour can get latents of its own (a VAE that has
    seen it) instead of the ones the base encoder gives, which lie against the old colours'."""
    from peft import LoraConfig, inject_adapter_in_model

    v.whole("rank", rank, 1, 64)
    vae.requires_grad_(False)
    for part in (vae.decoder, vae.encoder) if encoder else (vae.decoder,):
        inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian",
                                           target_modules=list(DECODER_TARGETS)), part)
    return vae


def decoder_adapter(vae, on: bool = True) -> None:
    """Switch the VAE's adapters (the decoder's, and the encoder's where it has one) on or off
    (off: the base VAE, exactly)."""
    layers = list(_tuner_layers(vae.decoder)) + list(_tuner_layers(vae.encoder))
    if not layers:
        raise ValueError("this VAE's decoder has no adapter: finetune.add_decoder_lora(vae) or load_lora(pipe, folder)")
    for m in layers:
        m.enable_adapters(bool(on))


def lora_scale(pipe, scale: float) -> dict:
    """Use the adapters at `scale`: the VAE's switched on (scale > 0) or off, and the keyword
    arguments that give the U-Net's that scale. Example: pipe(prompt, **lora_scale(pipe, 0.5))"""
    scale = v.number("scale", scale, 0.0, 10.0, "how much of the adapter: 0 = the base model, 1 = as trained")
    if any(True for _ in _tuner_layers(pipe.vae)):
        decoder_adapter(pipe.vae, scale > 0)
    return {"cross_attention_kwargs": {"scale": scale}}


def _tuner_layers(module):
    from peft.tuners.tuners_utils import BaseTunerLayer

    return (m for m in module.modules() if isinstance(m, BaseTunerLayer))


def train_decoder_lora(vae, images: torch.Tensor, steps: int = 300, lr: float = 5e-3, batch_size: int = 16,
                       seed: int = 0, preserve_latents=None, new=None, noise: float = 0.0, preserve_weight: float = 1.0,
                       apart=None, margin: float = 0.0, object_weight: float = 0.0, **fit_kwargs) -> dict:
    """Train the decoder's adapter (add_decoder_lora first) to paint `images` (N, 3, 64, 64) in [0, 1]
    from the encoder's latents.
    `preserve_latents`: optional unscaled latents (M, 4, 8, 8), e.g. what the base U-Net draws for the
    old colours; each step also pulls the decoder toward painting a batch of them as it did before
    the adapter (that error weighs `preserve_weight` times the pictures'), so that the adapter
    changes only what it must.
    With an encoder adapter (add_decoder_lora(encoder=True)) it trains too, and `new` (N,) bool says
    which pictures show the new colour: the others' latents are held where the base encoder put them
    (the U-Net knows them there).
    `noise`: the new colour's latents are decoded with Gaussian noise of this share of the latents'
    spread added, so that the decoder paints the new colour on a whole neighbourhood, not on a point
    a sampled latent would miss.
    `apart` (N, K, 3, 64, 64): the same scenes with the object in K old colours (`recoloured`); the
    encoder's adapter is pushed to keep the new colour's latents at least `margin` x the latents'
    spread from the base encoder's latents of each of them, where the object is (a hinge, squared),
    so that a noisy new-colour latent is not an old colour's.
    `object_weight`: each picture's pixels that are not its background weigh 1 + object_weight in both
    errors (an object is a small part of a picture, and its colour is what must come out right).
    Returns train.fit's log, with every step's loss (fit's history) under "losses"."""
    from .models.vae import encode
    from .train import fit

    images = v.tensor("images", images, 4, "(N, 3, 64, 64) in [0, 1]")
    v.whole("steps", steps, 1, 1_000_000)
    v.number("lr", lr, 0.0, 10.0, open_lo=True)
    v.whole("batch_size", batch_size, 1, 4096)
    v.number("noise", noise, 0.0, 10.0)
    v.number("preserve_weight", preserve_weight, 0.0, 1e6)
    v.number("margin", margin, 0.0, 100.0, "in units of the latents' spread; 0: no push")
    v.number("object_weight", object_weight, 0.0, 1e6, "0: every pixel weighs the same")
    with_encoder = any(True for _ in _tuner_layers(vae.encoder))
    new = torch.zeros(len(images), dtype=torch.bool) if new is None else torch.as_tensor(new, dtype=torch.bool)
    if new.shape != (len(images),):
        raise ValueError(f"new must be one True/False per picture ({len(images)}), got shape {tuple(new.shape)}")
    if with_encoder:
        decoder_adapter(vae, False)
    latents = encode(vae, images)                                            # (N, 4, 8, 8), unscaled: the base encoder's
    spread = latents.std()
    before = None
    if preserve_latents is not None:
        preserve_latents = v.tensor("preserve_latents", preserve_latents, 4, "(M, 4, 8, 8) latents, unscaled")
        if preserve_latents.shape[1:] != latents.shape[1:]:
            raise ValueError(f"preserve_latents must be shaped (M, {', '.join(map(str, latents.shape[1:]))}) like "
                             f"the encoder's latents, got {tuple(preserve_latents.shape)}")
        decoder_adapter(vae, False)
        with torch.no_grad():
            before = torch.cat([vae.decode(z).sample for z in preserve_latents.split(64)])   # the base decoder's
    away = None
    if apart is not None and margin > 0:
        apart = v.tensor("apart", apart, 5, "(N, K, 3, 64, 64): the same scenes in K other colours")
        if apart.shape[0] != len(images) or apart.shape[2:] != images.shape[1:]:
            raise ValueError(f"apart must be shaped ({len(images)}, K, {', '.join(map(str, images.shape[1:]))}), "
                             f"got {tuple(apart.shape)}")
        if not with_encoder:
            raise ValueError("apart needs an encoder adapter: add_decoder_lora(vae, encoder=True)")
        k = apart.shape[1]
        with torch.no_grad():
            away = encode(vae, apart.flatten(0, 1)).unflatten(0, (len(images), k))          # (N, K, 4, 8, 8)
            differs = (apart - images[:, None]).abs().amax(2).gt(0.02).float()             # (N, K, 64, 64)
            where = torch.nn.functional.avg_pool2d(differs, 64 // latents.shape[-1])        # (N, K, 8, 8)
    if with_encoder or before is not None:
        decoder_adapter(vae, True)

    def draw(gen, step):
        idx = torch.randint(0, len(images), (batch_size,), generator=gen)
        batch = {"x": images[idx], "z": latents[idx], "new": new[idx],
                 "shake": torch.randn((batch_size, *latents.shape[1:]), generator=gen)}
        if away is not None:
            batch |= {"away": away[idx], "where": where[idx]}
        if before is not None:
            keep = torch.randint(0, len(preserve_latents), (batch_size,), generator=gen)
            batch |= {"keep": preserve_latents[keep], "kept": before[keep]}
        return batch

    def weighted(out, target):
        err = (out - target).pow(2)
        if not object_weight:
            return err.mean()
        w = 1 + object_weight * _off_background(target)
        return (err * w).sum() / (w.sum() * err.shape[1])

    def loss(model, b, gen):
        z, total = b["z"], 0.0
        if with_encoder:                              # the new colour's latents move, the old ones stay put
            moved = model.encode(b["x"] * 2 - 1).latent_dist.mode()
            total = ((moved - z)[~b["new"]] / spread).pow(2).mean() if (~b["new"]).any() else 0.0
            z = torch.where(b["new"][:, None, None, None], moved, z)
            if away is not None and b["new"].any():
                gap = (moved[:, None] - b["away"]).norm(dim=2)[b["new"]] / spread               # (n, K, 8, 8)
                w = b["where"][b["new"]]
                total = total + ((margin - gap).clamp(min=0).pow(2) * w).sum() / w.sum().clamp(min=1)
        if noise:
            z = z + noise * spread * b["shake"] * b["new"][:, None, None, None]
        total = total + weighted(model.decode(z).sample, b["x"] * 2 - 1)
        if before is not None:
            total = total + preserve_weight * weighted(model.decode(b["keep"]).sample, b["kept"])
        return total

    _, log, losses = fit(vae, loss, draw, steps, lr=lr, name="decoder adapter", seed=seed, **fit_kwargs)
    return log | {"losses": losses}


def _off_background(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) pictures in [-1, 1] -> (B, 1, H, W) 1.0 where a pixel differs from the picture's
    background (the median colour of its border) by more than 0.1, else 0.0."""
    border = torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], dim=-1)     # (B, 3, 4W)
    bg = border.median(dim=-1).values[..., None, None]
    return (x - bg).abs().amax(1, keepdim=True).gt(0.1).float()


def recoloured(scenes, colours=None) -> torch.Tensor:
    """The same scenes drawn again with their objects in each of `colours` (the six old ones by
    default) -> (N, K, 3, 64, 64) in [0, 1]: what train_decoder_lora(apart=...) keeps a new colour away from."""
    from dataclasses import replace

    colours = list(shapes.COLOURS if colours is None else colours)
    unknown = [c for c in colours if c not in shapes.COLOURS | shapes.EXTRA_COLOURS]
    if unknown or not colours:
        raise ValueError(f"colours must be some of {list(shapes.COLOURS | shapes.EXTRA_COLOURS)}, got {colours!r}")
    out = render_scenes([replace(s, objects=[replace(o, colour=c) for o in s.objects]) for s in scenes for c in colours])
    return out.reshape(len(scenes), len(colours), *out.shape[1:])


def drawn_latents(pipe, prompts: list[str], seed: int = 0, guidance_scales=(2.0, 5.0), steps: int = 25) -> torch.Tensor:
    """The latents (unscaled, as the decoder takes them) that `pipe` draws for `prompts` at each guidance
    scale, batches of 64 seeded seed, seed + 1, ... -> (len(prompts) * len(guidance_scales), 4, 8, 8).
    train_decoder_lora(preserve_latents=...) keeps what the base decoder paints for them; scaled and given to
    train_lora with preserve=True, what the base U-Net predicts on them."""
    from .pipelines import check_pipe

    check_pipe(pipe)
    prompts = v.texts("prompts", prompts)
    out, i = [], 0
    for w in guidance_scales:
        for start in range(0, len(prompts), 64):
            g = torch.Generator().manual_seed(seed + i)
            out.append(pipe(prompts[start:start + 64], generator=g, output_type="latent", guidance_scale=w,
                            num_inference_steps=steps).images)
            i += 1
    return torch.cat(out) / pipe.vae.config.scaling_factor


def save_decoder_lora(vae, folder) -> None:
    """Write the decoder's adapter as vae_decoder_lora.safetensors in `folder`, and the encoder's, where it
    has one, as vae_encoder_lora.safetensors."""
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file

    for name, part in (("decoder", vae.decoder), ("encoder", vae.encoder)):
        if name == "encoder" and not any(True for _ in _tuner_layers(part)):
            continue
        state = {k: t.contiguous() for k, t in get_peft_model_state_dict(part).items()}
        save_file(state, str(Path(folder) / f"vae_{name}_lora.safetensors"), metadata={"rank": str(_rank(state))})


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
    from .models.unet_shapes import CAPTION_DROPOUT
    from .pipelines import check_pipe
    from .train import fit

    check_pipe(pipe)
    _check_training(latents, captions, steps, lr, batch_size)
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


def load_lora(pipe, folder) -> None:
    """pipe.load_lora_weights(folder) (the U-Net's adapter), without diffusers' notice that the text
    encoder (our BERT) has none; and the VAE decoder's adapter too when the folder holds one."""
    from .pipelines import check_pipe
    from .quiet import quiet

    check_pipe(pipe)
    if not (Path(folder) / "pytorch_lora_weights.safetensors").is_file():
        raise FileNotFoundError(f"no LoRA weights (pytorch_lora_weights.safetensors) in {str(folder)!r}: the course's "
                                "adapter is in assets/checkpoints/lora-teal (python scripts/train_lora_teal.py rebuilds it)")
    with quiet("diffusers.loaders.lora_base"):
        pipe.load_lora_weights(str(folder))
    if (Path(folder) / "vae_decoder_lora.safetensors").exists():
        load_vae_lora(pipe.vae, folder)


def load_vae_lora(vae, folder) -> None:
    """Put the VAE's adapters saved in `folder` (save_decoder_lora: the decoder's, and the encoder's
    where there is one) on `vae`, switched on."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    decoder_file = Path(folder) / "vae_decoder_lora.safetensors"
    if not decoder_file.is_file():
        raise FileNotFoundError(f"no VAE adapter (vae_decoder_lora.safetensors) in {str(folder)!r}")
    state = load_file(str(decoder_file))
    encoder_file = Path(folder) / "vae_encoder_lora.safetensors"
    add_decoder_lora(vae, rank=_rank(state), encoder=encoder_file.exists())
    set_peft_model_state_dict(vae.decoder, state)
    if encoder_file.exists():
        set_peft_model_state_dict(vae.encoder, load_file(str(encoder_file)))


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
