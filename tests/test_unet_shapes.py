import pytest
import torch
from diffusers import DDIMScheduler

from course_utils.models.unet_shapes import (
    SCHEDULER_CONFIG,
    denoising_loss,
    make_unet,
    training_schedule,
)
from course_utils.noise import add_noise


def test_training_schedule_is_the_schedulers_and_ends_in_pure_noise():
    s, d = training_schedule(), DDIMScheduler(**SCHEDULER_CONFIG)
    assert torch.allclose(s.alphas_cumprod, d.alphas_cumprod.float(), atol=1e-6)
    assert s.alphas_cumprod[-1] == 0 and s.alphas_cumprod[0] > 0.99     # zero terminal SNR (Lin et al. 2024)


def test_v_target_is_what_the_scheduler_inverts():
    """If the U-Net predicted our training target exactly, DDIM would recover x0 exactly."""
    s, d = training_schedule(), DDIMScheduler(**SCHEDULER_CONFIG)
    d.set_timesteps(10)
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    for t in [int(d.timesteps[0]), int(d.timesteps[5])]:
        abar = s.alphas_cumprod[t]
        v = abar.sqrt() * eps - (1 - abar).sqrt() * x0
        x_t = add_noise(x0, eps, t, s)
        out = d.step(v, t, x_t)
        assert torch.allclose(out.pred_original_sample, x0, atol=1e-4)


class _Oracle(torch.nn.Module):
    """Returns a fixed tensor, so the loss can be checked by hand."""
    def __init__(self, out):
        super().__init__()
        self.out = out

    def forward(self, x, t, encoder_hidden_states):
        return type("O", (), {"sample": self.out})


def test_denoising_loss_targets_v_or_epsilon():
    s = training_schedule()
    latents, context = torch.randn(3, 4, 8, 8), torch.randn(3, 32, 384)
    zero = _Oracle(torch.zeros(3, 4, 8, 8))
    # with a zero prediction the loss is E[target^2]: eps has variance 1, v = sqrt(abar) eps - sqrt(1-abar) x0 too
    g = torch.Generator().manual_seed(0)
    t = torch.randint(0, 1000, (3,), generator=g)
    eps = torch.randn(latents.shape, generator=g)
    abar = s.alphas_cumprod[t].reshape(3, 1, 1, 1)
    v = abar.sqrt() * eps - (1 - abar).sqrt() * latents
    got_v = denoising_loss(zero, latents, context, s, torch.Generator().manual_seed(0), "v_prediction")
    got_eps = denoising_loss(zero, latents, context, s, torch.Generator().manual_seed(0), "epsilon")
    assert torch.isclose(got_v, (v ** 2).mean()) and torch.isclose(got_eps, (eps ** 2).mean())
    with pytest.raises(ValueError, match="prediction_type"):
        denoising_loss(zero, latents, context, s, None, "sample")


def test_tiny_unet_learns_on_one_batch():
    torch.manual_seed(0)
    unet = make_unet(block_out_channels=(32, 32), attention_head_dim=8)
    s = training_schedule()
    latents, context = torch.randn(4, 4, 8, 8), torch.randn(4, 32, 384)
    opt = torch.optim.AdamW(unet.parameters(), lr=1e-3)
    losses = []
    for step in range(30):
        loss = denoising_loss(unet, latents, context, s, torch.Generator().manual_seed(step % 2))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5


def _script():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "train_unet_shapes.py"
    spec = importlib.util.spec_from_file_location("train_unet_shapes_script", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # importable by name: its worker processes unpickle its functions
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_v3_script_trains_with_pairs_and_grounding_measures_its_dev_set_and_repeats_itself(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    common = ["--scenes", "8", "--captions-per-scene", "1", "--steps", "3", "--batch-size", "4", "--warmup", "1",
              "--threads", "1", "--dev-n", "2", "--cache", str(tmp_path / "cache")]
    script = _script()
    script.prepared_data(script.parser().parse_args(common))               # the encoded data, cached once

    def rebuild(*extra):                                                    # a fresh process each, as a newcomer runs it
        done = subprocess.run([sys.executable, "scripts/train_unet_shapes.py", *common, *extra], cwd=root,
                              env=os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)},
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]

    rebuild("--eval-every", "3", "--out", str(tmp_path / "a"), "--state", str(tmp_path / "a.safetensors"),
            "--snapshot", str(tmp_path / "snap"))
    rebuild("--eval-every", "0", "--out", str(tmp_path / "b"), "--state", str(tmp_path / "b.safetensors"))
    weights = "diffusion_pytorch_model.safetensors"
    # same seed, same bytes; measuring the dev set on the EMA copy does not touch training
    assert (tmp_path / "a" / weights).read_bytes() == (tmp_path / "b" / weights).read_bytes()
    log = json.loads((tmp_path / "a" / "training_log.json").read_text())
    assert log["pairs"] is True and log["token_weight"] > 0 and log["steps"] == 3
    (point,) = log["dev_curve"]
    assert point["step"] == 3 and point["grounding"] > 0 and len(point["rows"]) == 4
    assert json.loads((tmp_path / "snap" / "curve.json").read_text())["curve"] == log["dev_curve"]
    assert (tmp_path / "snap" / weights).exists()


