"""Rebuild `lora-teal` (lesson 08): a LoRA adapter that teaches `unet-shapes` the colour word "teal".

    python scripts/train_lora_teal.py                 # the shipped adapter (fixed seed)
    python scripts/train_lora_teal.py --resume        # go on from runs/lora-teal/state.safetensors

1. Scenes: `--examples` single-object Shapes World scenes, half of them teal (20, 160, 160), a colour
   no base model saw, half in the six old colours (so the adapter keeps them: DreamBooth's prior
   preservation), captioned in the course's varied wording.
2. Latents: the old colours through the `vae-shapes` encoder, as in the U-Net's own training. For
   teal the encoder answers latents that decode to a muted blue-green, so `finetune.latents_for`
   corrects them by gradient descent through the frozen decoder (the slow part: minutes). They
   are saved with the adapter (teal_latents.safetensors, a few hundred KB) so that lesson 08's
   live demo trains without recomputing them.
3. A rank-`--rank` LoRA on every attention projection of the U-Net (PEFT through
   `unet.add_adapter`), trained with train.fit; only the adapter's numbers change. Saved as
   diffusers LoRA weights: `pipe.load_lora_weights("assets/checkpoints/lora-teal")`."""

from __future__ import annotations

import hashlib
import json

import torch
from safetensors.torch import load_file, save_file

from course_utils import finetune as ft
from course_utils.models.vae import encode
from course_utils.paths import ROOT
from course_utils.train import atomic_file, parse_training_args, training_parser


def teal_data(pipe, n: int, seed: int, decoder_steps: int):
    """(scaled latents (n, 4, 8, 8), captions, is_teal), cached under runs/lora-teal/."""
    key = hashlib.sha1(json.dumps([n, seed, decoder_steps]).encode()).hexdigest()[:10]
    cache = ROOT / "runs" / "lora-teal" / f"latents-{key}.safetensors"
    images, scenes, captions = ft.teal_examples(n, seed=seed, other_share=0.5)
    teal = torch.tensor([s.objects[0].colour == ft.NEW_COLOUR for s in scenes])
    if cache.exists():
        return load_file(str(cache))["latents"], captions, teal
    latents = encode(pipe.vae, images) * pipe.vae.config.scaling_factor
    latents[teal] = ft.latents_for(pipe.vae, images[teal], steps=decoder_steps)
    atomic_file(cache, lambda p: save_file({"latents": latents.contiguous()}, str(p)))
    return latents, captions, teal


def main(argv=None):
    p = training_parser("lora-teal", __doc__, steps=800, lr=1e-3, batch_size=32)
    p.add_argument("--rank", type=int, default=4)
    p.add_argument("--examples", type=int, default=512, help="scenes, half of them teal")
    p.add_argument("--decoder-steps", type=int, default=80, help="gradient steps per teal latent")
    args = parse_training_args(p, argv)
    pipe = ft.fresh_pipeline()
    latents, captions, teal = teal_data(pipe, args.examples, args.seed, args.decoder_steps)
    ft.add_lora(pipe.unet, rank=args.rank)

    def write(unet, folder):
        ft.save_lora(unet, folder)
        save_file({"latents": latents[teal].half().contiguous()}, str(folder / "teal_latents.safetensors"),
                  metadata={"captions": json.dumps([c for c, t in zip(captions, teal) if t])})

    settings = {"rank": args.rank, "examples": args.examples, "teal_examples": int(teal.sum()),
                "decoder_steps": args.decoder_steps, "batch_size": args.batch_size,
                "adapter_parameters": ft.lora_parameters(pipe.unet)}
    ft.train_lora(pipe, latents, captions, steps=args.steps, lr=args.lr, batch_size=args.batch_size, seed=args.seed,
                  out=args.out, write_weights=write, state=args.state, resume_run=args.resume, warmup=50,
                  floor=0.1, settings=settings, save_every=100)


if __name__ == "__main__":
    main()
