"""A small training loop with a progress bar, and checkpoints that are never half-written.

Checkpoints are safetensors only. `save_training_state` / `load_training_state` keep what a
training script needs to resume (weights, EMA weights, optimizer moments, step) without pickle."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from . import validate
from .quiet import quiet


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def clean_leftovers(path: Path | str) -> list[Path]:
    """Remove what an interrupted save of `path` left next to it; returns what was removed.

    A save writes `.<name>.<pid>.<random>.tmp` first; a process killed mid-save (kill -9, power
    cut) leaves it behind. Those of processes that no longer run are deleted; a folder swap that
    stopped half-way (the old folder moved aside, the new one not yet in place) is put back."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
            removed.append(tmp)
    old = path.with_name(f".{path.name}.old")
    if old.exists() and not path.exists():
        os.replace(old, path)          # the swap stopped between its two renames: keep the old folder
    elif old.exists():
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    return removed


def atomic_dir(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Call write(tmp_dir), then move tmp_dir to `path` in one step; on error nothing is left.

    Example: atomic_dir("assets/checkpoints/ddpm-digits", pipe.save_pretrained)"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent))
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
    clean_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
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

    def to(self, device) -> EMA:
        """The averages moved to `device` (where the model trains); on the same device nothing is copied."""
        self.shadow = {k: v.to(device) for k, v in self.shadow.items()}
        return self


def save_training_state(path, model, optimizer, step: int, ema: EMA | None = None, extra=None) -> None:
    """Everything needed to resume, as one safetensors file written atomically: the tensors, and
    the step, optimizer settings and `extra` in its metadata, so that they can never disagree."""
    tensors = {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    if ema is not None:
        tensors |= {f"ema.{k}": v.contiguous() for k, v in ema.shadow.items()}
    opt = optimizer.state_dict()
    for idx, state in opt["state"].items():
        for key, value in state.items():
            tensors[f"opt.{idx}.{key}"] = torch.as_tensor(value).contiguous()
    meta = {"step": step, "param_groups": opt["param_groups"], "extra": extra or {}}
    path = Path(path)
    atomic_file(path, lambda p: save_file(tensors, str(p), metadata={STATE_KEY: json.dumps(meta)}))
    path.with_suffix(".json").unlink(missing_ok=True)      # the sidecar of older versions would disagree


STATE_KEY = "course_training_state"   # the safetensors metadata entry holding the step and settings


def _read_state(path: Path) -> tuple[dict, dict]:
    """(tensors, metadata) of a saved training state, or an error that says what to do."""
    from safetensors import safe_open

    try:
        tensors = load_file(str(path))
        with safe_open(str(path), "pt") as f:
            stored = (f.metadata() or {}).get(STATE_KEY)
        meta = json.loads(stored) if stored else json.loads(path.with_suffix(".json").read_text())  # older saves
    except Exception as e:  # noqa: BLE001 - safetensors raises its own SafetensorError
        raise ValueError(f"the training state {path} is damaged or incomplete ({type(e).__name__}: {e}); delete it "
                         "and train from the start (leave out --resume)") from e
    return tensors, meta


def load_training_state(path, model, optimizer, ema: EMA | None = None) -> dict:
    """Restore what `save_training_state` wrote; returns its metadata (with 'step')."""
    path = Path(path)
    clean_leftovers(path)
    tensors, meta = _read_state(path)
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


class LiveRun(NamedTuple):
    """What a live demo did: every finished step's loss, how many steps, how long, and what stopped it."""
    losses: list[float]
    steps: int
    seconds: float
    stopped_by: str  # "time", "steps" or "interrupt"


def live_training(step_fn: Callable[[int], float], seconds: float, max_steps: int | None = None,
                  desc: str = "live demo", then: str = "the lesson continues with the shipped checkpoint",
                  clock: Callable[[], float] = time.perf_counter, threads: int | str | None = "auto") -> LiveRun:
    """Run step_fn(step) -> loss until `seconds` of wall time are used (or `max_steps` are done),
    with a progress bar over the time; returns a LiveRun. No step starts after the time is up.

    threads: torch's threads while the demo trains, put back afterwards (None leaves them as they are).
    "auto": 1 in presenter mode (COURSE_FAST=1), torch's own otherwise. On a 2-core machine lesson 03's
    presenter-mode step trained 164 and 163 steps in 15 s on 1 thread against 234 and 234 on 2 when the
    machine was quiet, but 149 and 158 against 14 and 32 beside a busy program (benchmarks/bench_live_demo.py,
    side by side in one run): in front of a class the demo must not depend on what else the laptop does.

    Interrupting the kernel (the stop button, or I I) ends the demo cleanly: a message instead
    of a KeyboardInterrupt traceback, and the cell (and Run All) carries on. The step that was
    running when the interrupt came is not counted; its weights may be half-updated, which a
    demo can live with. Used in notebooks/03_diffusion.ipynb; meant for every live demo.

    Example: run = live_training(train_step, seconds=60, max_steps=300)"""
    seconds = validate.number("seconds", seconds, 0, 24 * 3600, open_lo=True,
                              hint="the wall time the demo may take, e.g. seconds=60")
    if max_steps is not None:
        max_steps = validate.whole("max_steps", max_steps, 1, 10**7)
    if not callable(step_fn):
        raise TypeError(f"step_fn must be a function step -> loss, got {type(step_fn).__name__}")
    if threads == "auto":
        from .paths import is_fast

        threads = 1 if is_fast() else None
    if threads is not None:
        threads = validate.whole("threads", threads, 1, 1024,
                                 hint='torch threads for the demo, e.g. threads=1; None keeps torch\'s; "auto"')
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    losses: list[float] = []
    start = clock()
    stopped_by = "steps"
    bar = tqdm(total=seconds, desc=desc, bar_format="{desc}: {bar}| {n:.0f} of {total:.0f} s{postfix}")
    try:
        while max_steps is None or len(losses) < max_steps:
            if clock() - start >= seconds:
                stopped_by = "time"
                break
            losses.append(float(step_fn(len(losses))))
            bar.n = min(clock() - start, seconds)
            bar.set_postfix_str(f"step {len(losses)}, loss {sum(losses[-20:]) / len(losses[-20:]):.4f}")
    except KeyboardInterrupt:
        stopped_by = "interrupt"
    finally:
        bar.n = min(clock() - start, seconds)
        bar.close()
        torch.set_num_threads(before)
    run = LiveRun(losses, len(losses), clock() - start, stopped_by)
    why = {"time": f"time is up ({seconds:g} s)", "steps": f"all {max_steps} steps done",
           "interrupt": "stopped by you (interrupt)"}[stopped_by]
    print(f"Live demo: {why} after {run.steps} steps in {run.seconds:.0f} s; {then}.")
    return run


def warmup_cosine(optimizer, warmup: int, total: int, floor: float = 0.05, decay_from: int = 0):
    """Learning rate: linear warm-up for `warmup` steps, then cosine decay to `floor` x the base at `total`.
    With `decay_from` > 0 the rate stays at the base until that step and the cosine runs from there to
    `total` (warm-up, stable, decay: a run can go on at a constant rate until its curve flattens, then cool down)."""
    if not 0 <= decay_from < total:
        raise ValueError(f"decay_from must be a step before total ({total}), got {decay_from}")

    def factor(step: int) -> float:
        progress = min(max(step - decay_from, 0), total - decay_from) / (total - decay_from)
        return min(1.0, (step + 1) / warmup) * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))
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
        with quiet(warnings=UserWarning):  # "scheduler.step() before optimizer.step()": intended here
            for _ in range(meta["step"]):
                scheduler.step()
    print(f"resumed at step {meta['step']} from {path}")
    return meta["step"], meta["extra"]


