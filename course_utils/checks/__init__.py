"""Exercise checkers: friendly, specific feedback, never a bare assert, never a crash.

One module per lesson; what they share (the placeholder test, the kind report of anything that
goes wrong, turning NumPy arrays, lists and Python numbers into tensors) is in `base`. Each
checker prints what is right or wrong and returns True/False, so an exercise cell left as
written ("YOUR CODE HERE", answer = None) keeps the notebook running."""

from .base import compare, not_answered
from .lesson00 import check_compression_ratio, check_fool_the_judge, check_timeline_order
from .lesson01 import check_cd1_update, check_free_energy, check_gibbs_step, check_probability_ratio
from .lesson02 import check_discriminator_loss, check_gradient_ratio, check_mode_collapse
from .lesson03 import check_add_noise, check_ddim_step, check_half_signal, check_last_step
from .lesson04 import (
    check_attention_weights,
    check_clip_loss,
    check_closer_than_crimson,
    check_mean_pool,
)
from .lesson05 import (
    check_edge_guess,
    check_kl,
    check_reparameterize,
    check_scaling_factor,
    check_sd_compression,
    check_sd_kl_weight,
)
from .lesson06 import (
    check_guidance,
    check_img2img_steps,
    check_negative_prompt_at_w1,
    check_unet_calls,
)
from .lesson07 import (
    check_consistency_target,
    check_flow_target,
    check_flow_wins,
    check_one_step_image,
)
from .lesson08 import check_invert_step, check_lora_forward, check_lora_parameters

__all__ = [
    "check_add_noise",
    "check_attention_weights",
    "check_cd1_update",
    "check_clip_loss",
    "check_closer_than_crimson",
    "check_consistency_target",
    "check_compression_ratio",
    "check_discriminator_loss",
    "check_edge_guess",
    "check_flow_target",
    "check_fool_the_judge",
    "check_flow_wins",
    "check_one_step_image",
    "check_free_energy",
    "check_gibbs_step",
    "check_gradient_ratio",
    "check_negative_prompt_at_w1",
    "check_guidance",
    "check_half_signal",
    "check_ddim_step",
    "check_img2img_steps",
    "check_kl",
    "check_invert_step",
    "check_last_step",
    "check_lora_forward",
    "check_lora_parameters",
    "check_mean_pool",
    "check_mode_collapse",
    "check_probability_ratio",
    "check_reparameterize",
    "check_scaling_factor",
    "check_sd_compression",
    "check_sd_kl_weight",
    "check_timeline_order",
    "check_unet_calls",
    "compare",
    "not_answered",
]
