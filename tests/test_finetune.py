import pytest
import torch

from course_utils import finetune, pipelines
from course_utils.models.vae import decode, encode


def test_teal_examples_are_teal_and_only_asked_colours():
    images, scenes, captions = finetune.teal_examples(12, seed=0, other_share=0.5)
    assert images.shape == (12, 3, 64, 64) and len(scenes) == len(captions) == 12
    colours = [s.objects[0].colour for s in scenes]
    assert "teal" in colours and any(c != "teal" for c in colours)
    assert all(("teal" in cap.lower()) == (c == "teal") for cap, c in zip(captions, colours))
    assert finetune.read_colours(images[[colours.index("teal")]]) == ["teal"]
    with pytest.raises(ValueError, match="colour"):
        finetune.teal_examples(2, colour="mauve")


def test_latents_for_brings_the_decoder_closer_to_the_picture():
    from course_utils.models import load_pretrained

    vae = load_pretrained("vae-shapes")
    images = finetune.teal_examples(2, seed=3)[0]
    before = (decode(vae, encode(vae, images)) - images).pow(2).mean()
    after = (decode(vae, finetune.latents_for(vae, images, steps=10) / vae.config.scaling_factor) - images).pow(2).mean()
    assert after < before


def _tiny_pipe():
    pipe = finetune.fresh_pipeline()
    assert pipe.unet is not pipelines.load_text_to_image().unet          # a copy: the cached pipeline stays as it was
    return pipe


def test_textual_inversion_trains_only_the_new_word_and_loads_back(tiny_course_checkpoints, tmp_path):
    pipe = _tiny_pipe()
    unet_before = {k: v.clone() for k, v in pipe.unet.state_dict().items()}
    table_before = pipe.text_encoder.get_input_embeddings().weight.detach().clone()
    latents = torch.randn(4, 4, 8, 8)
    vector, losses = finetune.learn_word(pipe, latents, ["a <teal> circle"] * 4, steps=3, batch_size=2)
    assert vector.shape == (384,) and len(losses) == 3
    assert not torch.allclose(vector, table_before[pipe.tokenizer.convert_tokens_to_ids("green")])   # it moved
    assert all(torch.equal(v, pipe.unet.state_dict()[k]) for k, v in unet_before.items())          # frozen
    assert torch.equal(pipe.text_encoder.get_input_embeddings().weight, table_before)
    path = tmp_path / "teal.safetensors"
    finetune.save_word(vector, "<teal>", path)
    finetune.load_word(pipe, path, "<teal>")
    row = pipe.text_encoder.get_input_embeddings().weight[pipe.tokenizer.convert_tokens_to_ids("<teal>")]
    assert torch.allclose(row, vector)
    with pytest.raises(ValueError, match="already a word"):
        finetune.learn_word(pipe, latents, ["a <teal> circle"] * 4, steps=1)
    with pytest.raises(ValueError, match="must contain"):
        finetune.learn_word(_tiny_pipe(), latents, ["a circle"] * 4, steps=1)


def test_lora_round_trip_and_scale_zero_is_the_base_model(tiny_course_checkpoints, tmp_path):
    pipe = _tiny_pipe()
    base = pipelines.load_text_to_image()
    finetune.add_lora(pipe.unet, rank=4)
    log = finetune.train_lora(pipe, torch.randn(4, 4, 8, 8), ["a teal star"] * 4, steps=2, batch_size=2,
                              out=tmp_path / "adapter")
    assert len(log["losses"]) == 2 and (tmp_path / "adapter" / "pytorch_lora_weights.safetensors").exists()
    with torch.no_grad():                                  # make the adapter's effect visible (B starts at 0)
        for name, p in pipe.unet.named_parameters():
            if "lora_B" in name:
                p.add_(0.5)
    finetune.save_lora(pipe.unet, tmp_path / "big")
    finetune.add_decoder_lora(pipe.vae, rank=2)
    with torch.no_grad():
        for name, p in pipe.vae.decoder.named_parameters():
            if "lora_B" in name:
                p.add_(0.05)
    finetune.save_decoder_lora(pipe.vae, tmp_path / "big")
    loaded = _tiny_pipe()
    finetune.load_lora(loaded, tmp_path / "big")                         # the U-Net's and the decoder's

    def image(p, **kw):
        return p("a teal star", num_inference_steps=2, generator=torch.Generator().manual_seed(0), output_type="pt",
                 guidance_scale=2.0, **kw).images

    assert torch.equal(image(loaded, **finetune.lora_scale(loaded, 0.0)), image(base))   # both adapters off
    assert not torch.allclose(image(loaded, **finetune.lora_scale(loaded, 1.0)), image(base), atol=1e-3)
    assert torch.allclose(image(loaded, **finetune.lora_scale(loaded, 1.0)), image(pipe), atol=1e-5)  # saved = trained
    finetune.decoder_adapter(loaded.vae, False)
    loaded.unload_lora_weights()
    assert torch.equal(image(loaded), image(base))
    with pytest.raises(ValueError, match="no adapter"):
        finetune.decoder_adapter(base.vae, True)


def test_decoder_adapter_trains_only_its_own_numbers(tiny_course_checkpoints):
    pipe = _tiny_pipe()
    before = {k: v.clone() for k, v in pipe.vae.state_dict().items()}
    finetune.add_decoder_lora(pipe.vae, rank=2)
    log = finetune.train_decoder_lora(pipe.vae, finetune.teal_examples(4, seed=0)[0], steps=2, batch_size=2)
    assert len(log["losses"]) == 2
    after = pipe.vae.state_dict()
    assert all(torch.equal(v, after[k.replace(".weight", ".base_layer.weight").replace(".bias", ".base_layer.bias")]
                           if k not in after else after[k]) for k, v in before.items())