# ---------------------------------------------------------------- the one training driver
def make_accelerator(**kwargs):
    """HF Accelerate's Accelerator: GPUs where there are, otherwise CPU processes.

    `cpu=True` without a GPU matters: under `torchrun --nproc_per_node N` it makes N CPU
    processes that synchronise their gradients (Accelerator() alone reports one process of one)."""
    from accelerate import Accelerator

    return Accelerator(cpu=not torch.cuda.is_available(), **kwargs)


class Objective(torch.nn.Module):
    """`loss_fn(model, batch, generator)` as a module, so that data-parallel training (DDP) sees
    one forward pass that owns every parameter, whatever the loss calls inside."""

    def __init__(self, model: torch.nn.Module, loss_fn: Callable):
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch, generator):
        return self.loss_fn(self.model, batch, generator)


def _optimizer(model, kind: str, lr: float, weight_decay: float, betas):
    trainable = [p for p in model.parameters() if p.requires_grad]   # an adapter trains, the frozen rest does not
    if kind == "sgd":
        return torch.optim.SGD(trainable, lr=lr)
    return torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay, betas=betas)


def _with_ema(model: torch.nn.Module, ema: EMA) -> torch.nn.Module:
    """A copy of `model` holding the EMA weights (the model itself goes on training)."""
    import copy

    shadow = copy.deepcopy(model)
    ema.copy_to(shadow)
    return shadow


