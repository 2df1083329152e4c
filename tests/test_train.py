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
