"""A small training loop with a progress bar, and checkpoints that are never half-written.

Checkpoints are safetensors only. `save_training_state` / `load_training_state` keep what a
training script needs to resume (weights, EMA weights, optimizer moments, step) without pickle."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm


def atomic_dir(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Call write(tmp_dir), then move tmp_dir to `path` in one step; on error nothing is left.

    Example: atomic_dir("assets/checkpoints/ddpm-digits", pipe.save_pretrained)"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        write(tmp)
        for p in [tmp, *tmp.rglob("*")]:  # mkdtemp makes a private folder: open it up
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        old = path.with_name(f".{path.name}.old")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def atomic_file(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Call write(tmp_file) next to `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class EMA:
    """Exponential moving average of a model's weights: ema = decay * ema + (1 - decay) * w."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.995):
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].lerp_(v.detach(), 1 - self.decay)
            else:
                self.shadow[k].copy_(v)

    def copy_to(self, model: torch.nn.Module) -> None:
        model.load_state_dict(self.shadow)


def save_training_state(path, model, optimizer, step: int, ema: EMA | None = None, extra=None) -> None:
    """Everything needed to resume, as one safetensors file plus a JSON sidecar, atomically."""
    tensors = {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    if ema is not None:
        tensors |= {f"ema.{k}": v.contiguous() for k, v in ema.shadow.items()}
    opt = optimizer.state_dict()
    for idx, state in opt["state"].items():
        for key, value in state.items():
            tensors[f"opt.{idx}.{key}"] = torch.as_tensor(value).contiguous()
    meta = {"step": step, "param_groups": opt["param_groups"], "extra": extra or {}}
    path = Path(path)
    atomic_file(path, lambda p: save_file(tensors, str(p)))
    atomic_file(path.with_suffix(".json"), lambda p: p.write_text(json.dumps(meta, indent=1)))


def load_training_state(path, model, optimizer, ema: EMA | None = None) -> dict:
    """Restore what `save_training_state` wrote; returns its metadata (with 'step')."""
    path = Path(path)
    tensors = load_file(str(path))
    meta = json.loads(path.with_suffix(".json").read_text())
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if ema is not None:
        ema.shadow = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
    state: dict = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, idx, key = k.split(".", 2)
            state.setdefault(int(idx), {})[key] = v
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    return meta


def train_loop(step_fn: Callable[[int], float], n_steps: int, every: int = 0,
               callback: Callable[[int, list[float]], None] | None = None, desc: str = "training",
               start: int = 0) -> list[float]:
    """Run step_fn(step) -> loss for n_steps with a progress bar; call callback(step, losses)
    every `every` steps (e.g. to draw samples). Returns the list of losses.

    Example: losses = train_loop(lambda i: train_step(model, batch()), 200)"""
    losses: list[float] = []
    bar = tqdm(range(start, n_steps), desc=desc, initial=start, total=n_steps)
    for step in bar:
        losses.append(float(step_fn(step)))
        if step % 10 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}")
        if callback is not None and every and (step + 1) % every == 0:
            callback(step + 1, losses)
    return losses


def warmup_cosine(optimizer, warmup: int, total: int, floor: float = 0.05):
    """Learning rate: linear warm-up for `warmup` steps, then cosine decay to `floor` x the base at `total`."""
    def factor(step: int) -> float:
        return min(1.0, (step + 1) / warmup) * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def save_checkpoint(out, write_weights: Callable[[Path], None], log: dict) -> Path:
    """Write a checkpoint folder atomically: the weights (by `write_weights(tmp)`), training_log.json,
    and the model card README.md carried over from the folder it replaces."""
    out = Path(out)

    def write(tmp: Path) -> None:
        write_weights(tmp)
        (tmp / "training_log.json").write_text(json.dumps(log, indent=1))
        card = out / "README.md"
        if card.exists():  # scripts/evaluate_checkpoints.py refreshes the card's numbers
            (tmp / "README.md").write_text(card.read_text())

    return atomic_dir(out, write)


def resume(path, model, optimizer, scheduler=None, ema: EMA | None = None) -> tuple[int, dict]:
    """Load a training state saved by `save_training_state` and fast-forward the learning-rate
    scheduler to it -> (step to start from, the state's `extra` dict). (0, {}) if there is none."""
    path = Path(path)
    if not path.exists():
        return 0, {}
    meta = load_training_state(path, model, optimizer, ema)
    if scheduler is not None:
        with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()": intended here
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(meta["step"]):
                scheduler.step()
    print(f"resumed at step {meta['step']} from {path}")
    return meta["step"], meta["extra"]
