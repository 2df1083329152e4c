import os

import matplotlib
import pytest
import torch

import course_utils.paths as paths
from course_utils import models, pipelines
from course_utils.models.unet_shapes import make_unet
from course_utils.models.vae import make_vae

matplotlib.use("Agg")
# tests/browser/ drives a real Chromium: `make test-browser` runs it (COURSE_BROWSER_TESTS=1), `make test` never does.
collect_ignore = [] if os.environ.get("COURSE_BROWSER_TESTS") else ["browser"]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(int(os.environ.get("COURSE_TEST_THREADS", torch.get_num_threads())))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


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


@pytest.fixture
def tiny_rbm():
    """A factory of small RBMs with random weights and biases (seeded), for the RBM's and lesson 01's tests."""
    from course_utils.models.rbm import RBM

    def make(seed=0, V=4, H=3):
        g = torch.Generator().manual_seed(seed)
        rbm = RBM(V, H, init_std=1.0, generator=g)
        rbm.intercept_hidden_.copy_(torch.randn(H, generator=g))
        rbm.intercept_visible_.copy_(torch.randn(V, generator=g))
        return rbm
    return make
