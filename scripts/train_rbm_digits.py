"""Rebuild the `rbm-digits` checkpoint of lesson 01 from scratch, with a fixed seed.

    python scripts/train_rbm_digits.py                              # the shipped settings
    torchrun --nproc_per_node 2 scripts/train_rbm_digits.py         # 2 CPU processes, gradients synchronised

Our torch RBM (course_utils/models/rbm.py), 64 visible x 256 hidden units, trained by CD-1 on
scikit-learn's digits binarised at 0.5: plain SGD on `RBM.cd_loss` (free energy of the data
minus that of the chain), whose gradient is exactly the CD update of lesson 01. The default
107,400 steps of batch 10 are as many digits as 600 epochs over the 1,797 digits (179 batches
each), drawn at random; the shipped checkpoint is this script's run with its defaults."""

from __future__ import annotations

import json

import torch
from safetensors.torch import save_file

from course_utils import data
from course_utils.models.rbm import RBM
from course_utils.train import fit, parse_training_args, training_parser


def main(argv=None):
    p = training_parser("rbm-digits", __doc__, steps=107_400, lr=0.01, batch_size=10, threads=1)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--k", type=int, default=1, help="Gibbs steps per update (CD-k)")
    args = parse_training_args(p, argv)
    v = data.digits(binary=True).images.reshape(-1, 64)
    rbm = RBM(64, args.hidden, generator=torch.Generator().manual_seed(args.seed)).requires_grad_(True)

    def draw(gen, step):
        return v[torch.randint(0, len(v), (args.batch_size,), generator=gen)]

    def write(model, tmp):
        save_file({k: t.detach().contiguous() for k, t in model.state_dict().items()}, str(tmp / "model.safetensors"))
        (tmp / "config.json").write_text(json.dumps({"n_visible": 64, "n_hidden": args.hidden}, indent=1))

    fit(rbm, lambda m, batch, g: m.cd_loss(batch, args.k, g), draw, args.steps, lr=args.lr, name="rbm-digits",
        optimizer="sgd", out=args.out, write_weights=write, state=args.state, resume_run=args.resume,
        seed=args.seed, save_every=10_000, finish=lambda m: {"reconstruction_error": round(m.reconstruction_error(v), 5)},
        settings={"batch_size": args.batch_size, "k": args.k, "hidden": args.hidden})


if __name__ == "__main__":
    main()
