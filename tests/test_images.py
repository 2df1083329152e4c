import numpy as np
import pytest
import torch
from PIL import Image

from course_utils import images, viz


def test_range_conversions_round_trip():
    x = torch.rand(3, 5, 7)
    assert torch.allclose(images.to_unit(images.to_signed(x)), x, atol=1e-6)
    assert images.to_signed(torch.zeros(1)).item() == -1 and images.to_signed(torch.ones(1)).item() == 1


def test_tensor_numpy_pil_round_trip():
    x = torch.rand(3, 8, 6)
    arr = images.to_numpy(x)
    assert arr.shape == (8, 6, 3) and np.allclose(arr, x.permute(1, 2, 0).numpy())
    pil = images.to_pil(x)
    assert pil.size == (6, 8) and pil.mode == "RGB"
    back = images.from_pil(pil)
    assert back.shape == x.shape and (back - x).abs().max() <= 0.5 / 255 + 1e-6
    signed = images.from_pil(pil, value_range=(-1, 1))
    assert torch.allclose(images.to_unit(signed), back, atol=1e-6)
    assert torch.allclose(images.from_numpy(arr), x)


def test_signed_tensor_and_greyscale():
    x = torch.tensor([[[-1.0, 0.0], [1.0, 0.5]]])
    assert np.allclose(images.to_numpy(x, value_range=(-1, 1)), [[0, 0.5], [1, 0.75]])
    assert images.to_pil(x, value_range=(-1, 1)).mode == "L"
    assert images.guess_range(x) == (-1, 1) and images.guess_range(x.clamp(0)) == (0, 1)


def test_bad_inputs_say_what_was_expected():
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        images.to_numpy(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="value_range"):
        images.to_numpy(torch.rand(3, 4, 4), value_range=(0, 255))
    with pytest.raises(TypeError, match="PIL"):
        images.to_numpy([1, 2, 3])
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        images.make_grid(torch.rand(3, 4, 4))


def test_make_grid_places_every_image():
    batch = torch.stack([torch.full((1, 2, 2), float(i)) for i in range(5)])
    grid = images.make_grid(batch, nrow=3, padding=1, pad_value=-1)
    assert grid.shape == (1, 2 * 3 + 1, 3 * 3 + 1)
    assert grid[0, 1, 1] == 0 and grid[0, 1, 4] == 1 and grid[0, 4, 4] == 4
    assert grid[0, 0, 0] == -1 and grid[0, 4, 7] == -1  # padding and the empty sixth cell


@pytest.mark.parametrize("imgs", [
    torch.rand(6, 3, 8, 8), torch.rand(4, 1, 8, 8) * 2 - 1, torch.rand(3, 8, 8),
    np.random.rand(8, 8, 3), [Image.new("RGB", (8, 8), (255, 0, 0))] * 2,
])
def test_show_images_accepts_tensors_arrays_and_pil(imgs):
    fig = viz.show_images(imgs)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == (len(imgs) if isinstance(imgs, list) or getattr(imgs, "ndim", 0) == 4 else 1)


def test_show_images_titles_must_match():
    fig = viz.show_images(torch.rand(2, 1, 4, 4), titles=["a", "b"])
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["a", "b"]
    with pytest.raises(ValueError, match="2 images but 3 titles"):
        viz.show_images(torch.rand(2, 1, 4, 4), titles=["a", "b", "c"])
