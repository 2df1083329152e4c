"""Rebuild `lora-teal` (lesson 08): LoRA adapters that teach the course's pipeline the colour "teal".

    python scripts/train_lora_teal.py                 # the shipped adapters (fixed seed)
    python scripts/train_lora_teal.py --resume        # go on with the U-Net's adapter from runs/lora-teal/state.safetensors
    python scripts/train_lora_teal.py --steps 3 --examples 12 --out /tmp/lora --state /tmp/lora.state.safetensors   # a smoke run

`--steps` counts the U-Net adapter's training steps and bounds the decoder adapter's too (they train
`--decoder-steps`, 1,500 by default, or `--steps` if fewer). What comes before training does not depend on
it: step 1 draws latents for every old-colour caption (25 sampling steps, at two guidance scales), so a
short run wants few `--examples` as well.

1. Scenes: `--examples` single-object Shapes World scenes, a share `--other-share` of them in the six
   old colours, the rest teal (20, 160, 160), a colour no base model saw; captioned in the course's
   varied wording. Before any adapter, the base pipeline draws latents for the old scenes' captions
   (guidance 2 and 5): what the decoder must keep painting as before.
2. The VAE's adapters: `vae-shapes` never saw teal and decodes it as a duller, greener colour whatever
   latent its encoder gives (lesson 08 measures it), and the latents its encoder gives teal lie against
   the ones the base U-Net draws for green. So a rank-`--vae-rank` LoRA on the encoder's and the decoder's
   convolutions learns to give teal latents of its own and to paint them teal even with noise of a
   share `--noise` of the latents' spread added (a sampled latent is never exact), while the old
   colours' latents stay where the base encoder put them and the drawn latents decode as before
   (weighted `--preserve-weight`). Teal's latents are pushed at least `--margin` of the spread from
   the same scene's latents in each old colour (`finetune.recoloured`), and both errors weigh the
   object's pixels 1 + `--object-weight` times (its colour is what must come out right).
3. The U-Net's adapter: a rank-`--rank` LoRA on the projections `--targets` names (PEFT through
   `unet.add_adapter`): by default only the cross-attention's values and output (`attn2.to_v`,
   `attn2.to_out.0`), so it changes what a word writes into the picture but not where any word or pixel
   looks (queries and keys stay the base U-Net's); on every attention projection it cost the old colours
   about 11 points of position on the selection prompts. It trains with train.fit on the adapted
   encoder's latents of the same scenes: teal scenes toward their own v, old-colour scenes toward what the base U-Net predicts for the same
   noisy latent (`--preserve`: prior preservation by distillation), and so are the latents the base U-Net
   drew for the old captions in step 1 (`--distil-drawn`: what it meets when it draws), their error
   weighing `--unet-preserve-weight` times teal's; so it learns teal and leaves the rest alone. Only the
   adapters' numbers change. `--vae-from FOLDER` loads the VAE's adapters of an earlier run instead of
   training them; the U-Net's adapter comes out the same (its random start is seeded on its own).
Saved as diffusers LoRA weights (`pipe.load_lora_weights(folder)` for the U-Net) plus
vae_decoder_lora.safetensors and vae_encoder_lora.safetensors; `finetune.load_lora(pipe, folder)` loads all."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from course_utils.finetune.teal import (
    NEW_COLOUR,
    drawn_latents,
    fresh_pipeline,
    recoloured,
    teal_examples,
)
from course_utils.finetune.unet_adapters import (
    CONV_TARGETS,
    LORA_TARGETS,
    WORD_TARGETS,
    add_lora,
    lora_parameters,
    save_lora,
    train_lora,
)
from course_utils.finetune.vae_adapters import (
    add_decoder_lora,
    from_encoder,
    load_vae_lora,
    save_decoder_lora,
    train_decoder_lora,
)
from course_utils.models.vae import encode
from course_utils.train import parse_training_args, training_parser

DECODER_STEPS = 1500  # the decoder adapter's steps in the shipped run
TARGETS = ",".join(WORD_TARGETS)   # the U-Net adapter: the cross-attention's values and output only


def parse_args(argv=None):
    """The script's arguments, checked; --decoder-steps, when not given, is 1500 or --steps if fewer."""
    p = training_parser("lora-teal", __doc__, steps=1500, lr=5e-3, batch_size=32)
    p.add_argument("--rank", type=int, default=4, help="the U-Net adapter's LoRA rank")
    p.add_argument("--vae-rank", type=int, default=8, help="the VAE adapters' LoRA rank (encoder and decoder)")
    p.add_argument("--examples", type=int, default=384, help="scenes, a share --other-share of them in the old colours, the rest teal")
    p.add_argument("--decoder-steps", type=int, default=None,
                   help="training steps of the decoder's adapter (default: 1500, or --steps if that is fewer, so that "
                        "--steps 3 is a short run; --steps itself counts the U-Net adapter's steps)")
    p.add_argument("--decoder-lr", type=float, default=2e-3)
    p.add_argument("--convs", action="store_true", help="adapt the U-Net's resnet convolutions too, not only attention")
    p.add_argument("--targets", default=TARGETS,
                   help="comma-separated projections the U-Net's adapter sits on, as PEFT matches them (a name's end): "
                        f"{','.join(LORA_TARGETS)} is every attention projection (self- and cross-attention); the default, "
                        "the cross-attention's values and output, changes what a word writes, not where anything looks")
    p.add_argument("--preserve", action=argparse.BooleanOptionalAction, default=True,
                   help="prior preservation by distillation: the U-Net's adapter learns the base U-Net's own prediction "
                        "for the old-colour scenes (not their v), and the decoder's paints what the base U-Net draws "
                        "for their captions as the base decoder did")
    p.add_argument("--vae-encoder", action=argparse.BooleanOptionalAction, default=True,
                   help="adapt the VAE's encoder too, so that teal gets latents of its own (the old colours' stay put)")
    p.add_argument("--noise", type=float, default=0.3,
                   help="the decoder paints teal latents with this share of the latents' spread of noise added")
    p.add_argument("--preserve-weight", type=float, default=5.0,
                   help="weight of the decoder's error on the drawn old-colour latents against its error on the pictures")
    p.add_argument("--margin", type=float, default=1.5,
                   help="keep teal's latents at least this share of the latents' spread from the same scene's in each "
                        "old colour (needs --vae-encoder; 0: no such push)")
    p.add_argument("--object-weight", type=float, default=10.0,
                   help="the VAE's errors weigh each picture's object pixels 1 + this (its colour is what must come out right)")
    p.add_argument("--unet-preserve-weight", type=float, default=30.0,
                   help="weight of the U-Net's error on the old-colour scenes (toward the base U-Net) against its error on teal's")
    p.add_argument("--keep-unconditional", action=argparse.BooleanOptionalAction, default=True,
                   help="examples whose caption is dropped (for guidance) learn the base U-Net's prediction too, so the "
                        "adapter leaves the unconditional prediction alone")
    p.add_argument("--distil-drawn", action=argparse.BooleanOptionalAction, default=True,
                   help="the U-Net's adapter also learns the base U-Net's prediction on the latents the base U-Net drew "
                        "for the old scenes' captions (what it meets when it draws), not only on the scenes' own latents")
    p.add_argument("--vae-from", type=Path, default=None,
                   help="take the VAE's adapters from this folder (an earlier run of this script) instead of training "
                        "them again; the U-Net's adapter comes out the same either way")
    p.add_argument("--other-share", type=float, default=0.67, help="share of the scenes kept in the six old colours")
    args = parse_training_args(p, argv)
    if args.vae_from and not all((args.vae_from / f).is_file() for f in ("vae_decoder_lora.safetensors", "training_log.json")):
        p.error(f"--vae-from {args.vae_from}: expected a folder this script wrote (vae_decoder_lora.safetensors and "
                "training_log.json), e.g. assets/checkpoints/lora-teal")
    if not args.targets or any(not t.strip() for t in args.targets.split(",")):
        p.error(f"--targets {args.targets!r}: give projection names separated by commas, e.g. to_q,to_k,to_v,to_out.0 "
                "or attn2.to_v")
    if args.decoder_steps is None:
        args.decoder_steps = min(DECODER_STEPS, args.steps)
    return args