def test_v3_script_refuses_an_odd_batch_with_pairs(monkeypatch):
    script = _script()
    with pytest.raises(SystemExit, match="even"):
        script.main(["--batch-size", "5"])
    # --batch-size is the whole batch: under torchrun --nproc_per_node 2 each process draws half of it
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert script.per_process_batch(script.parser().parse_args(["--batch-size", "64"])) == 32
    with pytest.raises(SystemExit, match="even share"):                         # 2 x 15: a pair would be split
        script.main(["--batch-size", "30"])
    with pytest.raises(SystemExit, match="split evenly"):
        script.main(["--batch-size", "9", "--no-pairs"])
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert script.per_process_batch(script.parser().parse_args(["--batch-size", "30"])) == 30


def test_v3_data_encoded_in_worker_processes_are_the_same():
    """--prep-workers renders and labels in forked processes (a GPU machine's many cores): the same tensors,
    in the same order, as one process."""
    import argparse

    from course_utils.models.vae import load as load_vae
    from course_utils.paths import CHECKPOINTS
    from course_utils.pipelines import course_text_encoder

    script = _script()
    args = argparse.Namespace(seed=0, scenes=12, two_object_fraction=0.5, wording="varied", pairs=True,
                              captions_per_scene=2)
    scenes = script.training_scenes(args)
    caps = script.scene_captions(scenes, args)
    tokenizer, encoder = course_text_encoder("cpu")
    vae = load_vae(CHECKPOINTS / "vae-shapes")
    with torch.no_grad():
        one = [*script.encode_text(scenes, caps, tokenizer, encoder, 2, batch=5),
               *script.encode_images(scenes, vae, batch=5)]
        two = [*script.encode_text(scenes, caps, tokenizer, encoder, 2, batch=5, workers=2),
               *script.encode_images(scenes, vae, batch=5, workers=2)]
    assert [t.shape[0] for t in one] == [24, 24, 12, 12]
    assert all(torch.equal(a, b) for a, b in zip(one, two))
    assert one[1].max() >= 1          # some token names the second object: the labels are not all empty


def test_v3_script_restarts_from_a_committed_snapshot_when_the_state_is_lost(tmp_path):
    """--restart-from: a machine that lost runs/ goes on from the float16 snapshot in git, at its step,
    with a fresh optimiser; it refuses when the run's own state is still there (that one keeps the moments)."""
    import json

    from safetensors.torch import load_file

    from course_utils.train import EMA, _optimizer, resume, warmup_cosine

    script = _script()
    torch.manual_seed(0)
    unet = make_unet(block_out_channels=(32, 32), attention_head_dim=8)
    snap = tmp_path / "in_progress"
    unet.to(torch.float16).save_pretrained(snap, safe_serialization=True)
    curve = [{"step": 4000, "rows": []}, {"step": 6000, "rows": []}]
    (snap / "curve.json").write_text(json.dumps({"settings": {}, "curve": curve, "seconds": 1234.5}))
    state, new_snap = tmp_path / "runs" / "state.safetensors", tmp_path / "runs" / "snapshot"
    args = ["--restart-from", str(snap), "--state", str(state), "--snapshot", str(new_snap)]
    script.main(args)

    tensors = load_file(str(state))
    assert not any(k.startswith("opt.") for k in tensors)                       # a fresh optimiser
    fresh = make_unet(block_out_channels=(32, 32), attention_head_dim=8)
    opt, ema = _optimizer(fresh, "adamw", 5e-4, 0.01, (0.9, 0.999)), EMA(fresh, 0.999)
    sched = warmup_cosine(opt, 500, 32000, 0.0, 22500)
    step, extra = resume(state, fresh, opt, sched, ema)
    assert step == 6000 and extra["seconds"] == 1234.5 and extra["restarted_from"] == str(snap)
    for k, v in unet.state_dict().items():                                      # the snapshot's weights, as float32
        assert torch.equal(fresh.state_dict()[k], v.float()) and torch.equal(ema.shadow[k], v.float())
    assert opt.param_groups[0]["lr"] == pytest.approx(5e-4)                     # the schedule's rate at step 6,000
    assert json.loads((new_snap / "curve.json").read_text())["curve"] == curve   # the dev curve goes on

    with pytest.raises(SystemExit, match="--resume"):                          # the run's own state is there
        script.main(args)
    with pytest.raises(SystemExit, match="not a snapshot"):
        script.main(["--restart-from", str(tmp_path), "--state", str(tmp_path / "other.safetensors")])
