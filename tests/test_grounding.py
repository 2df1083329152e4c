import numpy as np
import pytest
import torch

from course_utils import data, grounding
from course_utils import shapes as sw
from course_utils.models.unet_shapes import make_unet
from course_utils.pipelines import course_text_encoder
from course_utils.text import MAX_TOKENS


@pytest.fixture(scope="module")
def tokenizer():
    tok, _ = course_text_encoder("cpu")          # a copy: text's cached tokenizer stays as lesson 04 has it
    return tok


def _two_object_scene():
    return sw.Scene("black", [sw.ShapeObject("red", "circle", "small", "top left"),
                              sw.ShapeObject("blue", "square", "small", "bottom right")])


def test_token_objects_mark_each_objects_colour_and_shape_words(tokenizer):
    scene = _two_object_scene()
    caption = "a small red circle in the top left and a small blue box in the bottom right"
    objects = grounding.token_objects(tokenizer, [caption], [scene])[0]
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(caption).input_ids)
    named = {tokens[i]: int(objects[i]) for i in range(len(tokens)) if objects[i] != grounding.NO_OBJECT}
    assert named == {"red": 0, "circle": 0, "blue": 1, "box": 1}
    assert objects.shape == (MAX_TOKENS,) and objects[0] == grounding.NO_OBJECT   # [CLS] names nothing


def test_token_objects_can_ground_size_and_place_words(tokenizer):
    scene = _two_object_scene()
    caption = "a small red circle in the top left and a small blue box in the bottom right"
    objects = grounding.token_objects(tokenizer, [caption], [scene], ("colour", "shape", "size", "position"))[0]
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(caption).input_ids)
    named = [(tokens[i], int(objects[i])) for i in range(len(tokens)) if objects[i] != grounding.NO_OBJECT]
    assert named == [("small", 0), ("red", 0), ("circle", 0), ("top", 0), ("left", 0),
                     ("small", 1), ("blue", 1), ("box", 1), ("bottom", 1), ("right", 1)]


def test_token_objects_follow_the_scenes_order_when_a_colour_repeats(tokenizer):
    scene = sw.Scene("white", [sw.ShapeObject("red", "star", "small", "top"),
                               sw.ShapeObject("red", "triangle", "small", "bottom")])
    caption = "red star at the top, red triangle at the bottom"
    objects = grounding.token_objects(tokenizer, [caption], [scene])[0]
    assert objects[1:5].tolist() == [0, 0, -1, -1] and objects[7:9].tolist() == [1, 1]


def _maps_on(masks, objects, swap=False):
    """Attention maps (B, 64, L) whose grounded tokens look exactly at their object's (or the other's) mask."""
    B, L = objects.shape
    maps = torch.full((B, 64, L), 1.0 / L)
    for b in range(B):
        for k in range(L):
            o = int(objects[b, k])
            if o >= 0:
                maps[b, :, k] = masks[b, 1 - o if swap else o].flatten()
    return maps


def test_grounding_loss_is_zero_on_the_masks_and_positive_when_swapped():
    scene = _two_object_scene()
    masks = torch.from_numpy((sw.render_masks(scene, 8) > 0.5).astype(np.float32))[None]   # (1, 2, 8, 8)
    objects = torch.full((1, MAX_TOKENS), -1)
    objects[0, 2:4], objects[0, 9:11] = 0, 1
    on = grounding.grounding_loss([_maps_on(masks, objects)], objects, masks, 1.0, 0.1)
    swapped = grounding.grounding_loss([_maps_on(masks, objects, swap=True)], objects, masks, 1.0, 0.1)
    assert float(on) < 1e-4
    assert float(swapped) > 0.9          # all of each word's attention on the other object: token loss 1
    none = torch.full_like(objects, -1)
    assert float(grounding.grounding_loss([_maps_on(masks, objects)], none, masks)) == 0.0


def test_grounding_loss_pools_the_masks_to_each_layers_grid():
    masks = torch.zeros(1, 2, 8, 8)
    masks[0, 0, :4, :4] = masks[0, 1, 4:, 4:] = 1                          # two 4x4 quarters of the 8x8 grid
    objects = torch.full((1, MAX_TOKENS), -1)
    objects[0, 2] = 0
    maps4 = torch.full((1, 16, MAX_TOKENS), 1.0 / MAX_TOKENS)                 # a 4x4 layer: the quarters are 2x2
    on, off = torch.zeros(4, 4), torch.zeros(4, 4)
    on[:2, :2], off[2:, 2:] = 0.25, 0.25
    maps4[0, :, 2] = on.flatten()
    assert float(grounding.grounding_loss([maps4], objects, masks)) < 1e-6
    maps4[0, :, 2] = off.flatten()
    assert float(grounding.grounding_loss([maps4], objects, masks)) == pytest.approx(1.0)


