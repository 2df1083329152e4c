import pytest
import torch

from course_utils.train import EMA, atomic_dir, load_training_state, save_training_state, train_loop


def test_atomic_dir_leaves_nothing_behind_on_error(tmp_path):
    target = tmp_path / "ckpt"

    def fail(tmp):
        (tmp / "half.safetensors").write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_dir(target, fail)
    assert list(tmp_path.iterdir()) == []
    atomic_dir(target, lambda tmp: (tmp / "a.txt").write_text("v1"))
    atomic_dir(target, lambda tmp: (tmp / "b.txt").write_text("v2"))  # replaces the whole folder
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def _model_and_opt():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    return model, torch.optim.AdamW(model.parameters(), lr=0.1)


def _steps(model, opt, ema, n):
    for i in range(n):
        loss = model(torch.full((4, 3), float(i))).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema.update(model)


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    m1, o1 = _model_and_opt()
    e1 = EMA(m1, 0.9)
    _steps(m1, o1, e1, 6)
    m2, o2 = _model_and_opt()
    e2 = EMA(m2, 0.9)
    _steps(m2, o2, e2, 3)
    save_training_state(tmp_path / "state.safetensors", m2, o2, 3, e2, extra={"seconds": 1.5})
    m3, o3 = _model_and_opt()
    e3 = EMA(m3, 0.9)
    meta = load_training_state(tmp_path / "state.safetensors", m3, o3, e3)
    assert meta["step"] == 3 and meta["extra"]["seconds"] == 1.5
    for i in range(3, 6):  # the same remaining steps
        loss = m3(torch.full((4, 3), float(i))).pow(2).mean()
        o3.zero_grad()
        loss.backward()
        o3.step()
        e3.update(m3)
    assert torch.allclose(m3.weight, m1.weight) and torch.allclose(e3.shadow["weight"], e1.shadow["weight"])


def test_train_loop_calls_back_and_returns_losses():
    seen = []
    losses = train_loop(lambda i: 1.0 / (i + 1), 10, every=5, callback=lambda s, ls: seen.append((s, len(ls))))
    assert losses[0] == 1.0 and len(losses) == 10 and seen == [(5, 5), (10, 10)]


def test_warmup_cosine_schedule():
    from course_utils.train import warmup_cosine

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_cosine(opt, warmup=10, total=100, floor=0.1)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.1) and max(lrs) == pytest.approx(lrs[9], abs=0.01) and lrs[9] > 0.95
    assert lrs[-1] == pytest.approx(0.1, abs=0.01) and all(a >= b for a, b in zip(lrs[10:], lrs[11:]))


def test_warmup_stable_decay_holds_the_rate_until_decay_from_then_cools_to_the_floor():
    from course_utils.train import warmup_cosine

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_cosine(opt, warmup=10, total=100, floor=0.0, decay_from=60)
    lrs = []
    for _ in range(101):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[10:61] == [pytest.approx(1.0)] * 51                 # stable until step 60
    assert lrs[80] == pytest.approx(0.5) and lrs[100] == pytest.approx(0.0, abs=1e-9)
    assert all(a > b for a, b in zip(lrs[60:100], lrs[61:101]))
    with pytest.raises(ValueError, match="decay_from"):
        warmup_cosine(opt, warmup=10, total=100, decay_from=100)


def test_save_checkpoint_keeps_the_model_card(tmp_path):
    import json

    from course_utils.train import save_checkpoint

    out = tmp_path / "model"
    save_checkpoint(out, lambda tmp: (tmp / "w.safetensors").write_text("v1"), {"steps": 1})
    (out / "README.md").write_text("# card")
    save_checkpoint(out, lambda tmp: (tmp / "w.safetensors").write_text("v2"), {"steps": 2})
    assert (out / "README.md").read_text() == "# card" and (out / "w.safetensors").read_text() == "v2"
    assert json.loads((out / "training_log.json").read_text()) == {"steps": 2}


def test_resume_fast_forwards_the_schedule(tmp_path):
    from course_utils.train import resume, warmup_cosine

    m, o = _model_and_opt()
    assert resume(tmp_path / "none.safetensors", m, o) == (0, {})
    save_training_state(tmp_path / "s.safetensors", m, o, 7, extra={"seconds": 2.0})
    sched = warmup_cosine(o, warmup=10, total=100)
    start, extra = resume(tmp_path / "s.safetensors", m, o, sched)
    assert (start, extra) == (7, {"seconds": 2.0}) and sched.last_epoch == 7


