"""LoRA adapters on the VAE (Hu et al. 2021, through PEFT): teach `vae-shapes` to paint a colour its
training never showed it (its decoder), and to give it latents of its own (its encoder).

- `add_decoder_lora` / `train_decoder_lora`: the adapters and their training (train.fit), with prior
  preservation (`preserve_latents`: the decoder keeps painting what the base U-Net draws as before) and a
  margin that keeps the new colour's latents away from the same scenes in the old colours (`apart`).
- `decoder_adapter`: switch them on or off; `save_decoder_lora` / `load_vae_lora`: their files.
- `to_decoder` / `from_encoder`: the one place `finetune` converts latents. Its functions take and give
  scaled latents (the U-Net's: the VAE's own times vae.config.scaling_factor); the VAE's decoder takes,
  and its encoder gives, the VAE's own."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import validate as v

DECODER_TARGETS = ("conv1", "conv2", "conv_out")  # the VAE decoder's resnet convolutions and its last layer


def to_decoder(vae, latents: torch.Tensor) -> torch.Tensor:
    """Scaled latents (as the U-Net sees them) -> the VAE's own, which its decoder takes: latents / scaling_factor."""
    return latents / vae.config.scaling_factor


def from_encoder(vae, z: torch.Tensor) -> torch.Tensor:
    """The VAE's own latents (what its encoder gives) -> scaled, as the U-Net sees them: z * scaling_factor."""
    return z * vae.config.scaling_factor


def has_adapter(module) -> bool:
    """Whether `module` (a VAE, its encoder or decoder) holds a PEFT adapter."""
    return any(True for _ in _tuner_layers(module))


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


def _tuner_layers(module):
    from peft.tuners.tuners_utils import BaseTunerLayer

    return (m for m in module.modules() if isinstance(m, BaseTunerLayer))


def train_decoder_lora(vae, images: torch.Tensor, steps: int = 300, lr: float = 5e-3, batch_size: int = 16,
                       seed: int = 0, preserve_latents=None, new=None, noise: float = 0.0, preserve_weight: float = 1.0,
                       apart=None, margin: float = 0.0, object_weight: float = 0.0, **fit_kwargs) -> dict:
    """Train the decoder's adapter (add_decoder_lora first) to paint `images` (N, 3, 64, 64) in [0, 1]
    from the encoder's latents.
    `preserve_latents`: optional scaled latents (M, 4, 8, 8), e.g. what the base U-Net draws for the
    old colours (`drawn_latents`); each step also pulls the decoder toward painting a batch of them as it did before
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
    from ..models.vae import encode
    from ..train import fit

    images = v.tensor("images", images, 4, "(N, 3, 64, 64) in [0, 1]")
    v.whole("steps", steps, 1, 1_000_000)
    v.number("lr", lr, 0.0, 10.0, open_lo=True)
    v.whole("batch_size", batch_size, 1, 4096)
    v.number("noise", noise, 0.0, 10.0)
    v.number("preserve_weight", preserve_weight, 0.0, 1e6)
    v.number("margin", margin, 0.0, 100.0, "in units of the latents' spread; 0: no push")
    v.number("object_weight", object_weight, 0.0, 1e6, "0: every pixel weighs the same")
    with_encoder = has_adapter(vae.encoder)
    new = torch.zeros(len(images), dtype=torch.bool) if new is None else torch.as_tensor(new, dtype=torch.bool)
    if new.shape != (len(images),):
        raise ValueError(f"new must be one True/False per picture ({len(images)}), got shape {tuple(new.shape)}")
    if with_encoder:
        decoder_adapter(vae, False)
    latents = encode(vae, images)                                            # (N, 4, 8, 8), the VAE's own: the base encoder's
    spread = latents.std()
    before = None
    if preserve_latents is not None:
        preserve_latents = v.tensor("preserve_latents", preserve_latents, 4, "(M, 4, 8, 8) scaled latents")
        if preserve_latents.shape[1:] != latents.shape[1:]:
            raise ValueError(f"preserve_latents must be shaped (M, {', '.join(map(str, latents.shape[1:]))}) like "
                             f"the encoder's latents, got {tuple(preserve_latents.shape)}")
        preserve_latents = to_decoder(vae, preserve_latents)                  # the decoder takes the VAE's own
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


def save_decoder_lora(vae, folder) -> None:
    """Write the decoder's adapter as vae_decoder_lora.safetensors in `folder`, and the encoder's, where it
    has one, as vae_encoder_lora.safetensors."""
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file

    for name, part in (("decoder", vae.decoder), ("encoder", vae.encoder)):
        if name == "encoder" and not has_adapter(part):
            continue
        state = {k: t.contiguous() for k, t in get_peft_model_state_dict(part).items()}
        save_file(state, str(Path(folder) / f"vae_{name}_lora.safetensors"), metadata={"rank": str(_rank(state))})


def _rank(state: dict) -> int:
    return next(t.shape[0] for k, t in state.items() if "lora_A" in k)


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