def test_capturing_cross_attention_records_with_gradients_and_restores_the_processors():
    torch.manual_seed(0)
    unet = make_unet()
    before = {n: type(p) for n, p in unet.attn_processors.items()}
    x, t, ctx = torch.randn(2, 4, 8, 8), torch.tensor([10, 900]), torch.randn(2, MAX_TOKENS, 384)
    plain = unet(x, t, encoder_hidden_states=ctx).sample
    with grounding.capturing_cross_attention(unet) as maps:
        captured = unet(x, t, encoder_hidden_states=ctx).sample
    assert torch.allclose(plain, captured, atol=1e-5)                    # the output is unchanged
    assert [m.shape[1] for m in maps] == [16, 16, 16, 64, 64]          # mid 4x4, up 4x4 (2 layers), up 8x8 (2)
    assert all(torch.allclose(m.sum(-1), torch.ones(())) for m in maps)
    assert all(m.requires_grad for m in maps)
    assert {n: type(p) for n, p in unet.attn_processors.items()} == before


def test_capturing_cross_attention_refuses_a_unet_without_cross_attention():
    from diffusers import UNet2DModel

    unet = UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 8), norm_num_groups=4,
                       layers_per_block=1, down_block_types=("DownBlock2D", "DownBlock2D"),
                       up_block_types=("UpBlock2D", "UpBlock2D"))
    with pytest.raises(ValueError, match="cross-attention"):
        with grounding.capturing_cross_attention(unet):
            pass


def test_one_training_step_with_the_grounding_loss_moves_attention_toward_the_masks(tokenizer):
    torch.manual_seed(0)
    unet = make_unet()
    scenes = [data.shapes_scene(3, i, 1.0, "varied") for i in range(8)]
    objects = grounding.token_objects(tokenizer, [s.caption for s in scenes], scenes)
    masks = torch.from_numpy(np.stack([sw.render_masks(s, 8) for s in scenes]))
    x, t, ctx = torch.randn(8, 4, 8, 8), torch.full((8,), 500), torch.randn(8, MAX_TOKENS, 384)
    opt = torch.optim.SGD(unet.parameters(), lr=0.5)

    def loss():
        with grounding.capturing_cross_attention(unet) as maps:
            unet(x, t, encoder_hidden_states=ctx)
        return grounding.grounding_loss(maps, objects, masks)

    first = loss()
    first.backward()
    opt.step()
    assert float(loss()) < float(first)


def test_prompt_objects_group_colour_and_shape_words_by_object_from_the_words_alone(tokenizer):
    rows = grounding.prompt_objects(tokenizer, ["a red disc and a blue star", "a tiny green box up top", "two shapes"])
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("a red disc and a blue star").input_ids)
    named = {t: int(o) for t, o in zip(tokens, rows[0]) if o != grounding.NO_OBJECT}
    assert named == {"red": 0, "disc": 0, "blue": 1, "star": 1}
    assert set(rows[1].tolist()) == {grounding.NO_OBJECT, 0}                # one object: only object 0
    assert (rows[2] == grounding.NO_OBJECT).all()                            # no colour or shape word


def test_attention_overlap_is_0_apart_1_together_and_0_for_one_object():
    objects = torch.tensor([[-1, 0, 0, 1, 1], [-1, 0, 0, 1, 1], [-1, 0, 0, -1, -1]])
    apart = torch.zeros(3, 4, 5)
    apart[:, 0, 1:3] = 1.0                                                   # object 0's words look at cell 0
    apart[:, 3, 3:5] = 1.0                                                   # object 1's at cell 3
    together = apart.clone()
    together[1, 3, 3:5], together[1, 0, 3:5] = 0.0, 1.0                      # prompt 1: both look at cell 0
    assert torch.allclose(grounding.attention_overlap([apart], objects), torch.zeros(3))
    got = grounding.attention_overlap([together], objects)
    assert torch.allclose(got, torch.tensor([0.0, 1.0, 0.0]))