@pytest.mark.slow
def test_torchrun_gives_two_synchronised_cpu_processes_and_a_loadable_checkpoint(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "scripts/train_ddpm_digits.py",
           "--steps", "3", "--threads", "1", "--out", str(tmp_path / "ckpt"), "--state", str(tmp_path / "state.safetensors")]
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads((tmp_path / "ckpt" / "training_log.json").read_text())
    assert log["num_processes"] == 2 and log["steps"] == 3
    a, b = log["rank_weight_checksums"]
    assert a == b  # each rank drew other batches (seeded by rank): equal weights mean synchronised gradients
    from diffusers import DDPMPipeline

    pipe = DDPMPipeline.from_pretrained(tmp_path / "ckpt", use_safetensors=True)
    assert sum(p.numel() for p in pipe.unet.parameters()) > 1e6


def test_fit_resumes_where_it_stopped(tmp_path):
    from course_utils.train import fit

    def run(steps, resume_run):
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1)
        draw = lambda g, step: torch.randn(4, 3, generator=g)  # noqa: E731
        loss = lambda m, x, g: m(x).pow(2).mean()  # noqa: E731
        return fit(model, loss, draw, steps, lr=0.1, name="t", state=tmp_path / "s.safetensors",
                   resume_run=resume_run, ema_decay=0.9, save_every=2)

    whole, _, all_losses = run(4, False)
    (tmp_path / "s.safetensors").unlink()
    run(2, False)
    resumed, log, losses = run(4, True)
    assert log["resumed_at"] == 2
    assert losses == all_losses[2:]          # the history of the steps this run took, the same losses
    torch.testing.assert_close(resumed.weight, whole.weight, atol=1e-7, rtol=0)
    torch.manual_seed(0)
    assert not torch.allclose(whole.weight, torch.nn.Linear(3, 1).weight)  # it did train


def test_training_state_is_one_file_and_older_sidecars_still_load(tmp_path):
    import json

    from safetensors import safe_open

    m, o = _model_and_opt()
    path = tmp_path / "state.safetensors"
    path.with_suffix(".json").write_text("{}")                      # a sidecar left by an older version
    save_training_state(path, m, o, 5, extra={"seconds": 2.0})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.safetensors"]
    with safe_open(str(path), "pt") as f:                           # step and settings inside the one file
        assert json.loads(f.metadata()["course_training_state"])["step"] == 5
    # a state saved the old way (weights + JSON sidecar, no metadata) still resumes
    from safetensors.torch import load_file, save_file

    save_file(load_file(str(path)), str(path))
    path.with_suffix(".json").write_text(json.dumps({"step": 4, "param_groups": o.state_dict()["param_groups"],
                                                     "extra": {}}))
    assert load_training_state(path, *_model_and_opt())["step"] == 4


def test_a_damaged_training_state_says_to_start_again(tmp_path):
    m, o = _model_and_opt()
    path = tmp_path / "state.safetensors"
    save_training_state(path, m, o, 5)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"state.safetensors is damaged.*leave out --resume"):
        load_training_state(path, *_model_and_opt())


