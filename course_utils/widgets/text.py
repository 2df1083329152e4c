"""Widgets of lesson 04: compare prompts by their embeddings."""

from __future__ import annotations

import html

import ipywidgets as W


class SimilarityExplorer(W.VBox):
    """Two prompt boxes: their cosine similarity, and each one's nearest neighbours in a corpus."""

    def __init__(self, corpus, a: str = "a crimson circle", b: str = "a red circle", k: int = 3):
        from .. import text

        self.corpus, self.k = list(corpus), k
        self.corpus_emb = text.sentence_embeddings(self.corpus)                 # (N, d)
        self.a = W.Text(a, description="prompt A", layout=W.Layout(width="420px"), continuous_update=False)
        self.b = W.Text(b, description="prompt B", layout=W.Layout(width="420px"), continuous_update=False)
        self.out = W.HTML()
        for box in (self.a, self.b):
            box.observe(lambda _: self.redraw(), "value")
        super().__init__([self.a, self.b, self.out])
        self.redraw()

    def compare(self, a: str, b: str) -> dict:
        """{'similarity': cos(A, B), 'neighbours_a': [(prompt, cos), ...], 'neighbours_b': [...]}"""
        from .. import text

        e = text.sentence_embeddings([a, b])                                     # (2, d)
        sims = text.cosine_similarity(e, self.corpus_emb)                        # (2, N)
        top = [[(self.corpus[j], float(s[j])) for j in s.argsort(descending=True)[: self.k]] for s in sims]
        return {"similarity": float(e[0] @ e[1]), "neighbours_a": top[0], "neighbours_b": top[1]}

    def redraw(self) -> None:
        if not self.a.value.strip() or not self.b.value.strip():
            self.out.value = "<i>type a prompt in both boxes</i>"
            return
        r = self.compare(self.a.value, self.b.value)
        def rows(items):
            return "".join(f"<li>{html.escape(p)} <b>{s:.2f}</b></li>" for p, s in items)
        self.out.value = (f"<p>cosine similarity of A and B: <b>{r['similarity']:.3f}</b></p>"
                          f"<p>nearest to A:</p><ul>{rows(r['neighbours_a'])}</ul>"
                          f"<p>nearest to B:</p><ul>{rows(r['neighbours_b'])}</ul>")


def similarity_explorer(corpus, a: str = "a crimson circle", b: str = "a red circle") -> SimilarityExplorer:
    """Type two prompts, see how similar the text encoder finds them; returns the widget.

    Example: similarity_explorer(data.shapes_world(200).captions)"""
    return SimilarityExplorer(corpus, a, b)
