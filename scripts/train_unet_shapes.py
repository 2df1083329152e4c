"""Rebuild the `unet-shapes` checkpoint (lesson 06), with a fixed seed.

    python scripts/train_unet_shapes.py --steps 10000 --wording train --two-object-fraction 0.3 \\
        --captions-per-scene 1 --lr 5e-4 --warmup 500                    # v1, from scratch (88 min, 2 CPU threads)
    python scripts/train_unet_shapes.py --init assets/checkpoints/unet-shapes   # v2 = v1 + these defaults
    torchrun --nproc_per_node 2 scripts/train_unet_shapes.py ...         # 2 CPU processes, gradients synchronised
    accelerate launch scripts/train_unet_shapes.py ...                   # several GPUs
    python scripts/train_unet_shapes.py ... --resume                     # go on from runs/unet-shapes/state

A UNet2DConditionModel learns to predict v in the 8x8x4 latents of `vae-shapes` (scaled by its
scaling factor), cross-attending to the token embeddings of the course's text encoder, as in
Stable Diffusion: its 1000-step scaled-linear schedule rescaled to end in pure noise, with
v-prediction (SCHEDULER_CONFIG in course_utils/models/unet_shapes.py). Scenes come from Shapes
World (seed 0), each with `--captions-per-scene` captions in the chosen wording ('varied': the
grammar of course_utils/captions.py); scenes, latents and caption embeddings are computed once
up front and cached under runs/ (the text encoder is frozen). 10 % of captions are dropped
(replaced by "") so that classifier-free guidance works. The EMA weights are saved as float16
safetensors to --out."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from course_utils import data, shapes
from course_utils.models.unet_shapes import (
    CAPTION_DROPOUT,
    denoising_loss,
    encode_prompts,
    make_unet,
    training_schedule,
)
from course_utils.models.vae import encode
from course_utils.paths import CHECKPOINTS, ROOT
from course_utils.train import atomic_file, fit


def encode_scenes(vae, tokenizer, text_encoder, args, batch: int = 256):
    """Render the scenes and encode them once -> latents (n, 4, 8, 8) unscaled, caption
    embeddings (n * k, L, d) in float16 (k captions per scene, scene i's at rows i*k .. i*k+k-1)."""
    from tqdm.auto import tqdm

    n, k = args.scenes, args.captions_per_scene
    latents, contexts = [], []
    for start in tqdm(range(0, n, batch), desc="encoding scenes and captions"):
        b = data.shapes_world(min(batch, n - start), seed=args.seed, start=start,
                              two_object_fraction=args.two_object_fraction, wording=args.wording)
        latents.append(encode(vae, b.images))
        caps = [c if j == 0 else shapes.make_caption(s, np.random.default_rng([args.seed, start + i, j]), args.wording)
                for i, (s, c) in enumerate(zip(b.scenes, b.captions)) for j in range(k)]
        contexts.append(encode_prompts(tokenizer, text_encoder, caps).half().cpu())
    return torch.cat(latents), torch.cat(contexts)


def prepared_data(args):
    """(scaled latents, caption embeddings, the "" embedding), from the cache under runs/ if there."""
    from course_utils.models import load_pretrained
    from course_utils.text import MAX_TOKENS, load_text_encoder

    key = json.dumps([args.scenes, args.captions_per_scene, args.two_object_fraction, args.wording, args.seed])
    cache = ROOT / "runs" / "unet-shapes" / f"encoded-{hashlib.sha1(key.encode()).hexdigest()[:10]}.safetensors"
    vae = load_pretrained("vae-shapes")
    tokenizer, text_encoder = load_text_encoder(None, "cpu")
    tokenizer.model_max_length = MAX_TOKENS
    text_encoder.config.use_attention_mask = True
    null = encode_prompts(tokenizer, text_encoder, [""])                  # (1, L, d): the "no caption" context
    if cache.exists():
        t = load_file(str(cache))
        latents, contexts = t["latents"], t["contexts"]
    else:
        latents, contexts = encode_scenes(vae, tokenizer, text_encoder, args)
        atomic_file(cache, lambda p: save_file({"latents": latents.contiguous(), "contexts": contexts}, str(p)))
    return latents * vae.config.scaling_factor, contexts, null              # latents: std ~1, like the noise


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=8000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--scenes", type=int, default=50000, help="training scenes (rendered and encoded once)")
    p.add_argument("--captions-per-scene", type=int, default=2)
    p.add_argument("--two-object-fraction", type=float, default=0.5)
    p.add_argument("--wording", default="varied", choices=["train", "varied"])
    p.add_argument("--init", type=Path, default=None, help="start from the weights of this checkpoint folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--save-every", type=int, default=250)
    p.add_argument("--out", type=Path, default=CHECKPOINTS / "unet-shapes")
    p.add_argument("--state", type=Path, default=ROOT / "runs" / "unet-shapes" / "state.safetensors")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--unet-config", type=json.loads, default={}, help="JSON overrides of the U-Net config")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    latents, contexts, null = prepared_data(args)
    schedule, k = training_schedule(), args.captions_per_scene

    def draw(gen, step):
        idx = torch.randint(0, len(latents), (args.batch_size,), generator=gen)          # scenes
        cap = idx * k + torch.randint(0, k, (args.batch_size,), generator=gen)          # one of each scene's captions
        drop = torch.rand(args.batch_size, generator=gen) < CAPTION_DROPOUT
        return latents[idx], torch.where(drop[:, None, None], null, contexts[cap].float())  # (B,4,8,8), (B,L,d)

    def loss(unet, batch, gen):
        x0, context = batch
        return denoising_loss(unet, x0.to(unet.device), context.to(unet.device), schedule, generator=gen)

    unet = make_unet(**args.unet_config)
    if args.init is not None:
        from diffusers import UNet2DConditionModel

        unet.load_state_dict(UNet2DConditionModel.from_pretrained(args.init, use_safetensors=True).float().state_dict())
    settings = {k_: (str(v) if isinstance(v, Path) else v) for k_, v in vars(args).items() if k_ not in ("resume", "out", "state")}
    settings["caption_dropout"] = CAPTION_DROPOUT
    if args.init is not None and (args.init / "training_log.json").exists():  # the run it started from
        settings["init_training_log"] = json.loads((args.init / "training_log.json").read_text())
    # float16 on disk halves the file (9 MB instead of 19); pipelines.py loads it as float32
    fit(unet, loss, draw, args.steps, lr=args.lr, name="unet-shapes", out=args.out,
        write_weights=lambda m, tmp: m.to(torch.float16).save_pretrained(tmp, safe_serialization=True),
        state=args.state, resume_run=args.resume, ema_decay=args.ema, warmup=args.warmup, floor=0.05,
        weight_decay=0.01, clip=1.0, seed=args.seed, save_every=args.save_every, settings=settings)


if __name__ == "__main__":
    main()
