"""course_utils/live.py: live demos of trainers built on train.fit."""

import pytest
import torch

from course_utils.finetune.teal import fresh_pipeline
from course_utils.finetune.textual_inversion import learn_word
from course_utils.live import live_demo


class _Clock:
    """A fake clock: each reading is one second later."""
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        self.t += 1.0
        return self.t


def test_live_demo_stops_a_real_trainer_on_time_and_keeps_its_word(tiny_course_checkpoints, capsys):
    pipe = fresh_pipeline()
    latents = torch.randn(4, 4, 8, 8)
    # the clock ticks a second per step: steps start at 0, 1, 2 and 3 s; the fifth would start at 4 s > 3.5 s
    run = live_demo(learn_word, pipe, latents, ["a <teal> circle"] * 4, steps=50, batch_size=2,
                    seconds=3.5, clock=_Clock())
    assert (run.stopped_by, run.steps, len(run.losses)) == ("time", 4, 4)
    assert run.model.vector.shape == (384,)
    assert "time is up (3.5 s) after 4 steps" in capsys.readouterr().out
    done = live_demo(learn_word, fresh_pipeline(), latents, ["a <teal> circle"] * 4, steps=2,
                     batch_size=2, seconds=100, clock=_Clock())
    assert (done.stopped_by, done.steps) == ("steps", 2)
    capsys.readouterr()
    one = live_demo(learn_word, fresh_pipeline(), latents, ["a <teal> circle"] * 4, steps=50, batch_size=2,
                    seconds=0.5, clock=_Clock())
    assert one.steps == 1 and "after 1 step in" in capsys.readouterr().out     # "1 step", not "1 steps"


def test_live_demo_ends_an_interrupted_trainer_without_a_traceback(capsys):
    def trainer(callback, every, steps):
        for step in range(1, steps + 1):
            if step == 3:
                raise KeyboardInterrupt            # the stop button, in the middle of step 3
            callback(step, [1.0] * step, "model")

    run = live_demo(trainer, steps=10, seconds=60)
    assert (run.stopped_by, run.steps, run.model) == ("interrupt", 2, "model")
    assert "stopped by you" in capsys.readouterr().out
    with pytest.raises(ValueError, match="seconds"):
        live_demo(trainer, steps=1, seconds=0)
