"""Rebuild the `unet-shapes` checkpoint (lesson 06) from scratch, with a fixed seed.

    python scripts/train_unet_shapes.py                       # one CPU or GPU
    accelerate launch scripts/train_unet_shapes.py            # the same script on several GPUs
    python scripts/train_unet_shapes.py --resume              # go on from runs/unet-shapes/state

A UNet2DConditionModel learns to predict the noise in the 8x8x4 latents of `vae-shapes`
(scaled by its scaling factor), cross-attending to the token embeddings of the course's text
encoder, as in Stable Diffusion: its 1000-step scaled-linear schedule, rescaled to end in pure
noise, with v-prediction (see SCHEDULER_CONFIG in course_utils/models/unet_shapes.py). Scenes
come from Shapes World (seed 0), each with a caption in one of its varied wordings; scenes,
latents and caption embeddings are computed once up front (the text encoder is frozen, and
running it on every batch would cost more than the U-Net step). 10 % of captions are dropped
(replaced by "") so that classifier-free guidance works.
The EMA of the weights is saved as safetensors into assets/checkpoints/unet-shapes."""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from course_utils import data
from course_utils.models.unet_shapes import (
    CAPTION_DROPOUT,
    denoising_loss,
    encode_prompts,
    make_unet,
    training_schedule,
)
from course_utils.models.vae import encode
from course_utils.paths import CHECKPOINTS, ROOT
from course_utils.train import (
    EMA,
    resume,
    save_checkpoint,
    save_training_state,
    warmup_cosine,
)


def encode_scenes(vae, tokenizer, text_encoder, n: int, seed: int, batch: int = 256):
    """Render n captioned scenes and encode them once -> (latents (n, 4, 8, 8) unscaled,
    caption embeddings (n, L, d) in float16, captions)."""
    from tqdm.auto import tqdm

    latents, contexts, captions = [], [], []
    for start in tqdm(range(0, n, batch), desc="encoding scenes and captions"):
        b = data.shapes_world(min(batch, n - start), seed=seed, start=start)
        latents.append(encode(vae, b.images))
        contexts.append(encode_prompts(tokenizer, text_encoder, b.captions).half().cpu())
        captions += b.captions
    return torch.cat(latents), torch.cat(contexts), captions


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--scenes", type=int, default=40000, help="training scenes (rendered and encoded once)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--out", type=Path, default=CHECKPOINTS / "unet-shapes")
    p.add_argument("--state", type=Path, default=ROOT / "runs" / "unet-shapes" / "state.safetensors")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--unet-config", type=json.loads, default={}, help="JSON overrides of the U-Net config")
    args = p.parse_args(argv)
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    from course_utils.models import load_pretrained
    from course_utils.text import MAX_TOKENS, load_text_encoder

    if args.threads:
        torch.set_num_threads(args.threads)
    accelerator = Accelerator()
    device = accelerator.device
    torch.manual_seed(args.seed)
    vae = load_pretrained("vae-shapes")
    tokenizer, text_encoder = load_text_encoder(None, device)
    tokenizer.model_max_length = MAX_TOKENS
    text_encoder.config.use_attention_mask = True
    latents, contexts, captions = encode_scenes(vae, tokenizer, text_encoder, args.scenes, args.seed)
    latents = latents * vae.config.scaling_factor                           # std ~1, like the noise
    null = encode_prompts(tokenizer, text_encoder, [""]).cpu()              # (1, L, d): the "no caption" context
    schedule = training_schedule()

    unet = make_unet(**args.unet_config)
    ema = EMA(unet, args.ema)
    opt = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=0.01)
    sched = warmup_cosine(opt, warmup=500, total=args.steps, floor=0.05)
    start, elapsed = 0, 0.0
    if args.resume:
        start, extra = resume(args.state, unet, opt, sched, ema)
        elapsed = extra.get("seconds", 0.0)
    unet, opt = accelerator.prepare(unet, opt)
    # each process draws its own batches; the stream depends only on (seed, process, step)
    gen = torch.Generator().manual_seed(args.seed * 1000 + accelerator.process_index + start)
    losses, t0 = [], time.perf_counter()
    bar = tqdm(range(start, args.steps), initial=start, total=args.steps, desc="unet-shapes",
               disable=not accelerator.is_main_process)
    for step in bar:
        idx = torch.randint(0, len(captions), (args.batch_size,), generator=gen)
        drop = torch.rand(args.batch_size, generator=gen) < CAPTION_DROPOUT
        context = torch.where(drop[:, None, None], null, contexts[idx].float())     # (B, L, d)
        loss = denoising_loss(unet, latents[idx].to(device), context.to(device), schedule, generator=gen)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.update(accelerator.unwrap_model(unet))
        losses.append(loss.item())
        if step % 20 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-100:]):.4f}")
        if accelerator.is_main_process and (step + 1) % args.save_every == 0:
            save_training_state(args.state, accelerator.unwrap_model(unet), opt, step + 1, ema,
                                extra={"seconds": elapsed + time.perf_counter() - t0})
    if accelerator.is_main_process:
        save(accelerator.unwrap_model(unet), ema, args, elapsed + time.perf_counter() - t0, losses, start)


def save(unet, ema, args, seconds, losses, start):
    ema.copy_to(unet)
    log = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "ema": args.ema,
           "scenes": args.scenes, "caption_dropout": CAPTION_DROPOUT, "seed": args.seed,
           "seconds": round(seconds, 1), "threads": torch.get_num_threads(), "machine": platform.machine(),
           "loss_every_100": [round(float(np.mean(losses[i:i + 100])), 4) for i in range(0, len(losses), 100)],
           "resumed_at": start}

    # float16 on disk halves the file (4.6 M parameters: 9 MB instead of 19); pipelines.py loads it as float32
    save_checkpoint(args.out, lambda tmp: unet.to(torch.float16).save_pretrained(tmp, safe_serialization=True), log)
    print(f"saved {args.out}: {args.steps} steps in {seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
