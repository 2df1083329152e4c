import pytest
import torch
from diffusers import DDIMInverseScheduler, DDIMScheduler

from course_utils import data, editing, pipelines, shapes_reader
from course_utils.models.unet_shapes import SCHEDULER_CONFIG


@pytest.mark.parametrize("prediction_type", ["v_prediction", "epsilon"])
def test_invert_step_is_diffusers_inverse_ddim_step(prediction_type):
    inv = DDIMInverseScheduler.from_config(DDIMScheduler(**SCHEDULER_CONFIG | {"prediction_type": prediction_type}).config)
    inv.set_timesteps(10)
    g = torch.Generator().manual_seed(0)
    sample, out = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    t = -1
    for t_next in inv.timesteps.tolist()[:-1]:       # the last (abar = 0) is checked below
        theirs = inv.step(out, t_next, sample).prev_sample
        mine = editing.invert_step(out, t, t_next, sample, inv.alphas_cumprod, prediction_type)
        assert torch.allclose(mine, theirs, atol=1e-5)
        wrong = editing.invert_step(out, t_next, t_next, sample, inv.alphas_cumprod, prediction_type)
        assert not torch.allclose(wrong, theirs, atol=1e-3)         # the comparison can fail
        t = t_next


def test_invert_step_rejects_unknown_prediction_type():
    with pytest.raises(ValueError, match="prediction_type"):
        editing.invert_step(torch.zeros(1, 4, 8, 8), -1, 39, torch.zeros(1, 4, 8, 8), torch.linspace(0.99, 0.01, 1000), "sample")


@pytest.mark.slow
def test_inversion_then_regeneration_gives_the_picture_back():
    pipe = pipelines.load_text_to_image(device="cpu")
    batch = data.shapes_world(2, seed=2024, two_object_fraction=0.0)
    for image, caption in zip(batch.images, batch.captions):
        inv = editing.ddim_invert(pipe, image, caption, num_inference_steps=25)
        assert inv.noise.shape == (1, 4, 8, 8) and len(inv.trajectory) == 26 and inv.timesteps[-1] == 999
        back = editing.regenerate(pipe, inv.noise, caption)
        assert (back - image).abs().mean() < 0.03
        other = editing.regenerate(pipe, torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(5)), caption)
        assert (other - image).abs().mean() > (back - image).abs().mean()  # random noise does not give it back


def test_region_mask_covers_the_named_position():
    m = editing.region_mask("top left")
    assert m.shape == (64, 64) and m[16, 16] == 1 and m[48, 48] == 0 and m.sum() == 32 * 32
    with pytest.raises(ValueError, match="position"):
        editing.region_mask("upper leftish")


@pytest.mark.slow
def test_inpainting_keeps_the_outside_and_changes_the_inside():
    from course_utils import shapes

    pipe = pipelines.load_text_to_image(device="cpu")
    batch = data.shapes_world(1, seed=2024, two_object_fraction=0.0)
    image, old = batch.images[0], batch.scenes[0].objects[0]
    far = max(shapes.POSITIONS, key=lambda p: (shapes.POSITIONS[p][0] - old.cx) ** 2 + (shapes.POSITIONS[p][1] - old.cy) ** 2)
    mask = editing.region_mask(far, side=0.4)
    outside, inside = mask == 0, mask == 1
    prompt = f"a small blue star {editing.far_words(far)}, {batch.scenes[0].background} background"
    # 1. the pipeline alone (no paste-back): its latent blending keeps the outside, up to the VAE's error
    drawn = editing.inpaint(pipe, image, mask, prompt, seed=1, keep_outside=False)
    assert 0.001 < (drawn - image)[:, outside].abs().mean() < 0.02  # 0.008; 0.04 with the mask inverted
    assert (drawn - image)[:, inside].abs().mean() > 0.05           # 0.09: something new is drawn there
    # 2. the paste-back puts the original pixels outside and leaves the pipeline's inside as drawn
    out = editing.inpaint(pipe, image, mask, prompt, seed=1)
    assert out.shape == (3, 64, 64)
    assert torch.equal(out[:, outside], image[:, outside]) and torch.equal(out[:, inside], drawn[:, inside])
    # 3. read back: the old object is still there and a new one stands where the mask is
    found = shapes_reader.read_scene(out)[1]
    assert (old.colour, old.shape, old.position) in [(o.colour, o.shape, o.position) for o in found]
    assert any(o.position == far and o.shape == "star" for o in found)   # the asked shape, where the mask is; its colour
    # reads blue or, on unet-shapes v4 for this seed, the neighbouring purple (lesson 08 measures colour and shape on 24)
    with pytest.raises(ValueError, match="mask"):
        editing.inpaint(pipe, image, mask[:32], "a red circle")