def test_leftovers_of_an_interrupted_save_are_cleaned_up(tmp_path):
    import os
    import subprocess

    from course_utils.train import atomic_file, clean_leftovers

    dead = subprocess.Popen(["true"])
    dead.wait()
    target = tmp_path / "state.safetensors"
    stale = tmp_path / f".state.safetensors.{dead.pid}.abc.tmp"       # a save killed with kill -9
    stale.write_bytes(b"half")
    live = tmp_path / f".state.safetensors.{os.getpid()}.xyz.tmp"     # a save still running: kept
    live.write_bytes(b"busy")
    stale_dir = tmp_path / f".ckpt.{dead.pid}.q.tmp"
    stale_dir.mkdir()
    atomic_file(target, lambda p: p.write_text("v1"))
    assert not stale.exists() and live.exists() and target.read_text() == "v1"
    # a folder swap stopped between its two renames: the old folder comes back
    old = tmp_path / ".ckpt.old"
    old.mkdir()
    (old / "w.safetensors").write_text("old")
    assert clean_leftovers(tmp_path / "ckpt") == [stale_dir]
    assert (tmp_path / "ckpt" / "w.safetensors").read_text() == "old" and not old.exists()
    atomic_dir(tmp_path / "ckpt", lambda tmp: (tmp / "w.safetensors").write_text("new"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "ckpt", "state.safetensors"]


def test_fit_returns_every_steps_loss():
    from course_utils.train import FitResult, fit

    torch.manual_seed(0)
    x = torch.randn(8, 3)
    result = fit(torch.nn.Linear(3, 1), lambda m, b, g: m(b).pow(2).mean(), lambda g, step: x, 5, lr=0.1, name="t")
    assert isinstance(result, FitResult) and len(result.losses) == 5
    assert result.losses[-1] < result.losses[0]                                  # it trained on one batch
    assert result.log["loss_every_100"] == [round(sum(result.losses) / 5, 5)]   # the log's summary of them


def test_to_device_moves_the_tensors_of_a_batch_and_leaves_the_rest():
    from typing import NamedTuple

    from course_utils.train import to_device

    class Pair(NamedTuple):
        x: torch.Tensor
        label: str

    x, y, z = torch.zeros(2), torch.ones(3), torch.arange(4)
    moved = to_device((x, [y, 7], {"z": z, "name": "digits", "none": None}, Pair(x, "a")), "meta")
    assert isinstance(moved, tuple) and isinstance(moved[1], list) and isinstance(moved[3], Pair)
    assert [t.device.type for t in (moved[0], moved[1][0], moved[2]["z"], moved[3].x)] == ["meta"] * 4
    assert moved[1][1] == 7 and moved[2]["name"] == "digits" and moved[2]["none"] is None and moved[3].label == "a"
    assert moved[2]["z"].dtype == torch.int64 and moved[1][0].shape == (3,)
    assert to_device(x, "cpu") is x                                              # on the CPU, nothing is copied


def test_fit_hands_the_loss_its_batch_where_the_model_is(monkeypatch):
    """On a GPU, Accelerate puts the model on cuda, so fit must put every batch there too. Faked without
    a GPU: the accelerator says cuda:0, and Tensor.to records what is sent there (and leaves it on the CPU)."""
    from accelerate import Accelerator

    from course_utils import train

    fake, sent, real_to = torch.device("cuda", 0), [], torch.Tensor.to

    def to(self, *args, **kwargs):
        if any(isinstance(a, torch.device | str) and torch.device(a) == fake for a in (*args, kwargs.get("device"))
               if a is not None):
            sent.append(self)
            return self
        return real_to(self, *args, **kwargs)

    class OnFakeGPU(Accelerator):
        device = fake

    monkeypatch.setattr(torch.Tensor, "to", to)
    monkeypatch.setattr(train, "make_accelerator", lambda **kw: OnFakeGPU(cpu=True, **kw))

    def is_sent(t):
        return any(t is s for s in sent)

    seen = []

    def loss(model, batch, gen):
        x, extra = batch
        seen.append((all(is_sent(p) for p in model.parameters()), is_sent(x), is_sent(extra["y"]), extra["name"]))
        return (model(x) - extra["y"]).pow(2).mean()

    def draw(gen, step):
        return torch.randn(4, 3, generator=gen), {"y": torch.zeros(4, 1), "name": "digits"}

    train.fit(torch.nn.Linear(3, 1), loss, draw, 2, lr=0.1, name="t")
    assert seen == [(True, True, True, "digits")] * 2      # the model on the (fake) GPU, and each batch with it


# ---------------------------------------------------------------- live_training: demos bounded by wall time
class _FakeClock:
    """A clock that only moves when a training step runs: each step takes `per_step` seconds."""

    def __init__(self, per_step=1.0):
        self.now, self.per_step = 0.0, per_step

    def __call__(self):
        return self.now

    def step(self, i):
        self.now += self.per_step
        return 1.0 / (i + 1)


def test_live_training_stops_when_the_time_is_up_and_starts_no_step_after(capsys):
    from course_utils.train import live_training

    clock = _FakeClock(per_step=1.0)
    run = live_training(clock.step, seconds=5, max_steps=100, clock=clock)
    assert run.stopped_by == "time" and run.steps == 5 and run.losses == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert run.seconds == 5.0
    assert "time is up (5 s) after 5 steps" in capsys.readouterr().out


def test_live_training_stops_at_max_steps_when_they_fit_in_the_time(capsys):
    from course_utils.train import live_training

    clock = _FakeClock(per_step=0.5)
    run = live_training(clock.step, seconds=60, max_steps=7, clock=clock, then="on with the shipped model")
    assert run.stopped_by == "steps" and run.steps == 7 and run.seconds == 3.5
    assert "all 7 steps done after 7 steps in 4 s; on with the shipped model." in capsys.readouterr().out


def test_live_training_turns_an_interrupt_into_a_message_not_a_traceback(capsys):
    from course_utils.train import live_training

    def step(i):
        if i == 3:
            raise KeyboardInterrupt  # what the kernel's stop button raises in the running cell
        return float(i)

    run = live_training(step, seconds=60)
    assert run.stopped_by == "interrupt" and run.losses == [0.0, 1.0, 2.0]
    out = capsys.readouterr().out
    assert "stopped by you (interrupt) after 3 steps" in out and "continues with the shipped checkpoint" in out


def test_live_training_keeps_to_real_wall_time():
    import time

    from course_utils.train import live_training

    t0 = time.perf_counter()
    run = live_training(lambda i: time.sleep(0.05) or 0.0, seconds=0.3)
    took = time.perf_counter() - t0
    assert run.stopped_by == "time" and 3 <= run.steps <= 7 and took < 0.3 + 0.5


@pytest.mark.parametrize("kwargs, words", [
    ({"seconds": 0}, "seconds must be a finite number above 0"),
    ({"seconds": -5}, "seconds must be a finite number above 0"),
    ({"seconds": float("nan")}, "seconds must be a finite number above 0"),
    ({"seconds": "60"}, "seconds must be a number"),
    ({"seconds": 10, "max_steps": 2.5}, "max_steps must be a whole number"),
    ({"seconds": 10, "max_steps": 0}, "max_steps must be a whole number of at least 1"),
])
def test_live_training_names_bad_settings(kwargs, words):
    from course_utils.train import live_training

    with pytest.raises((ValueError, TypeError), match=words):
        live_training(lambda i: 0.0, **kwargs)
    with pytest.raises(TypeError, match="step_fn must be a function"):
        live_training(None, seconds=10)


def test_ema_moves_to_the_models_device():
    """fit moves the averages to where Accelerate put the model (a GPU): EMA.to. The 'meta' device stands in
    for a GPU here; the CPU move copies nothing."""
    model = torch.nn.Linear(3, 2)
    ema = EMA(model, 0.9)
    before = ema.shadow["weight"]
    assert ema.to("cpu").shadow["weight"] is before
    assert {v.device.type for v in ema.to("meta").shadow.values()} == {"meta"}


@pytest.fixture
def two_threads():
    """torch on 2 threads during the test (so that 1 can be told from it), as it was afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_live_training_trains_on_one_thread_in_presenter_mode_and_puts_torch_back(two_threads, monkeypatch, capsys):
    from course_utils.train import live_training

    seen = []
    monkeypatch.setenv("COURSE_FAST", "1")
    run = live_training(lambda i: seen.append(torch.get_num_threads()) or 0.0, seconds=60, max_steps=3)
    assert run.steps == 3 and seen == [1, 1, 1]
    assert torch.get_num_threads() == 2
    monkeypatch.setenv("COURSE_FAST", "0")                 # a student's full run: torch's own threads
    live_training(lambda i: seen.append(torch.get_num_threads()) or 0.0, seconds=60, max_steps=1)
    assert seen[-1] == 2


def test_live_training_puts_the_threads_back_after_an_interrupt_too(two_threads, capsys):
    from course_utils.train import live_training

    def step(i):
        raise KeyboardInterrupt

    assert live_training(step, seconds=60, threads=1).stopped_by == "interrupt"
    assert torch.get_num_threads() == 2


def test_live_training_threads_none_leaves_torch_as_it_is(two_threads, capsys):
    from course_utils.train import live_training

    seen = []
    live_training(lambda i: seen.append(torch.get_num_threads()) or 0.0, seconds=60, max_steps=1, threads=None)
    assert seen == [2]


@pytest.mark.parametrize("bad", [0, 2.5, "one", True, "Auto"])
def test_live_training_says_what_threads_takes(bad):
    from course_utils.train import live_training

    with pytest.raises((TypeError, ValueError), match="threads"):
        live_training(lambda i: 0.0, seconds=1, threads=bad)
