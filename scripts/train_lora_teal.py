"""Rebuild `lora-teal` (lesson 08): LoRA adapters that teach the course's pipeline the colour "teal".

    python scripts/train_lora_teal.py                 # the shipped adapters (fixed seed)
    python scripts/train_lora_teal.py --resume        # go on with the U-Net's adapter from runs/lora-teal/state.safetensors

1. Scenes: `--examples` single-object Shapes World scenes, a third of them teal (20, 160, 160), a colour
   no base model saw, the rest in the six old colours (so the adapters keep them: DreamBooth's prior
   preservation), captioned in the course's varied wording.
2. The VAE decoder's adapter: `vae-shapes` never saw teal and decodes it as a duller, greener colour whatever
   latent its encoder gives (lesson 08 measures it), so a rank-`--rank` LoRA on the decoder's
   convolutions learns to paint the encoder's teal latents teal, the old colours as before.
3. The U-Net's adapter: a rank-`--rank` LoRA on every attention projection of the U-Net (PEFT through
   `unet.add_adapter`), trained with train.fit on the encoder's latents of the same scenes; only the
   adapter's numbers change.
Saved as diffusers LoRA weights (`pipe.load_lora_weights(folder)` for the U-Net) plus
vae_decoder_lora.safetensors; `finetune.load_lora(pipe, folder)` loads both."""

from __future__ import annotations

from course_utils import finetune as ft
from course_utils.models.vae import encode
from course_utils.train import parse_training_args, training_parser


def main(argv=None):
    p = training_parser("lora-teal", __doc__, steps=1500, lr=5e-3, batch_size=32)
    p.add_argument("--rank", type=int, default=4)
    p.add_argument("--examples", type=int, default=384, help="scenes, about a third of them teal")
    p.add_argument("--decoder-steps", type=int, default=400, help="training steps of the decoder's adapter")
    p.add_argument("--decoder-lr", type=float, default=2e-3)
    args = parse_training_args(p, argv)
    pipe = ft.fresh_pipeline()
    images, scenes, captions = ft.teal_examples(args.examples, seed=args.seed, other_share=0.67)
    ft.add_decoder_lora(pipe.vae, rank=args.rank)
    dec_log = ft.train_decoder_lora(pipe.vae, images, steps=args.decoder_steps, lr=args.decoder_lr, batch_size=16,
                                    seed=args.seed, warmup=20, floor=0.1)
    pipe.vae.eval()
    latents = encode(pipe.vae, images) * pipe.vae.config.scaling_factor    # the encoder is frozen: its own latents
    ft.add_lora(pipe.unet, rank=args.rank)

    def write(unet, folder):
        ft.save_lora(unet, folder)
        ft.save_decoder_lora(pipe.vae, folder)

    settings = {"rank": args.rank, "examples": args.examples,
                "teal_examples": sum(s.objects[0].colour == ft.NEW_COLOUR for s in scenes),
                "batch_size": args.batch_size, "adapter_parameters": ft.lora_parameters(pipe.unet),
                "decoder": {"steps": args.decoder_steps, "lr": args.decoder_lr, "batch_size": 16,
                            "adapter_parameters": sum(p.numel() for p in pipe.vae.parameters() if p.requires_grad),
                            "seconds": dec_log["seconds"], "loss_every_100": dec_log["loss_every_100"]}}
    ft.train_lora(pipe, latents, captions, steps=args.steps, lr=args.lr, batch_size=args.batch_size, seed=args.seed,
                  out=args.out, write_weights=write, state=args.state, resume_run=args.resume, warmup=50,
                  floor=0.1, settings=settings, save_every=100)


if __name__ == "__main__":
    main()
