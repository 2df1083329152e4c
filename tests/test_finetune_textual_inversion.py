"""course_utils/finetune/textual_inversion.py: learning one new word."""

import pytest
import torch

from course_utils.finetune.teal import fresh_pipeline
from course_utils.finetune.textual_inversion import learn_word, load_word, save_word


def test_textual_inversion_trains_only_the_new_word_and_loads_back(tiny_course_checkpoints, tmp_path):
    pipe = fresh_pipeline()
    unet_before = {k: v.clone() for k, v in pipe.unet.state_dict().items()}
    table_before = pipe.text_encoder.get_input_embeddings().weight.detach().clone()
    latents = torch.randn(4, 4, 8, 8)
    vector, losses = learn_word(pipe, latents, ["a <teal> circle"] * 4, steps=3, batch_size=2)
    assert vector.shape == (384,) and len(losses) == 3
    assert not torch.allclose(vector, table_before[pipe.tokenizer.convert_tokens_to_ids("green")])   # it moved
    assert all(torch.equal(v, pipe.unet.state_dict()[k]) for k, v in unet_before.items())          # frozen
    assert torch.equal(pipe.text_encoder.get_input_embeddings().weight, table_before)
    path = tmp_path / "teal.safetensors"
    save_word(vector, "<teal>", path)
    load_word(pipe, path, "<teal>")
    row = pipe.text_encoder.get_input_embeddings().weight[pipe.tokenizer.convert_tokens_to_ids("<teal>")]
    assert torch.allclose(row, vector)
    with pytest.raises(ValueError, match="already a word"):
        learn_word(pipe, latents, ["a <teal> circle"] * 4, steps=1)
    with pytest.raises(ValueError, match="must contain"):
        learn_word(fresh_pipeline(), latents, ["a circle"] * 4, steps=1)
