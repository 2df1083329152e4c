"""Every shipped checkpoint is what its script makes (issue 26, part 1).

For each checkpoint trained by a `scripts/train_<name>.py` that runs on `train.fit`: a 3-step run of
the script with its defaults is deterministic (the same seed gives the same bytes), and the shipped
`training_log.json` records the settings that the script's defaults give, so that running the script
as its card says rebuilds the shipped model. Checkpoints not yet rebuilt through their script are
listed in NOT_YET_REBUILT; their settings test is an expected failure (strict: once one is rebuilt,
the test passes and must leave the list)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = {"rbm-digits": "train_rbm_digits.py", "gan-digits": "train_gan_digits.py",
           "ddpm-digits": "train_ddpm_digits.py", "flow-digits": "train_flow_digits.py"}
NOT_YET_REBUILT: set[str] = set()   # every script here has rebuilt its shipped checkpoint from scratch
RUN_ONLY = {"steps", "seconds", "resumed_at", "loss_every_100", "d_loss_every_100", "g_loss_every_100",
            "rank_weight_checksums", "machine", "device", "num_processes", "threads", "snapshots",
            "reconstruction_error", "final_loss_mean_last_200", "dev_curve"}   # what a run measured, not how it was set


def _three_steps(script: str, out: Path) -> dict:
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, f"scripts/{script}", "--steps", "3", "--threads", "1", "--out", str(out),
           "--state", str(out.parent / f"{out.name}-state.safetensors")]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((out / "training_log.json").read_text())


def _weights(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.safetensors"))}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCRIPTS))
def test_a_three_step_rebuild_is_deterministic(name, tmp_path):
    a = _three_steps(SCRIPTS[name], tmp_path / "a")
    _three_steps(SCRIPTS[name], tmp_path / "b")
    assert a["steps"] == 3
    wa, wb = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert wa and wa == wb, f"{name}: two 3-step runs with seed {a.get('seed')} wrote different weights"


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(
    n in NOT_YET_REBUILT, strict=True, reason="trained by code that no longer exists; not yet rebuilt by its script"))
    for n in SCRIPTS])
def test_the_shipped_log_records_what_the_scripts_defaults_give(name, tmp_path):
    from course_utils.paths import checkpoint_dir

    made = _three_steps(SCRIPTS[name], tmp_path / "run")
    shipped = json.loads((checkpoint_dir(name) / "training_log.json").read_text())
    settings = {k: v for k, v in made.items() if k not in RUN_ONLY}
    differ = {k: (shipped.get(k, "<missing>"), v) for k, v in settings.items() if shipped.get(k, "<missing>") != v}
    assert not differ, f"{name}: the shipped log and the script's defaults disagree (shipped, script): {differ}"
    assert "steps" in shipped and shipped["steps"] >= 100        # a real run, not a smoke run
