"""Live training demos for trainers built on train.fit: `live_demo` runs one for a bounded wall time
and stops it cleanly (time up, all steps done, or the kernel interrupted), keeping what was trained.
train.live_training does the same for a loop of single steps. Used in notebooks/08_make_it_yours.ipynb."""

from __future__ import annotations

from typing import NamedTuple

from . import validate as v


class _TimeUp(Exception):
    """Raised by live_demo's callback to end train.fit when the demo's time is up."""


class LiveDemo(NamedTuple):
    """What a live demo of a trainer did (see `live_demo`)."""
    model: object  # what was trained (the NewWord of learn_word, the VAE, the U-Net); None if no step finished
    losses: list[float]  # every finished step's loss
    steps: int
    seconds: float
    stopped_by: str  # "time", "steps" or "interrupt"


def live_demo(trainer, *args, seconds: float, then: str = "the lesson continues with the shipped checkpoint",
              clock=None, **kwargs) -> LiveDemo:
    """Run `trainer(*args, **kwargs)`, a trainer that passes `callback` and `every` on to train.fit
    (finetune's learn_word, train_decoder_lora, train_lora), as a live demo: it stops at its `steps`,
    or after `seconds` of wall time (no step starts after), or when the kernel is interrupted (the
    stop button), with a printed line instead of a traceback. What was trained keeps the weights of
    its last finished step (`model`, trained in place). The same rules as train.live_training.

    Example: run = live_demo(train_lora, pipe, latents, captions, steps=150, seconds=60)"""
    import time

    clock = clock or time.perf_counter
    seconds = v.number("seconds", seconds, 0, 24 * 3600, open_lo=True, hint="the wall time the demo may take, e.g. seconds=60")
    if not callable(trainer):
        raise TypeError("trainer must be a function that passes callback= and every= on to train.fit "
                        f"(e.g. finetune.train_lora), got {type(trainer).__name__}")
    start, seen, stopped_by = clock(), {"model": None, "losses": []}, "steps"

    def callback(step, losses, model):
        seen.update(model=model, losses=list(losses))
        if clock() - start >= seconds:
            raise _TimeUp

    try:
        trainer(*args, callback=callback, every=1, **kwargs)
    except _TimeUp:
        stopped_by = "time"
    except KeyboardInterrupt:
        stopped_by = "interrupt"
    run = LiveDemo(seen["model"], seen["losses"], len(seen["losses"]), clock() - start, stopped_by)
    why = {"time": f"time is up ({seconds:g} s)", "steps": f"all {run.steps} steps done",
           "interrupt": "stopped by you (interrupt)"}[stopped_by]
    print(f"Live demo: {why} after {run.steps} step{'' if run.steps == 1 else 's'} in {run.seconds:.0f} s; {then}.")
    return run
