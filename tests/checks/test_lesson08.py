"""Lesson 08's checkers (course_utils/checks/lesson08.py)."""

import torch

from course_utils import checks, finetune
from course_utils.models.unet_shapes import make_unet


def test_lora_forward_checker_accepts_the_update_and_names_the_usual_slips():
    assert checks.check_lora_forward(lambda x, W, A, B, s: x @ W.T + s * (x @ A.T) @ B.T)
    assert not checks.check_lora_forward(lambda x, W, A, B, s: x @ W.T + (x @ A.T) @ B.T)
    assert not checks.check_lora_forward(lambda x, W, A, B, s: x @ W.T)
    assert not checks.check_lora_forward(None)


def test_lora_parameter_count_is_what_peft_adds():
    unet = make_unet(block_out_channels=(32, 32))
    before = sum(p.numel() for p in unet.parameters())
    finetune.add_lora(unet, rank=4)
    added = sum(p.numel() for p in unet.parameters()) - before
    assert added == finetune.lora_parameters(unet) > 0
    assert checks.check_lora_parameters(added, make_unet(block_out_channels=(32, 32)), 4)
    assert not checks.check_lora_parameters(added + 1, make_unet(block_out_channels=(32, 32)), 4)


def test_invert_step_checker_matches_the_editing_module():
    from course_utils import editing

    def mine(v, abar_t, abar_next, x):
        table = torch.tensor([abar_t, abar_next])
        return editing.invert_step(v, 0, 1, x, table)

    assert checks.check_invert_step(mine)
    assert not checks.check_invert_step(lambda v, a, b, x: x)
