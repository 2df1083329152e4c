"""course_utils/attention.py: per-word cross-attention maps, recorded with a diffusers attention
processor, on a tiny untrained pipeline (the maths does not need a trained model)."""
import pytest
import torch

from course_utils import adherence, attention, pipelines, shapes_reader

PROMPT = "a small red hexagon in the top left"          # "hexagon" is three word-pieces: he ##xa ##gon


@pytest.fixture()
def pipe(tiny_course_checkpoints):
    return pipelines.load_text_to_image(device="cpu")


def test_words_merge_word_pieces_and_skip_special_tokens(pipe):
    words, groups = attention.prompt_words(pipe.tokenizer, PROMPT)
    assert words == ["a", "small", "red", "hexagon", "in", "the", "top", "left"]
    assert groups[3] == [4, 5, 6] and groups[0] == [1]             # position 0 is [CLS]; padding is in no group


def test_maps_sum_to_one_over_words_at_every_pixel(pipe):
    m = attention.cross_attention_maps(pipe, PROMPT, num_inference_steps=3, guidance_scale=2.0)
    assert m.maps.shape == (3, 8, 64, 64) and m.image.shape == (3, 64, 64)
    assert torch.allclose(m.maps.sum(1), torch.ones(3, 64, 64), atol=1e-5)
    assert (m.maps >= 0).all()
    assert m.for_word("hexagon").shape == (64, 64)
    assert torch.allclose(m.for_word("red", step=-1), m.maps[2, 2])
    assert torch.allclose(m.for_word(2), m.maps[:, 2].mean(0))
    assert ((0 < m.word_share) & (m.word_share < 1)).all()          # [CLS], [SEP] and padding took the rest


def test_same_image_and_original_processors_afterwards(pipe):
    before = dict(pipe.unet.attn_processors)
    m = attention.cross_attention_maps(pipe, PROMPT, seed=3, num_inference_steps=3, guidance_scale=2.0)
    assert all(pipe.unet.attn_processors[name] is p for name, p in before.items())
    plain = adherence.generate(pipe, [PROMPT], seed=3, num_inference_steps=3, guidance_scale=2.0)[0]
    assert (m.image - plain).abs().max() < 1e-5
    other = adherence.generate(pipe, [PROMPT], seed=4, num_inference_steps=3, guidance_scale=2.0)[0]
    assert (m.image - other).abs().max() > 1e-3                    # negative control: the comparison can fail


def test_many_prompts_in_one_run_give_each_prompts_own_maps_and_image(pipe):
    prompts = [PROMPT, "a big blue star at the bottom right", "green box"]
    together = attention.cross_attention_maps_many(pipe, prompts, seed=3, num_inference_steps=3, guidance_scale=2.0)
    for prompt, m in zip(prompts, together):
        alone = attention.cross_attention_maps(pipe, prompt, seed=3, num_inference_steps=3, guidance_scale=2.0)
        assert m.words == alone.words and m.maps.shape == alone.maps.shape
        assert (m.maps - alone.maps).abs().max() < 1e-4 and (m.image - alone.image).abs().max() < 1e-4
    assert (together[0].maps[:, 1] - together[1].maps[:, 1]).abs().max() > 1e-3   # negative control: not one map
    with pytest.raises(ValueError, match="'' has no words"):
        attention.cross_attention_maps_many(pipe, ["a red circle", ""], num_inference_steps=1)


def test_processors_restored_after_an_error(pipe):
    before = dict(pipe.unet.attn_processors)
    with pytest.raises(RuntimeError, match="stop"):
        with attention.recording_cross_attention(pipe.unet):
            assert all(type(p).__name__ == "CrossAttentionRecorder"
                       for n, p in pipe.unet.attn_processors.items() if n.endswith("attn2.processor"))
            assert all(p is before[n] for n, p in pipe.unet.attn_processors.items() if n.endswith("attn1.processor"))
            raise RuntimeError("stop")
    assert all(pipe.unet.attn_processors[name] is p for name, p in before.items())


