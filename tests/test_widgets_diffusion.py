"""The DDIM explorer of lesson 03, driven through its methods (no browser)."""

import pytest
import torch

from course_utils.diffusion import ddim_sample
from course_utils.models.ddpm import make_unet
from course_utils.noise import make_schedule
from course_utils.widgets import DDIMExplorer, ddim_explorer


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    unet = make_unet(block_out_channels=(8, 16, 16), norm_num_groups=4, sample_size=8)
    for p in unet.parameters():
        torch.nn.init.normal_(p, std=0.05)
    return unet.eval()


def test_ddim_explorer_shows_the_samplers_digits_and_caches_each_setting(unet):
    schedule = make_schedule("linear")
    w = ddim_explorer(unet, schedule, n=8, seed=3, prefetch=False)
    assert isinstance(w, DDIMExplorer) and list(w.cache) == [(10, 0.0)]
    images, report = w.result(10, 0.0)
    want = (ddim_sample(unet, schedule, 8, 10, generator=torch.Generator().manual_seed(3)).clamp(-1, 1) + 1) / 2
    assert torch.equal(images, want) and report.n == 8
    assert "10 steps, η = 0.0" in w.label.value and f"{report.frechet:.1f}" in w.label.value
    w.steps.value, w.eta.value = 2, 1.0
    assert set(w.cache) == {(10, 0.0), (2, 0.0), (2, 1.0)} and "2 steps, η = 1.0" in w.label.value
    assert not torch.equal(w.result(2, 1.0)[0], w.result(2, 0.0)[0])   # eta = 1 draws fresh noise
    assert w.result(2, 1.0)[0] is w.cache[(2, 1.0)][0]                  # the second look is the cached one


def test_ddim_explorer_computes_the_neighbouring_settings_in_the_background(unet):
    schedule = make_schedule("linear")
    w = ddim_explorer(unet, schedule, n=8, seed=3)
    w.wait(60)
    assert set(w.cache) == {(10, 0.0), (20, 0.0), (5, 0.0), (10, 0.5)} and w.neighbours() == []
    alone = ddim_explorer(unet, schedule, n=8, seed=3, prefetch=False)
    assert torch.equal(w.cache[(20, 0.0)][0], alone.result(20, 0.0)[0])   # the same pictures as computed on a move
    w.steps.value = 100                                                  # the last step: only fewer steps and eta
    w.wait(60)
    assert {(50, 0.0), (100, 0.5)} <= set(w.cache) and (100, 0.0) in w.cache


def test_ddim_explorer_says_computing_and_stops_background_work_that_a_move_made_pointless(unet):
    w = ddim_explorer(unet, make_schedule("linear"), n=8, seed=3, prefetch=False)
    said = []
    w.label.observe(lambda change: said.append(change["new"]), "value")
    w.steps.value = 50                                                   # not computed yet: "computing" first
    assert said[0].startswith("50 steps, η = 0.0: computing 8 digits") and said[-1].startswith("50 steps, η = 0.0: 50")
    w.steps.value = 10                                                   # computed: straight to the result
    assert not any("computing" in text for text in said[2:])
    assert w.result(100, 0.0, stop=lambda: True) is None and (100, 0.0) not in w.cache   # stopped: nothing kept
    assert w.result(100, 0.0, stop=lambda: False) is w.cache[(100, 0.0)]


def test_ddim_explorer_refuses_a_batch_of_one(unet):
    with pytest.raises(ValueError, match="n must be"):
        DDIMExplorer(unet, make_schedule("linear"), n=1)
