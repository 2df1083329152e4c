"""The GAN of lesson 02: two small MLPs playing the minimax game on 8x8 digits (Goodfellow et al. 2014).

G: z (32) -> 256 -> 256 -> 64 pixels in [-1, 1];  D: 64 pixels -> 256 -> 256 -> 1 logit.
Trained with the non-saturating generator loss and one-sided label smoothing (real label 0.9)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..images import to_unit

Z_DIM = 32


def make_generator(z_dim: int = Z_DIM, hidden: int = 256) -> nn.Sequential:
    """G: noise z (N, z_dim) -> images (N, 64) in [-1, 1]."""
    return nn.Sequential(nn.Linear(z_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                         nn.LeakyReLU(0.2), nn.Linear(hidden, 64), nn.Tanh())


def make_discriminator(hidden: int = 256, dropout: float = 0.2) -> nn.Sequential:
    """D: images (N, 64) in [-1, 1] -> one logit per image (N, 1): high = "real"."""
    return nn.Sequential(nn.Linear(64, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout),
                         nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout), nn.Linear(hidden, 1))


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 0.9) -> torch.Tensor:
    """-[log D(x) + log(1 - D(G(z)))], as binary cross-entropy on logits; real targets `real_label`."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits: torch.Tensor, saturating: bool = False) -> torch.Tensor:
    """Non-saturating: -log D(G(z)). saturating=True: the original log(1 - D(G(z))), which stalls
    when D wins early (its gradient vanishes exactly when G is worst)."""
    if saturating:
        return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def simultaneous_loss(pair: nn.ModuleDict, real: torch.Tensor, generator=None, real_label: float = 0.9) -> torch.Tensor:
    """D's loss plus G's non-saturating loss, as one number for one optimizer over both players.

    G's half sees D through detached weights (torch.func.functional_call), so D's parameters get
    only D's gradient and G's only G's: one step updates both players at once (simultaneous
    gradient descent) instead of alternating as `train_gan` does. scripts/train_gan_digits.py
    trains with it through the course's one training driver. pair: ModuleDict(G=..., D=...)."""
    G, D = pair["G"], pair["D"]
    fake = G(torch.randn(len(real), G[0].in_features, generator=generator).to(real))
    d_loss = discriminator_loss(D(real), D(fake.detach()), real_label)                  # D: tell real from fake
    frozen = {name: p.detach() for name, p in D.named_parameters()}
    g_loss = generator_loss(torch.func.functional_call(D, frozen, (fake,)))            # G: fool a fixed D
    return d_loss + g_loss


@dataclass
class GANRun:
    """What `train_gan` gives back: the losses per step and snapshots of G's samples."""
    d_losses: list = field(default_factory=list)
    g_losses: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)  # (step, images (n, 1, 8, 8) in [0, 1])
    g_grad_norms: list = field(default_factory=list)  # size of G's gradient at each step (all parameters)


def train_gan(G, D, data: torch.Tensor, steps: int, lr: float = 2e-4, batch_size: int = 64, betas=(0.5, 0.999),
              g_steps: int = 1, real_label: float = 0.9, generator=None, snapshot_every: int = 0,
              fixed_z: torch.Tensor | None = None, progress: bool = True, saturating: bool = False,
              optimizer: str = "adam", seconds: float | None = None) -> GANRun:
    """Alternate one D step and `g_steps` G steps for `steps` rounds. data: (N, 64) in [-1, 1].
    saturating=True trains G on the original minimax loss log(1 - D(G(z))) instead of -log D(G(z));
    optimizer "sgd" (plain SGD at `lr`) instead of "adam" lets the gradient's size show in the step.
    seconds: a live demo, at most `steps` rounds within that wall time, stopped cleanly by an
    interrupt too (train.live_training); the last round is then snapshotted as well."""
    from tqdm.auto import tqdm

    from .. import validate as v

    v.one_of("optimizer", optimizer, ("adam", "sgd"))
    make_opt = (lambda ps: torch.optim.Adam(ps, lr=lr, betas=betas)) if optimizer == "adam" else \
        (lambda ps: torch.optim.SGD(ps, lr=lr))
    opt_d, opt_g = make_opt(D.parameters()), make_opt(G.parameters())
    z_dim = G[0].in_features
    fixed_z = fixed_z if fixed_z is not None else torch.randn(16, z_dim, generator=generator)
    run = GANRun()

    def one_round(step: int) -> float:
        real = data[torch.randint(0, len(data), (batch_size,), generator=generator)]
        fake = G(torch.randn(batch_size, z_dim, generator=generator))
        d_loss = discriminator_loss(D(real), D(fake.detach()), real_label)      # 1. D: tell real from fake
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        for _ in range(g_steps):                                                 # 2. G: fool D
            g_loss = generator_loss(D(G(torch.randn(batch_size, z_dim, generator=generator))), saturating)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            grad_norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in G.parameters() if p.grad is not None))
            opt_g.step()
        run.d_losses.append(d_loss.item())
        run.g_losses.append(g_loss.item())
        run.g_grad_norms.append(grad_norm.item())
        if snapshot_every and ((step + 1) % snapshot_every == 0 or step == 0):
            run.snapshots.append((step + 1, generate(G, fixed_z)))
        return run.d_losses[-1]

    if seconds is None:
        for step in tqdm(range(steps), desc="GAN", disable=not progress):
            one_round(step)
        return run
    from ..train import live_training

    live_training(one_round, seconds, max_steps=steps, desc="GAN (live)",
                  then="the lesson continues with the shipped gan-digits")
    done = len(run.d_losses)
    if snapshot_every and done and (not run.snapshots or run.snapshots[-1][0] != done):
        run.snapshots.append((done, generate(G, fixed_z)))
    return run


@torch.no_grad()
def generate(G, z: torch.Tensor) -> torch.Tensor:
    """G(z) as images (N, 1, 8, 8) in [0, 1]."""
    was_training = G.training
    G.eval()
    x = G(z)
    G.train(was_training)
    return to_unit(x).reshape(-1, 1, 8, 8)


def load(folder, device="cpu"):
    """(G, D) saved in `folder` (config.json + two safetensors files), for models.load_pretrained."""
    from ..checkpoint_files import read_config, read_weights

    cfg = read_config(folder, ("z_dim", "hidden", "dropout"))
    G = make_generator(cfg["z_dim"], cfg["hidden"])
    G.load_state_dict(read_weights(folder / "generator.safetensors"))
    D = make_discriminator(cfg["hidden"], cfg["dropout"])
    D.load_state_dict(read_weights(folder / "discriminator.safetensors"))
    return G.eval().to(device), D.eval().to(device)


def sample_from(pair, n: int, generator, steps=None) -> torch.Tensor:
    """G(z) for n seeded z -> (n, 1, 8, 8) in [0, 1], for models.sample (a GAN takes no steps)."""
    G = pair[0]
    z = torch.randn(n, G[0].in_features, generator=generator)
    return generate(G, z.to(next(G.parameters()).device)).cpu()
