import pytest
import torch

import course_utils.paths as paths
from course_utils import models, pipelines
from course_utils.models.unet_shapes import encode_prompts, make_unet
from course_utils.models.vae import make_vae


@pytest.fixture()
def tiny_course_checkpoints(tmp_path, monkeypatch):
    """A tiny vae-shapes and unet-shapes in a temporary checkpoint folder (untrained)."""
    torch.manual_seed(0)
    make_vae(block_out_channels=(8, 8, 8, 8), norm_num_groups=4).save_pretrained(tmp_path / "vae-shapes")
    make_unet(block_out_channels=(32, 32), attention_head_dim=8).save_pretrained(tmp_path / "unet-shapes")
    monkeypatch.setattr(paths, "CHECKPOINTS", tmp_path)
    monkeypatch.setattr(models, "_CACHE", {})
    monkeypatch.setattr(pipelines, "_CACHE", {})
    return tmp_path


def test_course_pipeline_assembles_and_encodes_like_training(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    assert type(pipe).__name__ == "StableDiffusionPipeline" and pipe.safety_checker is None
    prompts = ["a small red circle in the top left", ""]
    ours = encode_prompts(pipe.tokenizer, pipe.text_encoder, prompts)
    theirs, _ = pipe.encode_prompt(prompts, "cpu", 1, False)
    assert ours.shape == (2, 32, 384) and torch.allclose(ours, theirs)
    out = pipe("a red circle", num_inference_steps=2, guidance_scale=3.0, height=64, width=64,
               generator=torch.Generator().manual_seed(0), output_type="pt")
    assert out.images.shape == (1, 3, 64, 64)


def test_unreachable_hub_model_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match="model_id=None"):
        pipelines.load_text_to_image("someone/not-a-cached-model", device="cpu")