def _checksum(model: torch.nn.Module) -> float:
    return float(sum(p.detach().double().sum() for p in model.parameters()))


def training_parser(name: str, doc: str, steps: int, lr: float, batch_size: int, threads: int = 0):
    """The arguments every scripts/train_<name>.py takes: --steps, --batch-size, --lr, --seed,
    --threads, --out (the checkpoint folder), --state (resumable state) and --resume."""
    import argparse

    from .paths import CHECKPOINTS, ROOT

    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=threads, help="torch threads per process (0: torch's default)")
    p.add_argument("--out", type=Path, default=CHECKPOINTS / name, help="where the checkpoint is written")
    p.add_argument("--state", type=Path, default=ROOT / "runs" / name / "state.safetensors")
    p.add_argument("--resume", action="store_true", help="go on from --state")
    return p


def parse_training_args(parser, argv=None):
    """Parse, set the thread count and the seed of the initial weights."""
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return args


def to_device(batch, device):
    """`batch` with every tensor in it moved to `device`: tensors inside tuples (named ones too), lists
    and dicts (as plain dicts), at any depth; anything else comes back as it was. On the CPU nothing
    is copied.

    Example: to_device((x, {"y": y, "name": "digits"}), "cuda")"""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: to_device(x, device) for k, x in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):           # a NamedTuple
        return type(batch)(*(to_device(x, device) for x in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(x, device) for x in batch)
    return batch


class FitResult(NamedTuple):
    """What `fit` gives back: the trained model, the log written to training_log.json, and the
    loss of every step this run took (from log["resumed_at"] on)."""
    model: torch.nn.Module
    log: dict
    losses: list[float]


def fit(model, loss_fn: Callable, draw_batch: Callable, steps: int, *, lr: float, name: str,
        out=None, write_weights: Callable | None = None, state=None, resume_run: bool = False,
        ema_decay: float | None = None, warmup: int = 0, floor: float = 1.0, decay_from: int = 0, optimizer: str = "adamw",
        weight_decay: float = 0.0, betas=(0.9, 0.999), clip: float | None = None, seed: int = 0,
        save_every: int = 500, every: int = 0, callback: Callable | None = None, settings: dict | None = None,
        finish: Callable | None = None, callback_on_ema: bool = False) -> FitResult:
    """Train `model` for `steps` steps on one or many processes; returns FitResult(model, log, losses),
    `losses` holding every step's loss.

    Each step: batch = draw_batch(generator, step) (on the CPU, from a generator seeded by
    seed, process and step, so a resumed run is the uninterrupted one), moved to the device
    Accelerate put the model on (`to_device`); loss = loss_fn(model, batch, generator), the
    generator a CPU one (a loss draws its noise with it, then moves the noise to the batch's
    device); backward (gradients averaged over processes); optional clipping; optimizer and LR
    step (linear warm-up, then cosine down to `floor` x lr, from step `decay_from` on); EMA of the weights. Every `save_every` steps the main process
    saves a resumable state (weights, EMA, optimizer, step) to `state`; `resume_run=True` goes
    on from it. At the end the EMA weights (if any) are copied into the model and, if `out` is
    given, `write_weights(model, folder)` and training_log.json go to `out` atomically.
    `callback(step, losses, model)` runs every `every` steps on the main process (samples,
    evaluations), on a copy holding the EMA weights if `callback_on_ema` (what will ship);
    `finish(model) -> dict` runs once at the end, and its dict joins the log.

    Example (scripts/train_ddpm_digits.py):
        fit(make_unet(), ddpm_loss_fn, draw, 4000, lr=1e-3, name="ddpm-digits", ema_decay=0.995, ...)"""
    import platform
    import time

    accelerator = make_accelerator()
    opt = _optimizer(model, optimizer, lr, weight_decay, betas)
    sched = warmup_cosine(opt, max(1, warmup), steps, floor, decay_from) if (warmup or floor < 1) else None
    ema = EMA(model, ema_decay) if ema_decay else None
    start, extra = resume(state, model, opt, sched, ema) if (resume_run and state) else (0, {})
    objective, opt = accelerator.prepare(Objective(model, loss_fn), opt)
    if ema is not None:
        ema.to(accelerator.device)                     # the model is there now (a GPU): its averages go with it
    gen = torch.Generator()
    losses, t0, elapsed = [], time.perf_counter(), extra.get("seconds", 0.0)
    bar = tqdm(range(start, steps), initial=start, total=steps, desc=name, disable=not accelerator.is_main_process)
    for step in bar:
        gen.manual_seed((seed * 1000 + accelerator.process_index) * 10**9 + step)  # a resumed run draws the same
        loss = objective(to_device(draw_batch(gen, step), accelerator.device), gen)   # the batch goes where the model is
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        if clip:
            accelerator.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if sched is not None:
            sched.step()
        if ema is not None:
            ema.update(model)
        losses.append(loss.item())
        if step % 20 == 0:
            bar.set_postfix(loss=f"{sum(losses[-100:]) / len(losses[-100:]):.4f}")
        done = step + 1
        if callback is not None and every and done % every == 0 and accelerator.is_main_process:
            callback(done, losses, _with_ema(model, ema) if (callback_on_ema and ema is not None) else model)
        if state and accelerator.is_main_process and (done % save_every == 0 or done == steps):
            save_training_state(state, model, opt.optimizer, done, ema,
                                extra={"seconds": elapsed + time.perf_counter() - t0})
    accelerator.wait_for_everyone()
    checksums = accelerator.gather(torch.tensor([_checksum(model)], dtype=torch.float64)).tolist()
    if ema is not None:
        ema.copy_to(model)
    log = {"name": name, "steps": steps, "resumed_at": start, "lr": lr, "optimizer": optimizer, "seed": seed,
           "ema": ema_decay, "seconds": round(elapsed + time.perf_counter() - t0, 1),
           "num_processes": accelerator.num_processes, "device": str(accelerator.device),
           "threads": torch.get_num_threads(), "machine": platform.machine(),
           "rank_weight_checksums": checksums, **(settings or {}),
           "loss_every_100": [round(sum(losses[i:i + 100]) / len(losses[i:i + 100]), 5)
                              for i in range(0, len(losses), 100)]}
    if finish is not None and accelerator.is_main_process:
        log |= finish(model)
    if out is not None and accelerator.is_main_process:
        save_checkpoint(out, lambda tmp: write_weights(model, tmp), log)
        print(f"saved {out}: {steps} steps in {log['seconds'] / 60:.1f} min on {accelerator.num_processes} process(es)")
    return FitResult(model, log, losses)