def test_reader_knows_teal_only_when_asked():
    from course_utils import shapes as sw
    scene = sw.Scene("white", [sw.ShapeObject("teal", "star", "large", "center")])
    img = sw.render_scene(scene)
    assert shapes_reader.read_scene(img, extra_colours=("teal",))[1][0].colour == "teal"
    assert shapes_reader.read_scene(img)[1][0].colour != "teal"
    with pytest.raises(ValueError, match="extra colour"):
        shapes_reader.read_scene(img, extra_colours=("mauve",))
    with pytest.raises(TypeError, match="tuple"):
        shapes_reader.read_scene(img, extra_colours="teal")


def _attention_layer():
    from diffusers.models.attention_processor import Attention

    torch.manual_seed(0)
    return Attention(query_dim=8, cross_attention_dim=6, heads=2, dim_head=4).eval()


def test_attention_swap_records_then_puts_the_source_maps_in_place_of_the_edits():
    layer, g = _attention_layer(), torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 8, generator=g)                                 # (batch, positions, channels)
    source, edit = torch.randn(2, 3, 6, generator=g), torch.randn(2, 3, 6, generator=g)   # two prompts' tokens
    saved = []
    rec = editing.AttentionSwap(saved)
    with torch.no_grad():
        plain = layer(x, encoder_hidden_states=source)
        assert torch.allclose(rec(layer, x, source), plain, atol=1e-6)    # recording changes nothing
        assert len(saved) == 1 and saved[0].shape == (2 * 2, 5, 3)        # (batch * heads, positions, tokens)
        inj = editing.AttentionSwap(saved, inject_steps=1)
        out = inj(layer, x, edit)
        # by hand: the source's probabilities, the edit's values
        v = layer.head_to_batch_dim(layer.to_v(edit))
        want = layer.to_out[0](layer.batch_to_head_dim(torch.bmm(saved[0], v)))
        assert torch.allclose(out, want, atol=1e-6)
        assert not torch.allclose(out, layer(x, encoder_hidden_states=edit), atol=1e-3)   # the edit's own maps differ
        assert torch.allclose(inj(layer, x, edit), layer(x, encoder_hidden_states=edit), atol=1e-6)  # step 1: its own
        assert "get_attention_scores" not in vars(layer)                  # the module's own method is back


def test_attention_swap_under_guidance_keeps_the_empty_prompts_half():
    layer, g = _attention_layer(), torch.Generator().manual_seed(2)
    x = torch.randn(2, 5, 8, generator=g)                                 # [empty prompt, prompt] as the pipeline batches
    source, edit = torch.randn(2, 3, 6, generator=g), torch.randn(2, 3, 6, generator=g)
    saved = []
    with torch.no_grad():
        editing.AttentionSwap(saved, guided=True)(layer, x, source)
        out = editing.AttentionSwap(saved, inject_steps=1, guided=True)(layer, x, edit)
        own = layer(x, encoder_hidden_states=edit)
    assert torch.allclose(out[0], own[0], atol=1e-6) and not torch.allclose(out[1], own[1], atol=1e-3)


@pytest.mark.slow
def test_prompt_to_prompt_injects_the_source_maps_step_by_step():
    pipe = pipelines.load_text_to_image(device="cpu")
    noise = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    src, edit = "a small red circle in the top left", "a small blue circle in the top left"
    before = dict(pipe.unet.attn_processors)
    source, naive = editing.prompt_to_prompt(pipe, noise, src, edit, num_inference_steps=6, inject=0.0)
    assert torch.allclose(source, editing.regenerate(pipe, noise, src, 6), atol=1e-5)   # recording changes nothing
    assert torch.allclose(naive, editing.regenerate(pipe, noise, edit, 6), atol=1e-5)   # inject=0: the naive swap
    # a prompt's own maps, put back at the step they came from, change nothing; a step off, they would
    _, same = editing.prompt_to_prompt(pipe, noise, src, src, num_inference_steps=6, inject=1.0)
    assert torch.allclose(same, source, atol=1e-5)
    _, swapped = editing.prompt_to_prompt(pipe, noise, src, edit, num_inference_steps=6, inject=1.0)
    assert (swapped - naive).abs().max() > 1e-3                           # the source's maps do reach the edit
    assert {k: type(p) for k, p in pipe.unet.attn_processors.items()} == {k: type(p) for k, p in before.items()}
    with pytest.raises(ValueError, match="as many tokens"):
        editing.prompt_to_prompt(pipe, noise, src, "a small dark blue circle in the top left")


def test_object_overlap_is_one_for_the_same_object_and_falls_when_it_moves():
    from course_utils import shapes as sw

    def draw(position):
        return editing.picture(sw.Scene("black", [sw.ShapeObject("red", "square", "large", position)]))
    assert editing.object_overlap(draw("center"), draw("center")) == 1.0
    assert editing.object_overlap(draw("center"), draw("right")) < 0.5
    assert editing.object_overlap(draw("left"), draw("right")) == 0.0
