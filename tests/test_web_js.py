"""classroom/web/t2i.js, the browser's pipeline, run by Node against the Python side: the tokenizer's
ids for 1,000+ prompts, the seeded noise, the DDIM timesteps and step. Skipped where Node is missing
(the browser tests run the same checks in Chromium)."""

import json
import shutil
import subprocess

import pytest
import torch

from course_utils import web

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
T2I = ROOT / "classroom" / "web" / "t2i.js"
NODE = shutil.which("node") or shutil.which("nodejs")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (the browser tests cover t2i.js)")


def prompts() -> list[str]:
    """The prompts the tokenizer must agree on: every wording, shouted, punctuated, unknown words, emoji, long."""
    from course_utils import data
    from course_utils.shapes import WORDINGS

    base = [data.shapes_scene(7, i, 0.3, w).caption for w in WORDINGS for i in range(150)]        # 600
    odd = ["", " ", "ORANGE SQUARE AT THE BOTTOM-RIGHT!!!", "a red circle... (maybe?) — or not; 50% sure",
           "a crème brûlée-coloured star", "Ünïcödé ÄÖÜ ß ﬁ İstanbul", "🙂 a blue star 🚀🚀", "red\tcircle\nnewline\r",
           "zxqv blorptastic floofiness antidisestablishmentarianism", "日本語の 赤い 円", "a\u00a0non-breaking\u2003space",
           "x" * 150, "word " * 60, "a red circle " * 20, "hello\u200bzero\ufeffwidth", "$100 & 3/4 @home #tag ~tilde",
           "don't can't won't", "e-mail co-op re-enter", "ＦＵＬＬＷＩＤＴＨ ｌｅｔｔｅｒｓ", "café CAFÉ Café",
           "\u0000null\ufffdreplacement", "math: a²+b²=c² ∑ ∞ ≠", "«quotes» “curly” ‘single’", "Ελληνικά Русский العربية"]
    extra = []
    for i, p in enumerate(base[:400]):
        variants = (p.upper(), p.title() + "!", p.replace(" ", ", ") + "?", f"{p} 🙂 floobarg", p * 3)
        extra.append(variants[i % len(variants)])
    return base + odd + extra


def run_node(script: str, payload) -> object:
    code = f"const T = require({json.dumps(str(T2I))});\nconst input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n{script}"
    out = subprocess.run([NODE, "-e", code], input=json.dumps(payload), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def pipe():
    from course_utils.pipelines import load_text_to_image

    return load_text_to_image(device="cpu")


def test_the_tokenizer_gives_pythons_ids(pipe):
    ps = prompts()
    assert len(ps) >= 1000
    cfg = web.web_config(pipe, web.STORAGE)
    del cfg["alphas_cumprod"]
    got = run_node("const vocab = new Map(input.vocab.map((t, i) => [t, i]));\n"
                   "console.log(JSON.stringify(input.prompts.map(p => T.tokenize(p, vocab, input.cfg))));",
                   {"prompts": ps, "vocab": web._vocab(pipe.tokenizer), "cfg": cfg})
    want = pipe.tokenizer(ps, padding="max_length", max_length=cfg["max_tokens"], truncation=True)
    wrong = [(p, g["ids"], w) for p, g, w in zip(ps, got, want.input_ids) if g["ids"] != w]
    assert not wrong, f"{len(wrong)} of {len(ps)} differ, e.g. {wrong[:3]}"
    assert [g["mask"] for g in got] == want.attention_mask
    assert any(pipe.tokenizer.unk_token_id in w for w in want.input_ids)            # unknown words were there
    assert any(len([i for i in w if i]) == cfg["max_tokens"] for w in want.input_ids)  # and over-long prompts


def test_the_noise_equals_pythons():
    got = run_node("console.log(JSON.stringify(input.map(s => Array.from(T.noise(s, 256)))));", [0, 1, 42, 2**32 - 1])
    for seed, values in zip([0, 1, 42, 2**32 - 1], got):
        assert torch.allclose(torch.tensor(values), web.noise(seed).flatten(), atol=1e-6), seed
    assert not torch.allclose(torch.tensor(got[0]), torch.tensor(got[1]))


def test_timesteps_and_the_ddim_step_equal_pythons(pipe):
    from course_utils.diffusion import ddim_step

    cfg = web.web_config(pipe, web.STORAGE)
    abar = pipe.scheduler.alphas_cumprod
    g = torch.Generator().manual_seed(0)
    x, pred = torch.randn(256, generator=g), torch.randn(256, generator=g)
    cases = [(999, 959), (500, 459), (39, -1)]
    got = run_node("console.log(JSON.stringify({ts: [1, 7, 16, 25, 50].map(n => T.timesteps(input.cfg, n)),"
                   " steps: input.cases.map(([t, tp]) => Array.from(T.ddimStep(input.pred, t, tp, input.x, input.cfg))),"
                   " eps: Array.from(T.ddimStep(input.pred, 500, 459, input.x, {...input.cfg, prediction_type: 'epsilon'}))}));",
                   {"cfg": cfg, "x": x.tolist(), "pred": pred.tolist(), "cases": cases})
    for n, ts in zip([1, 7, 16, 25, 50], got["ts"]):
        assert ts == web.timesteps(cfg, n), n
    for (t, t_prev), step in zip(cases, got["steps"]):
        want = ddim_step(pred[None], t, t_prev, x[None], abar, prediction_type="v_prediction", set_alpha_to_one=False)[0]
        assert torch.allclose(torch.tensor(step), want[0], atol=1e-5), (t, t_prev)
    want = ddim_step(pred[None], 500, 459, x[None], abar, prediction_type="epsilon", set_alpha_to_one=False)[0]
    assert torch.allclose(torch.tensor(got["eps"]), want[0], atol=1e-5)
    assert not torch.allclose(torch.tensor(got["eps"]), torch.tensor(got["steps"][1]), atol=1e-3)   # can fail
