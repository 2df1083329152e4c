"""course_utils/finetune/vae_adapters.py: the VAE's LoRA adapters, their training and files, and where
finetune's scaled latents meet the VAE's own."""

import numpy as np
import pytest
import torch

from course_utils.finetune.teal import fresh_pipeline, recoloured, teal_examples
from course_utils.finetune.unet_adapters import add_lora, load_lora, lora_scale, save_lora
from course_utils.finetune.vae_adapters import (
    add_decoder_lora,
    from_encoder,
    load_vae_lora,
    save_decoder_lora,
    to_decoder,
    train_decoder_lora,
)
from course_utils.models.vae import decode, encode


def test_decoder_adapter_trains_only_its_own_numbers(tiny_course_checkpoints):
    pipe = fresh_pipeline()
    before = {k: v.clone() for k, v in pipe.vae.state_dict().items()}
    add_decoder_lora(pipe.vae, rank=2)
    log = train_decoder_lora(pipe.vae, teal_examples(4, seed=0)[0], steps=2, batch_size=2)
    assert len(log["losses"]) == 2
    after = pipe.vae.state_dict()
    assert all(torch.equal(v, after[k.replace(".weight", ".base_layer.weight").replace(".bias", ".base_layer.bias")]
                           if k not in after else after[k]) for k, v in before.items())


def test_preserved_latents_keep_the_decoder_near_the_base_one(tiny_course_checkpoints):
    pipe = fresh_pipeline()
    images = teal_examples(8, seed=0)[0]
    keep = torch.randn(8, 4, 8, 8)                                  # the VAE's own
    base = decode(pipe.vae, keep)
    drift = {}
    for preserve in (True, False):
        vae = fresh_pipeline().vae
        add_decoder_lora(vae, rank=2)
        train_decoder_lora(vae, images, steps=40, lr=1e-2, batch_size=4,
                           preserve_latents=from_encoder(vae, keep) if preserve else None)
        drift[preserve] = (decode(vae, keep) - base).abs().mean().item()
    assert drift[True] < 0.75 * drift[False]        # negative control: without, the adapter moves them freely
    with pytest.raises(ValueError, match="like the encoder's latents"):
        train_decoder_lora(vae, images, steps=1, preserve_latents=torch.randn(2, 3, 8, 8))


def test_an_encoder_adapter_moves_only_the_new_colours_latents_and_loads_back(tiny_course_checkpoints, tmp_path):
    images = teal_examples(8, seed=0, other_share=0.5)[0]
    new = torch.tensor([True] * 4 + [False] * 4)
    base = encode(fresh_pipeline().vae, images)
    moved = {}
    for held in (True, False):                      # negative control: every picture called new, none held
        pipe = fresh_pipeline()
        add_decoder_lora(pipe.vae, rank=2, encoder=True)
        train_decoder_lora(pipe.vae, images, steps=20, lr=1e-2, batch_size=8,
                           new=new if held else torch.ones(8, dtype=torch.bool), noise=0.2)
        moved[held] = (encode(pipe.vae, images) - base).abs()[~new].mean().item()
    assert moved[True] < 0.5 * moved[False]          # the old colours' latents are held where the U-Net knows them
    add_lora(pipe.unet, rank=2)
    save_lora(pipe.unet, tmp_path)
    save_decoder_lora(pipe.vae, tmp_path)
    assert (tmp_path / "vae_encoder_lora.safetensors").exists()
    loaded = fresh_pipeline()
    load_lora(loaded, tmp_path)
    assert torch.allclose(encode(loaded.vae, images), encode(pipe.vae, images), atol=1e-5)
    assert not torch.allclose(encode(loaded.vae, images), base, atol=1e-3)
    lora_scale(loaded, 0.0)                             # off: the base encoder (to rounding)
    assert torch.allclose(encode(loaded.vae, images), base, atol=1e-6)
    with pytest.raises(ValueError, match="one True/False per picture"):
        train_decoder_lora(pipe.vae, images, steps=1, new=[True])


def test_a_margin_pushes_the_new_colours_latents_away_from_the_old_colours(tiny_course_checkpoints):
    images, scenes, _ = teal_examples(8, seed=0)
    apart = recoloured(scenes, ["green", "blue"])
    base = fresh_pipeline().vae
    others = encode(base, apart.flatten(0, 1)).unflatten(0, (8, 2))
    where = torch.nn.functional.avg_pool2d((apart - images[:, None]).abs().amax(2).gt(0.02).float(), 8)   # the object
    gaps = {}
    for margin in (3.0, 0.0):                                         # negative control: no margin, no push
        pipe = fresh_pipeline()
        add_decoder_lora(pipe.vae, rank=2, encoder=True)
        log = train_decoder_lora(pipe.vae, images, steps=15, lr=1e-2, batch_size=8,
                                 new=torch.ones(8, dtype=torch.bool), apart=apart, margin=margin,
                                 object_weight=5.0)
        assert all(np.isfinite(log["losses"]))
        gap = (encode(pipe.vae, images)[:, None] - others).norm(dim=2)
        gaps[margin] = ((gap * where).sum() / where.sum()).item()
    assert gaps[3.0] > 1.5 * gaps[0.0], gaps
    with pytest.raises(ValueError, match="apart must be shaped"):
        train_decoder_lora(pipe.vae, images, steps=1, apart=apart[:4], margin=1.0)
    with pytest.raises(ValueError, match="margin"):
        train_decoder_lora(pipe.vae, images, steps=1, apart=apart, margin=-1.0)


def test_load_vae_lora_says_what_is_missing(tiny_course_checkpoints, tmp_path):
    with pytest.raises(FileNotFoundError, match="no VAE adapter"):
        load_vae_lora(fresh_pipeline().vae, tmp_path)


def test_preserve_latents_are_scaled_and_the_decoder_is_given_the_vaes_own(tiny_course_checkpoints, monkeypatch):
    vae = fresh_pipeline().vae
    add_decoder_lora(vae, rank=2)
    keep = from_encoder(vae, torch.randn(3, 4, 8, 8))                  # scaled, as drawn_latents gives them
    seen = []
    decode_as_before = type(vae).decode
    monkeypatch.setattr(type(vae), "decode", lambda self, z, *a, **k: seen.append(z.detach().clone())
                        or decode_as_before(self, z, *a, **k))
    train_decoder_lora(vae, teal_examples(2, seed=0)[0], steps=1, batch_size=2, preserve_latents=keep)
    assert torch.equal(seen[0], to_decoder(vae, keep))                 # what the base decoder paints for them
