"""From a question to an answer: search (FTS5, and FAISS when a model is loaded), fusion, re-ranking.

Lexical search walks the stemmed FTS5 index with the question's stems and their glossary
translations; dense search asks the vector index. Their rankings are fused, the best candidates
are read sentence by sentence (answer.py) and re-ranked by how well they answer, and the decision
whether to answer at all is taken. Every weight and threshold involved lives in scoring.py; what
is here are the mechanics and the cost limits that keep a question fast on a large store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from . import answer as answering
from . import glossary, scoring
from .embed import Embedder
from .scoring import DEFAULT_WEIGHTS, Candidate, Thresholds, Weights
from .store import Store
from .text import detect_language, terms

if TYPE_CHECKING:
    from .vectors import VectorIndex

MAX_QUERY_TERMS = 64
# In a large collection, stems found in more than this share of chunks are left out of the FTS5
# query: they cost the longest posting lists and barely move BM25 (they still count in the
# re-ranking). Measured at 100k chunks: same right-first share, a third less latency.
COMMON_TERM_SHARE = 0.1
COMMON_TERM_MIN_CHUNKS = 20_000
PASSAGE_CACHE = 20_000  # chunks whose tokens stay in memory (a few KB each)


class Retriever:
    """Answers questions from one store; safe to use from several threads at once."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder | None,
        vector_index: Callable[[], VectorIndex | None],
        weights: Weights = DEFAULT_WEIGHTS,
    ):
        self.store = store
        self.embedder = embedder
        self.vector_index = vector_index
        self.weights = weights
        self._terms_cache: OrderedDict[int, answering.PassageTerms] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def mode(self) -> str:
        return "hybrid" if self.embedder is not None else "lexical"

    def clear_cache(self) -> None:
        """Forget the passages read so far (after a repair, or to measure a cold start)."""
        with self._cache_lock:
            self._terms_cache.clear()

    # --- the question ---------------------------------------------------------------------------

    def query_terms(self, question: str) -> list[str]:
        """Unique stems of the question; very long texts keep only their rarest terms."""
        unique = list(dict.fromkeys(terms(question)))
        if len(unique) > MAX_QUERY_TERMS:
            df = self.store.term_document_frequencies(unique)
            unique = sorted(unique, key=lambda t: df.get(t, 0))[:MAX_QUERY_TERMS]
        return unique

    def query(self, question: str) -> tuple[dict[str, frozenset[str]], list[str]]:
        """The question's concepts (stem -> itself and its translations), and all those stems."""
        alternatives = glossary.alternatives(self.query_terms(question))
        forms = list(dict.fromkeys(f for forms in alternatives.values() for f in sorted(forms)))
        return alternatives, forms

    def _selective(self, stems: list[str], n: int, df: Mapping[str, int] | None = None) -> list[str]:
        """The stems worth a posting-list walk (see COMMON_TERM_SHARE); all of them in small stores."""
        if n < COMMON_TERM_MIN_CHUNKS or len(stems) < 2:
            return stems
        df = self.store.term_document_frequencies(stems) if df is None else df
        kept = [t for t in stems if df.get(t, 0) <= COMMON_TERM_SHARE * n]
        return kept or sorted((t for t in stems if df.get(t, 0)), key=lambda t: df[t])[:2]

    # --- search ---------------------------------------------------------------------------------

    def search(self, question: str, k: int = 10) -> list[tuple[int, float]]:
        """Chunk ids with scores, best first: BM25 alone, or fused with dense ranks (RRF)."""
        return self._search(question, k, self.query(question)[1], n_chunks=self.store.chunk_count())[0]

    def _search(
        self, question: str, k: int, query_terms: list[str], query_vector: np.ndarray | None = None,
        *, n_chunks: int, df: Mapping[str, int] | None = None,
    ) -> tuple[list[tuple[int, float]], dict[int, float]]:
        """Also returns the dense cosine scores, which the answer decision uses."""
        depth = max(self.weights.candidates, k)
        lexical = self.store.lexical_search(self._selective(query_terms, n_chunks, df), depth)
        index = self.vector_index()
        if index is None or index.count == 0:
            return lexical[:k], {}
        if query_vector is None:
            query_vector = self.embedder.encode_queries([question])[0]
        dense = index.search(query_vector, depth)
        fused = scoring.reciprocal_rank_fusion(
            [[cid for cid, _ in lexical], [cid for cid, _ in dense]], self.weights.rrf_k
        )
        return fused[:k], dict(dense)

    # --- re-ranking and the answer --------------------------------------------------------------

    def _passage_terms(self, chunk_id: int, chunk: dict) -> answering.PassageTerms:
        """Per-chunk tokens and stems, cached: chunk ids are never reused, so entries never go stale."""
        with self._cache_lock:
            cached = self._terms_cache.get(chunk_id)
            if cached is not None:
                self._terms_cache.move_to_end(chunk_id)
                return cached
        value = answering.PassageTerms.of(chunk["text"], chunk["title"])
        with self._cache_lock:
            self._terms_cache[chunk_id] = value
            if len(self._terms_cache) > PASSAGE_CACHE:
                self._terms_cache.popitem(last=False)
        return value

    def analyse(self, question: str, k: int, query_vector: np.ndarray | None = None) -> list[Candidate]:
        """Candidates from search, re-ordered by how well their best sentences answer."""
        alternatives, all_forms = self.query(question)
        # Once per question, shared by query pruning and the IDF weights (both cost on 100k rows).
        n_chunks = self.store.chunk_count()
        df = self.store.term_document_frequencies(all_forms)
        hits, dense = self._search(
            question, max(k, self.weights.rerank), all_forms, query_vector, n_chunks=n_chunks, df=df
        )
        chunks = self.store.chunks([cid for cid, _ in hits])
        hits = [(cid, s) for cid, s in hits if cid in chunks]
        idf = answering.idf_weights(alternatives, df, n_chunks)
        profile = answering.QuestionProfile.build(question, idf, alternatives)
        ranked = []
        for rank, (cid, _) in enumerate(hits):
            chunk = chunks[cid]
            analysis = answering.analyse_passage(profile, rank, self._passage_terms(cid, chunk), self.weights)
            similarity = dense.get(cid, 0.0)
            score = scoring.rerank_score(analysis, rank, similarity, self.weights)
            ranked.append(Candidate(cid, chunk, analysis, similarity, score))
        ranked.sort(key=lambda c: -c.score)
        return ranked

    def answer_and_rank(
        self, question: str, k: int, thresholds: Thresholds, query_vector: np.ndarray | None = None
    ) -> tuple[answering.Answer, list[int]]:
        """The answer, and the whole re-ranked candidate list (evaluation reads both)."""
        question = question.strip()
        language = detect_language(question)
        ranked = self.analyse(question, k, query_vector)
        order = [c.chunk_id for c in ranked]
        confidence = round(ranked[0].confidence, 4) if ranked else 0.0
        chosen = scoring.decide(ranked, k, thresholds, dense_on=self.embedder is not None)
        if not chosen:
            return answering.Answer(question, language, False, "", [], confidence, self.mode), order
        passages = [
            answering.Passage(
                doc_id=c.chunk["doc_id"], title=c.chunk["title"], date=c.chunk["date"], source=c.chunk["source"],
                url=c.chunk["url"], page=c.chunk["page"], text=c.chunk["text"], score=round(c.score, 4),
                chunk_id=c.chunk_id,
            )
            for c in chosen
        ]
        window = chosen[0].analysis.best
        return answering.Answer(question, language, True, window.text, passages, confidence, self.mode), order
