import pytest
import torch

from course_utils import checks, data, viz, widgets
from course_utils.models.vae import (
    check_images,
    decode,
    encode,
    make_vae,
    psnr,
    reconstruct,
    vae_loss,
)


@pytest.fixture(scope="module")
def tiny_vae():
    torch.manual_seed(0)
    return make_vae(block_out_channels=(8, 8, 8, 8), norm_num_groups=4).eval()


def test_encode_decode_shapes(tiny_vae):
    x = data.shapes_world(3, seed=0).images
    z = encode(tiny_vae, x)
    assert z.shape == (3, 4, 8, 8)
    assert decode(tiny_vae, z).shape == (3, 3, 64, 64)
    r = reconstruct(tiny_vae, x[0])
    assert r.shape == (1, 3, 64, 64) and 0 <= r.min() and r.max() <= 1
    g = torch.Generator().manual_seed(0)
    assert not torch.equal(encode(tiny_vae, x, sample=True, generator=g), z)


def test_bad_images_get_clear_errors(tiny_vae):
    with pytest.raises(ValueError, match="multiples of 8"):
        encode(tiny_vae, torch.rand(1, 3, 60, 60))
    with pytest.raises(ValueError, match=r"\[-1, 1\] images: pass \(x \+ 1\) / 2"):
        encode(tiny_vae, torch.rand(1, 3, 64, 64) * 2 - 1)
    with pytest.raises(ValueError, match="got min 0 and max 255"):
        check_images(torch.cat([torch.zeros(1, 3, 8, 8), torch.full((1, 3, 8, 8), 255.0)]))
    with pytest.raises(ValueError, match="grey images need 3 channels"):
        encode(tiny_vae, torch.rand(2, 1, 64, 64))
    with pytest.raises(ValueError, match=r"latents \(N, 4, h, w\)"):
        decode(tiny_vae, torch.rand(1, 3, 8, 8))


def test_vae_loss_and_a_few_steps_lower_it(tiny_vae):
    torch.manual_seed(0)
    vae = make_vae(block_out_channels=(8, 8, 8, 8), norm_num_groups=4)
    x = data.shapes_world(8, seed=0).images * 2 - 1
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    first = None
    for _ in range(15):
        loss, mse, kl = vae_loss(vae, x, generator=torch.Generator().manual_seed(0))
        first = first if first is not None else mse.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert kl.item() > 0 and mse.item() < first


def test_psnr():
    x = torch.zeros(2, 3, 4, 4)
    assert psnr(x + 0.1, x).tolist() == pytest.approx([20.0, 20.0], abs=1e-4)


def test_vae_figures_and_widgets(tiny_vae):
    x = data.shapes_world(2, seed=0).images
    fig = viz.plot_vae_reconstructions(tiny_vae, x)
    assert "PSNR" in fig.axes[2].get_title()
    assert len(viz.plot_latent_channels(tiny_vae, x[0]).axes) >= 5
    assert viz.latent_histogram(torch.randn(100), 0.5).axes
    assert viz.plot_interpolation(torch.rand(2, 3, 3, 8, 8), [0, 0.5, 1]).axes
    interp = widgets.latent_interpolation(tiny_vae, x[0], x[1])
    ends = interp.blend(0.0), interp.blend(1.0)
    assert torch.allclose(ends[0][1], x[0]) and torch.allclose(ends[1][1], x[1])
    before = interp.image.value
    interp.alpha.value = 0.0
    assert interp.image.value != before
    auto = widgets.scene_autoencoder(tiny_vae)
    r = auto.run("blue", "square", "large", "center", "white")
    assert r["latent"].shape == (4, 8, 8) and r["image"][:, 32, 32].tolist() == pytest.approx([40 / 255, 90 / 255, 230 / 255])
    auto.controls["colour"].value = "green"
    assert "PSNR" in auto.label.value


def test_lesson_05_checkers(capsys):
    assert checks.check_sd_compression(48) and not checks.check_sd_compression(64)
    assert checks.check_reparameterize(lambda m, lv, e: m + (0.5 * lv).exp() * e)
    assert not checks.check_reparameterize(lambda m, lv, e: m + lv * e)
    assert "exp(logvar / 2)" in capsys.readouterr().out
    assert checks.check_kl(lambda m, lv: 0.5 * (m**2 + lv.exp() - 1 - lv).sum(dim=(1, 2, 3)))
    assert not checks.check_kl(lambda m, lv: 0.5 * (m**2 + lv.exp() - 1 - lv).sum())
    assert "one value per image" in capsys.readouterr().out
    z = torch.randn(1000) * 4
    assert checks.check_scaling_factor(1 / z.std().item(), z)
    assert not checks.check_scaling_factor(z.std().item(), z)
    assert "1 / std" in capsys.readouterr().out