def test_keeps_the_prompts_half_of_the_guided_batch(pipe):
    # the first step starts from the same noise with or without guidance, so the prompt's maps agree
    guided = attention.cross_attention_maps(pipe, PROMPT, num_inference_steps=2, guidance_scale=3.0)
    plain = attention.cross_attention_maps(pipe, PROMPT, num_inference_steps=2, guidance_scale=1.0)
    assert torch.allclose(guided.maps[0], plain.maps[0], atol=1e-5)
    # negative control: averaging in the empty prompt's half (guided=False on a guided batch) differs
    run = dict(num_inference_steps=1, generator=torch.Generator().manual_seed(0))
    with attention.recording_cross_attention(pipe.unet, guided=False) as alone:
        pipe(PROMPT, guidance_scale=1.0, **run)
    with attention.recording_cross_attention(pipe.unet, guided=False) as mixed:
        pipe(PROMPT, guidance_scale=3.0, **run | dict(generator=torch.Generator().manual_seed(0)))
    assert alone[0].shape == (pipe.tokenizer.model_max_length, 64, 64)
    assert not torch.allclose(mixed[0], alone[0], atol=1e-3)


def test_clear_errors(pipe):
    m = attention.cross_attention_maps(pipe, "a red circle and a blue square", num_inference_steps=2, guidance_scale=2.0)
    with pytest.raises(ValueError, match="'a' occurs 2 times"):
        m.for_word("a")
    with pytest.raises(ValueError, match="not a word of the prompt"):
        m.for_word("green")
    with pytest.raises(ValueError, match="step"):
        m.for_word("red", step=2)
    with pytest.raises(ValueError, match="no words"):
        attention.cross_attention_maps(pipe, "", num_inference_steps=1)
    with pytest.raises(TypeError, match="sets generator itself"):
        attention.cross_attention_maps(pipe, "a red circle", generator=torch.Generator())
    with pytest.raises(ValueError, match="no cross-attention layers"):
        with attention.recording_cross_attention(torch.nn.Linear(2, 2)):
            pass


def test_colour_word_shares_reads_own_and_other_square():
    from course_utils import data
    from course_utils.shapes import render_scene

    scene = next(s for s in (data.shapes_scene(2024, i, 1.0, "heldout") for i in range(50))
                 if s.objects[0].colour != s.objects[1].colour)
    image = torch.from_numpy(render_scene(scene, 64)).permute(2, 0, 1).float() / 255
    a, b = scene.objects
    words = ["x", a.colour, b.colour]
    raw = torch.full((2, 3, 64, 64), 0.1)
    t, l, bo, r = attention.object_box(a)
    raw[:, 1:, t:bo, l:r] = 5.0                        # both colour words look at the first object only
    m = attention.CrossAttentionMaps(scene.caption, image, words, raw / raw.sum(1, keepdim=True), [0, 1],
                                     torch.ones(2))
    first, second = attention.colour_word_shares(m, scene)
    assert first["colour"] == a.colour and first["own"] > 1.4 * first["other"]
    assert second["own"] < second["other"]                       # the second looks away from its object
    assert first["drawn"] == a.colour and second["drawn"] == b.colour   # a clean render is read back right
    with pytest.raises(ValueError, match="two objects"):
        attention.colour_word_shares(m, data.shapes_scene(2024, 0, 0.0, "heldout"))


@pytest.mark.slow
def test_shipped_model_looks_at_the_circle_with_the_word_circle():
    # lesson 06's reading of the maps, on the shipped checkpoints (the same call, the same numbers on a CPU)
    pipe = pipelines.load_text_to_image(device="cpu")
    m = attention.cross_attention_maps(pipe, "a small red circle in the top left on a black background",
                                       guidance_scale=2.0)
    _, found = shapes_reader.read_scene(m.image, min_pixels=35)
    assert found and found[0].colour == "red" and found[0].shape == "circle"
    top, left, bottom, right = found[0].bbox
    on = torch.zeros(64, 64, dtype=torch.bool)
    on[top:bottom, left:right] = True
    ratio = {w: float(m.for_word(w)[on].mean() / m.for_word(w)[~on].mean()) for w in ("circle", "red", "black")}
    # v3 (trained with the grounding loss): the colour and the shape word both sit on the circle,
    # the background word away from it (v2 had "red" spread thin, less concentrated than "circle")
    assert ratio["circle"] > 1.5 and ratio["red"] > 1.5 and ratio["black"] < 1
