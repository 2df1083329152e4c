"""Every shipped checkpoint is what its script makes (issue 26, part 1).

For each checkpoint trained by a `scripts/train_<name>.py` that runs on `train.fit`: a 3-step run of
the script is deterministic (the same seed gives the same bytes), and the shipped `training_log.json`
records the settings that the script's defaults give, so that running the script as its card says
rebuilds the shipped model. A 3-step run uses the defaults, except the data-size flags in TEST_SIZED
(the Shapes World scripts render and encode thousands of scenes before their first step) and the
scratch folders in SCRATCH (kept under tmp_path); the settings test compares every other setting the
run records. Checkpoints not yet rebuilt through their script are listed in NOT_YET_REBUILT; their
settings test is an expected failure (strict: once one is rebuilt, the test passes and must leave the
list)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = {"rbm-digits": "train_rbm_digits.py", "gan-digits": "train_gan_digits.py",
           "ddpm-digits": "train_ddpm_digits.py", "flow-digits": "train_flow_digits.py",
           "vae-shapes": "train_vae_shapes.py", "unet-shapes": "train_unet_shapes.py",
           "lora-teal": "train_lora_teal.py", "lcm-shapes": "train_lcm_shapes.py"}
TEST_SIZED = {   # the data-size flags a test run shrinks (flag name as its log records it: test-sized value)
    "vae-shapes": {"scaling_scenes": 64},            # the scenes measuring the latent scaling factor (1,024)
    "unet-shapes": {"scenes": 64},                   # training scenes rendered and encoded up front (64,000)
    "lora-teal": {"examples": 12},                   # scenes; the base pipeline draws latents for the old-colour ones (384)
    "lcm-shapes": {"scenes": 64},                    # training scenes rendered and encoded up front (8,000)
}
SCRATCH = {"unet-shapes": ("cache", "snapshot"), "lcm-shapes": ("cache",)}   # folders under runs/ by default
NOT_YET_REBUILT: set[str] = set()   # every shipped checkpoint is what its script's defaults make
NOT_IN_SHIPPED_LOG: dict[str, set[str]] = {}   # flags a script gained after its shipped run, which that log
# predates (strict: see the test); empty since unet-shapes v4 shipped with weak_step and ground_words in its log
RUN_ONLY = {"steps", "seconds", "resumed_at", "loss_every_100", "d_loss_every_100", "g_loss_every_100",
            "rank_weight_checksums", "machine", "device", "num_processes", "threads", "snapshots",
            "reconstruction_error", "final_loss_mean_last_200", "dev_curve", "psnr_unseen_256", "scaling_factor",
            "teal_examples", "preserved_latents"}   # what a run measured or counted in its data, not how it was set
FOLDERS = {"vae", "teacher", "init", "vae_from"}   # settings naming a checkpoint folder: compared by its name,
# since where a machine keeps it varies (the shipped unet-shapes read a copy of vae-shapes under /work/state)
QUOTED_LOGS = {"teacher_training_log", "init_training_log"}   # another checkpoint's log, compared whole


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _three_steps(name: str, out: Path) -> dict:
    """Run scripts/<SCRIPTS[name]> for 3 steps on 1 thread with test-sized data into `out`; returns its log."""
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, f"scripts/{SCRIPTS[name]}", "--steps", "3", "--threads", "1", "--out", str(out),
           "--state", str(out.parent / f"{out.name}-state.safetensors")]
    for key, value in TEST_SIZED.get(name, {}).items():
        cmd += [_flag(key), str(value)]
    for key in SCRATCH.get(name, ()):
        cmd += [_flag(key), str(out.parent / f"{out.name}-scratch" / key)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((out / "training_log.json").read_text())


_FIRST_RUNS: dict[str, Path] = {}   # name -> the folder of its first 3-step run: both tests below read it


def _first_run(name: str, tmp_path_factory) -> Path:
    if name not in _FIRST_RUNS:
        out = tmp_path_factory.mktemp(name) / "a"
        _three_steps(name, out)
        _FIRST_RUNS[name] = out
    return _FIRST_RUNS[name]


def _weights(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.safetensors"))}


def settings(log: dict, name: str) -> dict:
    """The settings a log records: all but RUN_ONLY (in nested settings too) and TEST_SIZED[name],
    folders as their names."""
    def keep(d: dict) -> dict:
        return {k: (Path(v).name if k in FOLDERS and isinstance(v, str) else
                    keep(v) if isinstance(v, dict) and k not in QUOTED_LOGS else v)
                for k, v in d.items() if k not in RUN_ONLY}
    return {k: v for k, v in keep(log).items() if k not in TEST_SIZED.get(name, {})}


def disagreements(made: dict, shipped: dict, name: str) -> dict:
    """{setting: (shipped, made)} for each setting of the `made` log that the shipped log records otherwise."""
    ours, theirs = settings(made, name), settings(shipped, name)
    return {k: (theirs.get(k, "<missing>"), v) for k, v in ours.items()
            if theirs.get(k, "<missing>") != v and not (k in NOT_IN_SHIPPED_LOG.get(name, ()) and k not in theirs)}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCRIPTS))
def test_a_three_step_rebuild_is_deterministic(name, tmp_path, tmp_path_factory):
    a = _first_run(name, tmp_path_factory)
    log = _three_steps(name, tmp_path / "b")
    assert log["steps"] == 3
    wa, wb = _weights(a), _weights(tmp_path / "b")
    assert wa and wa == wb, f"{name}: two 3-step runs with seed {log.get('seed')} wrote different weights"


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(
    n in NOT_YET_REBUILT, strict=True, reason="the shipped checkpoint predates its script's defaults; not yet rebuilt by it"))
    for n in SCRIPTS])
def test_the_shipped_log_records_what_the_scripts_defaults_give(name, tmp_path_factory):
    from course_utils.paths import checkpoint_dir

    made = json.loads((_first_run(name, tmp_path_factory) / "training_log.json").read_text())
    shipped = json.loads((checkpoint_dir(name) / "training_log.json").read_text())
    for key, value in TEST_SIZED.get(name, {}).items():
        assert made.get(key) == value, f"{name}: the test run's log should record --{key} {value}, got {made.get(key)}"
    differ = disagreements(made, shipped, name)
    assert not differ, f"{name}: the shipped log and the script's defaults disagree (shipped, script): {differ}"
    later = {k for k in NOT_IN_SHIPPED_LOG.get(name, ()) if k in shipped}
    assert not later, f"{name}: the shipped log now records {later}: take them out of NOT_IN_SHIPPED_LOG"
    assert "steps" in shipped and shipped["steps"] >= 100        # a real run, not a smoke run


def test_the_settings_comparison_can_fail(monkeypatch):
    """disagreements() reports a changed setting (nested ones too), and passes what only a run measured."""
    log = {"steps": 3, "seconds": 1.0, "lr": 1e-3, "scenes": 64, "vae": "/a/vae-shapes",
           "decoder": {"steps": 3, "lr": 2e-3}, "teacher_training_log": {"steps": 10}}
    shipped = log | {"steps": 1000, "seconds": 99.0, "scenes": 64000, "vae": "/b/vae-shapes",
                     "decoder": {"steps": 600, "lr": 2e-3}}
    assert disagreements(log, shipped, "unet-shapes") == {}
    assert disagreements(log, shipped | {"lr": 1e-4}, "unet-shapes") == {"lr": (1e-4, 1e-3)}
    assert disagreements(log, shipped, "lora-teal") == {"scenes": (64000, 64)}         # scenes is test-sized for unet only
    assert "decoder" in disagreements(log, shipped | {"decoder": {"steps": 600, "lr": 1e-3}}, "unet-shapes")
    assert "vae" in disagreements(log, shipped | {"vae": "/b/vae-digits"}, "unet-shapes")
    assert "teacher_training_log" in disagreements(log, shipped | {"teacher_training_log": {"steps": 11}}, "lcm-shapes")
    monkeypatch.setitem(NOT_IN_SHIPPED_LOG, "unet-shapes", {"weak_step"})
    assert disagreements(log | {"weak_step": 2000}, shipped, "unet-shapes") == {}       # NOT_IN_SHIPPED_LOG
    assert disagreements(log | {"weak_step": 2000}, shipped, "lcm-shapes") == {"weak_step": ("<missing>", 2000)}


def test_the_smoke_commands_in_contributing_use_the_test_sized_flags():
    """CONTRIBUTING.md's smoke runs: one line a script, with its TEST_SIZED flags, writing only under /tmp/smoke."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    define = next(line for line in text.splitlines() if line.startswith("smoke() {"))
    assert "torchrun --nproc_per_node 2" in text and "--steps 3" in text
    assert "--out /tmp/smoke/$name" in text and "--state /tmp/smoke/$name" in text, define
    lines = {line.split()[1]: line for line in text.splitlines() if line.startswith("smoke ")}
    assert set(lines) == set(SCRIPTS), f"CONTRIBUTING.md's smoke runs should be one a script: {sorted(lines)}"
    for name, line in lines.items():
        words = line.split()
        assert words[2] == f"scripts/{SCRIPTS[name]}", line
        for key, value in TEST_SIZED.get(name, {}).items():
            assert f"{_flag(key)} {value}" in line, f"{name}: the smoke run should pass {_flag(key)} {value}"
        for key in SCRATCH.get(name, ()):
            where = words[words.index(_flag(key)) + 1] if _flag(key) in words else "<missing>"
            assert where.startswith("/tmp/smoke/"), f"{name}: the smoke run should pass {_flag(key)} /tmp/smoke/..."
