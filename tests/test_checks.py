import torch

from course_utils import checks
from course_utils.noise import add_noise


def test_unanswered_exercises_do_not_fail(capsys):
    assert checks.check_compression_ratio(None) is False
    assert "Not answered yet" in capsys.readouterr().out


def test_compression_ratio(capsys):
    assert checks.check_compression_ratio(48) is True
    assert checks.check_compression_ratio(64) is False
    assert "channels" in capsys.readouterr().out


def test_timeline_order(capsys):
    assert checks.check_timeline_order(["RBM", "VAE", "GAN", "DDPM", "Stable Diffusion", "DiT"])
    assert not checks.check_timeline_order(["GAN", "RBM", "VAE", "DDPM", "Stable Diffusion", "DiT"])
    assert "2014, not 2012" in capsys.readouterr().out


def test_add_noise_checker_spots_common_mistakes(capsys):
    assert checks.check_add_noise(add_noise)
    capsys.readouterr()

    def swapped(x0, noise, t, s):
        a = s.alphas_cumprod[t].reshape(-1, 1, 1, 1)
        return (1 - a).sqrt() * x0 + a.sqrt() * noise

    def no_sqrt(x0, noise, t, s):
        a = s.alphas_cumprod[t].reshape(-1, 1, 1, 1)
        return a * x0 + (1 - a) * noise

    assert not checks.check_add_noise(swapped)
    assert "swapped" in capsys.readouterr().out
    assert not checks.check_add_noise(no_sqrt)
    assert "square roots" in capsys.readouterr().out
    assert not checks.check_add_noise(lambda *a: None)
    assert "Not answered" in capsys.readouterr().out
    assert not checks.check_add_noise(lambda *a: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_compare_reports_exact_approximate_and_wrong(capsys):
    x = torch.ones(3)
    assert checks.compare(x, x) and "exact" in capsys.readouterr().out
    assert checks.compare(x + 1e-7, x) and "approximately" in capsys.readouterr().out
    assert not checks.compare(x + 1, x) and "max difference 1" in capsys.readouterr().out
    assert not checks.compare(torch.ones(2), x) and "shape" in capsys.readouterr().out


def test_last_step_and_half_signal(capsys):
    from course_utils import data
    from course_utils.images import to_signed
    from course_utils.noise import make_schedule

    s = make_schedule("linear")
    x0 = to_signed(data.digits(16).images)                               # the lesson's digits, (1797, 1, 16, 16)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    assert checks.check_last_step(add_noise(x0, eps, 999, s), x0, eps)
    assert "mean" in capsys.readouterr().out
    # the digits never noised: the cell's noise, or fresh noise; both have mean ~0 and std ~1 too
    assert not checks.check_last_step(eps, x0, eps)
    assert "digits never went in" in capsys.readouterr().out
    assert not checks.check_last_step(torch.randn(x0.shape), x0, eps)
    assert "fresh noise alone" in capsys.readouterr().out
    for t in (300, 700, 998):                                            # noised, but not to the last step
        assert not checks.check_last_step(add_noise(x0, eps, t, s), x0, eps)
        assert f"that is x_{t}" in capsys.readouterr().out
    uniform = torch.rand(x0.shape, generator=torch.Generator().manual_seed(0))
    assert not checks.check_last_step(add_noise(x0, uniform, 999, s), x0, uniform)
    assert "N(0, 1)" in capsys.readouterr().out
    assert not checks.check_last_step(add_noise(x0, eps, 999, s)[:10], x0, eps)
    assert "shape" in capsys.readouterr().out
    assert not checks.check_last_step(add_noise(x0, eps, 999, s), x0, None)   # eps left as the placeholder
    assert "Not answered yet" in capsys.readouterr().out
    right = int((s.alphas_cumprod < 0.5).nonzero()[0])
    assert checks.check_half_signal(right) and not checks.check_half_signal(right - 1)
    assert "look later" in capsys.readouterr().out


def test_lesson_04_checkers(capsys):
    import torch.nn.functional as F

    from course_utils.text import mean_pool

    assert checks.check_mean_pool(mean_pool)
    assert not checks.check_mean_pool(lambda e, m: e.mean(1))
    assert "averaged the padding" in capsys.readouterr().out
    assert checks.check_attention_weights(lambda q, K: torch.softmax(K @ q / q.shape[0] ** 0.5, 0))
    assert not checks.check_attention_weights(lambda q, K: torch.softmax(K @ q, 0))
    assert "sqrt(d)" in capsys.readouterr().out
    assert not checks.check_attention_weights(lambda q, K: torch.softmax(K @ q / 384**0.5, 0))   # lesson 04's cell 19
    out = capsys.readouterr().out
    assert "divided by 19.6" in out and "q.shape[-1]" in out and "384-d" in out
    assert not checks.check_attention_weights(lambda q, K: torch.softmax(K @ q / len(K) ** 0.5, 0))   # L, not d
    out = capsys.readouterr().out
    assert "divided by 2.24" in out and "384-d" not in out
    assert not checks.check_attention_weights(lambda q, K: torch.softmax(K @ q / 8**0.5, 0) + 0.01)  # not a softmax
    assert "max difference" in capsys.readouterr().out

    def clip(i, t, tau):
        logits, labels = i @ t.T / tau, torch.arange(len(i))
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2

    assert checks.check_clip_loss(clip)
    assert not checks.check_clip_loss(lambda i, t, tau: F.cross_entropy(i @ t.T / tau, torch.arange(len(i))))
    assert "text -> image half" in capsys.readouterr().out


def test_lesson_01_checkers(capsys):
    import torch.nn.functional as F

    def fe(v, W, b, c):
        return -(v @ b) - F.softplus(v @ W.T + c).sum(1)

    assert checks.check_free_energy(fe)
    assert not checks.check_free_energy(lambda v, W, b, c: -fe(v, W, b, c))
    assert "sign is flipped" in capsys.readouterr().out

    def step(rbm, v, u_h, u_v):
        h = (u_h < rbm.p_h(v)).float()
        return (u_v < rbm.p_v(h)).float()

    assert checks.check_gibbs_step(step)
    assert not checks.check_gibbs_step(lambda rbm, v, u_h, u_v: rbm.p_v((u_h < rbm.p_h(v)).float()))
    assert "samples" in capsys.readouterr().out


def test_lesson06_guidance_checker_names_the_mistake(capsys):
    assert checks.check_guidance(lambda u, t, w: u + w * (t - u))
    capsys.readouterr()
    assert not checks.check_guidance(lambda u, t, w: t + w * (t - u))
    assert "unconditional" in capsys.readouterr().out
    assert not checks.check_guidance(lambda u, t, w: u + w * (u - t))
    assert "reversed" in capsys.readouterr().out
    assert not checks.check_guidance(lambda u, t, w: None)


def test_lesson06_counting_checkers(capsys):
    assert checks.check_unet_calls(50) and not checks.check_unet_calls(25) and not checks.check_unet_calls(None)
    assert "two predictions" in capsys.readouterr().out
    assert checks.check_img2img_steps(15) and not checks.check_img2img_steps(10)
    assert "skips" in capsys.readouterr().out


def test_lesson06_negative_prompt_at_w1(capsys):
    assert checks.check_negative_prompt_at_w1(0.0) and checks.check_negative_prompt_at_w1(3e-7)
    assert "only through guidance" in capsys.readouterr().out
    assert not checks.check_negative_prompt_at_w1(0.31)                  # what w = 5 would give
    assert "same seed" in capsys.readouterr().out
    assert not checks.check_negative_prompt_at_w1(255.0) and not checks.check_negative_prompt_at_w1("0")


def test_lesson07_flow_checkers(capsys):
    from course_utils.metrics import DigitReport

    assert checks.check_flow_target(lambda x0, eps: eps - x0)
    capsys.readouterr()
    assert not checks.check_flow_target(lambda x0, eps: x0 - eps)
    assert "reversed" in capsys.readouterr().out
    assert not checks.check_flow_target(lambda x0, eps: eps)

    def rep(fd):
        return DigitReport(n=10, confidence=0.9, classes_covered=10, class_counts=[1] * 10, class_entropy=3.3, frechet=fd)

    results = {"flow-digits": {1: rep(10), 2: rep(5), 8: rep(2)}, "ddpm-digits (DDIM)": {1: rep(50), 2: rep(20), 8: rep(1)}}
    assert checks.check_flow_wins([2, 1], results) and not checks.check_flow_wins([1, 2, 8], results)
    assert not checks.check_flow_wins("many", results)