def main(argv=None):
    args = parse_args(argv)
    pipe = fresh_pipeline()
    images, scenes, captions = teal_examples(args.examples, seed=args.seed, other_share=args.other_share)
    old = [c for c, s in zip(captions, scenes) if s.objects[0].colour != NEW_COLOUR]
    keep = drawn_latents(pipe, old, seed=args.seed) if args.preserve else None    # scaled, before any adapter
    is_teal = [s.objects[0].colour == NEW_COLOUR for s in scenes]
    if args.vae_from:
        load_vae_lora(pipe.vae, args.vae_from)
        dec_log = json.loads((args.vae_from / "training_log.json").read_text())["decoder"]
    else:
        add_decoder_lora(pipe.vae, rank=args.vae_rank, encoder=args.vae_encoder)
        dec_log = train_decoder_lora(pipe.vae, images, steps=args.decoder_steps, lr=args.decoder_lr, batch_size=16,
                                     seed=args.seed, warmup=20, floor=0.1, preserve_latents=keep, new=is_teal,
                                     noise=args.noise, preserve_weight=args.preserve_weight, margin=args.margin,
                                     object_weight=args.object_weight,
                                     apart=recoloured(scenes) if args.margin > 0 else None)
    pipe.vae.eval()
    latents = from_encoder(pipe.vae, encode(pipe.vae, images))    # the (adapted) encoder's latents, scaled
    preserve = [not t for t in is_teal] if args.preserve else None
    if args.preserve and args.distil_drawn:     # drawn_latents gives each caption once per guidance scale
        latents = torch.cat([latents, keep])
        captions = list(captions) + old * (len(keep) // len(old))
        preserve += [True] * len(keep)
    torch.manual_seed(args.seed)                 # the adapter's random start, whether the VAE's were trained or loaded
    add_lora(pipe.unet, rank=args.rank, targets=tuple(args.targets.split(",")) + (CONV_TARGETS if args.convs else ()))

    def write(unet, folder):
        save_lora(unet, folder)
        save_decoder_lora(pipe.vae, folder)

    settings = {"rank": args.rank, "vae_rank": args.vae_rank, "convs": args.convs, "targets": args.targets, "preserve": args.preserve, "vae_encoder": args.vae_encoder,
                "noise": args.noise, "preserve_weight": args.preserve_weight, "margin": args.margin,
                "object_weight": args.object_weight, "unet_preserve_weight": args.unet_preserve_weight,
                "keep_unconditional": args.keep_unconditional, "distil_drawn": args.preserve and args.distil_drawn,
                "vae_from": str(args.vae_from) if args.vae_from else None, "examples": args.examples,
                "teal_examples": sum(s.objects[0].colour == NEW_COLOUR for s in scenes),
                "batch_size": args.batch_size, "adapter_parameters": lora_parameters(pipe.unet),
                "decoder": {"steps": args.decoder_steps, "lr": args.decoder_lr, "batch_size": 16,
                            "adapter_parameters": sum(p.numel() for p in pipe.vae.parameters() if p.requires_grad),
                            "preserved_latents": 0 if keep is None else len(keep),
                            "seconds": dec_log["seconds"], "loss_every_100": dec_log["loss_every_100"]}}
    if args.vae_from:
        settings["decoder"] = dec_log
    train_lora(pipe, latents, captions, steps=args.steps, lr=args.lr, batch_size=args.batch_size, seed=args.seed,
               out=args.out, write_weights=write, state=args.state, resume_run=args.resume, warmup=50,
               floor=0.1, settings=settings, save_every=100, preserve=preserve,
               preserve_weight=args.unet_preserve_weight, keep_unconditional=args.keep_unconditional)


if __name__ == "__main__":
    main()
