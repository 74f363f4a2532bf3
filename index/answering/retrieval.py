"""From a question to an answer: search (FTS5, and FAISS when a model is loaded), fusion, re-ranking.

Lexical search walks the stemmed FTS5 index with the question's stems and their glossary
translations. Without a model, its best candidates are read sentence by sentence (answer.py),
re-ranked by how well they answer, and answered when coverage clears the calibrated bar.

With a model (hybrid mode) the vector index is asked too. Every candidate of either ranking gets a
dense score from its passage vector and its best stored sentence vector (read from the store in one
query per question); the two rankings are fused by z-scores, the best 40 re-ranked by their answer
windows plus the dense score, the answer window picked by meaning and words together, and the
decision taken by a logistic rule over dense, lexical and "specific term missing" signals. Every
weight and threshold involved lives in scoring.py; what is here are the mechanics and the cost
limits that keep a question fast on a large store.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from index.answering import scoring
from index.answering import windows as answering
from index.answering.decision import Candidate, Ranking, ReadFn, decide
from index.answering.scoring import DEFAULT_WEIGHTS, Thresholds, Weights
from index.dense.model import Embedder
from index.results import Answer, Chunk, Hit, Passage
from index.store.database import Store
from index.text import glossary
from index.text.tokens import detect_language, terms

if TYPE_CHECKING:
    from index.dense.faiss_index import VectorIndex

MAX_QUERY_TERMS = 64
# In a large collection, stems found in more than this share of chunks are left out of the FTS5
# query: they cost the longest posting lists and barely move BM25 (they still count in the
# re-ranking). Measured at 100k chunks: same right-first share, a third less latency.
COMMON_TERM_SHARE = 0.1
COMMON_TERM_MIN_CHUNKS = 20_000
PASSAGE_CACHE = 20_000  # chunks whose tokens stay in memory (a few KB each)


@dataclass(frozen=True)
class FirstStage:
    """Stage 1 of hybrid search: the union of both rankings' candidates with their scores (NaN: not found by
    that ranking), the question's vector and the candidates' stored sentence vectors."""

    ids: list[int]
    bm25: np.ndarray
    passage: np.ndarray  # the passage cosine (NaN: no vector yet)
    dense: np.ndarray
    fused: np.ndarray
    query_vector: np.ndarray
    sentence_vectors: dict[int, np.ndarray]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


class Retriever:
    """Answers questions from one store; safe to use from several threads at once."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder | None,
        vector_index: Callable[[], VectorIndex | None],
        weights: Weights = DEFAULT_WEIGHTS,
        read: ReadFn | None = None,
    ):
        self.store = store
        self.embedder = embedder
        self.vector_index = vector_index
        self.weights = weights
        self.read = read  # the answer reader (hybrid mode only); None: the decision without it
        self._terms_cache: OrderedDict[int, answering.PassageTerms] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._sample: tuple[int, np.ndarray] | None = None  # (store generation, chunk vectors) for the median

    @property
    def mode(self) -> str:
        return "hybrid" if self.embedder is not None else "lexical"

    def _model(self) -> Embedder:
        """The embedding model; the hybrid path runs only with one (the vector index is None without it)."""
        if self.embedder is None:
            raise RuntimeError("hybrid search needs an embedding model")
        return self.embedder

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

    def search(self, question: str, k: int = 10) -> list[Hit]:
        """Chunk ids with scores, best first: BM25 alone, or (hybrid) fused with the dense scores (stage 1)."""
        forms = self.query(question)[1]
        n_chunks = self.store.chunk_count()
        lexical = self.store.lexical_search(self._selective(forms, n_chunks), max(self.weights.candidates, k))
        index = self.vector_index()
        if index is None or index.count == 0:
            return [Hit(cid, score, bm25=score) for cid, score in lexical[:k]]
        stage = self._first_stage(question, lexical, index, None)
        order = np.argsort(-stage.fused, kind="stable")[:k]
        return [
            Hit(stage.ids[i], float(stage.fused[i]), _finite(stage.bm25[i]), _finite(stage.dense[i])) for i in order
        ]

    def _first_stage(
        self, question: str, lexical: list[tuple[int, float]], index: VectorIndex, query_vector: np.ndarray | None
    ) -> FirstStage:
        """Stage 1 over the union of both rankings."""
        embedder = self._model()
        if query_vector is None:
            query_vector = embedder.encode_queries([question])[0]
        query_vector = np.asarray(query_vector, dtype=np.float32)
        dense_hits = index.search(query_vector, self.weights.candidates)
        ids = list(dict.fromkeys([cid for cid, _ in lexical] + [cid for cid, _ in dense_hits]))
        cosine = dict(dense_hits)
        model = embedder.name
        lacking = [cid for cid in ids if cid not in cosine]
        if lacking:  # lexical hits the dense top did not reach: their cosine from the stored vectors
            got, matrix = self.store.vectors_of(lacking, model)
            if matrix is not None:
                cosine.update(zip(got.tolist(), (matrix @ query_vector).tolist(), strict=False))
        sentences = self.store.sentence_vectors_of(ids, model, embedder.dim)
        passage = np.array([cosine.get(cid, math.nan) for cid in ids], dtype=np.float64)
        best = np.array([float((sentences[cid] @ query_vector).max()) if cid in sentences else math.nan for cid in ids])
        dense = scoring.dense_score(passage, best, self.weights)
        bm25_of = dict(lexical)
        bm25 = np.array([bm25_of.get(cid, math.nan) for cid in ids], dtype=np.float64)
        fused = scoring.first_stage(bm25, dense, self.weights)
        return FirstStage(ids, bm25, passage, dense, fused, query_vector, sentences)

    def median_cosine(self, query_vector: np.ndarray) -> float:
        """The question's median cosine over a fixed sample of the collection's chunk vectors (the decision's
        reference point: e5 cosines run higher for some questions than others)."""
        generation = self.store.generation
        with self._cache_lock:
            sample = self._sample
        if sample is None or sample[0] != generation:
            sample = (generation, self.store.vector_sample(self._model().name, self.weights.median_sample))
            with self._cache_lock:
                self._sample = sample
        matrix = sample[1]
        return float(np.median(matrix @ query_vector)) if len(matrix) else math.nan

    # --- re-ranking and the answer --------------------------------------------------------------

    def _passage_terms(self, chunk_id: int, chunk: Chunk) -> answering.PassageTerms:
        """Per-chunk tokens and stems, cached: chunk ids are never reused, so entries never go stale."""
        with self._cache_lock:
            cached = self._terms_cache.get(chunk_id)
            if cached is not None:
                self._terms_cache.move_to_end(chunk_id)
                return cached
        value = answering.PassageTerms.of(chunk.text, chunk.title)
        with self._cache_lock:
            self._terms_cache[chunk_id] = value
            if len(self._terms_cache) > PASSAGE_CACHE:
                self._terms_cache.popitem(last=False)
        return value

    def analyse(self, question: str, k: int, query_vector: np.ndarray | None = None) -> Ranking:
        """Candidates from search, re-ordered by how well their best sentences answer (and, with a model,
        by the dense score)."""
        alternatives, all_forms = self.query(question)
        # Once per question, shared by query pruning and the IDF weights (both cost on 100k rows).
        n_chunks = self.store.chunk_count()
        df = self.store.term_document_frequencies(all_forms)
        idf = answering.idf_weights(alternatives, df, n_chunks)
        profile = answering.QuestionProfile.build(question, idf, alternatives)
        depth = max(self.weights.candidates, k, self.weights.rerank)
        lexical = self.store.lexical_search(self._selective(all_forms, n_chunks, df), depth)
        index = self.vector_index()
        if index is None or index.count == 0:
            return Ranking(self._rerank_lexical(profile, lexical[: max(k, self.weights.rerank)]), profile)
        stage = self._first_stage(question, lexical, index, query_vector)
        ids, dense = stage.ids, stage.dense
        if self._being_embedded(stage, lexical[: self.weights.rerank]):
            return Ranking(self._rerank_lexical(profile, lexical[: max(k, self.weights.rerank)]), profile)
        order = np.argsort(-stage.fused, kind="stable")[: max(k, self.weights.hybrid_rerank)]
        chunks = self.store.chunks([ids[i] for i in order])
        kept = [i for i in order if ids[i] in chunks]
        passage_terms = [self._passage_terms(ids[i], chunks[ids[i]]) for i in kept]
        analyses = [
            answering.analyse_passage(profile, rank, terms_, self.weights) for rank, terms_ in enumerate(passage_terms)
        ]
        lexical_score = np.array(
            [a.cover + self.weights.window_weight * (a.best.score if a.best else 0.0) for a in analyses]
        )
        final = scoring.hybrid_rerank(lexical_score, np.arange(len(kept)), dense[kept], self.weights)
        ranked = [
            Candidate(chunks[ids[i]], terms_, analysis, float(dense[i]), float(score))
            for i, terms_, analysis, score in zip(kept, passage_terms, analyses, final, strict=False)
        ]
        ranked.sort(key=lambda c: -c.score)
        query = stage.query_vector
        return Ranking(ranked, profile, query, stage.sentence_vectors, self.median_cosine(query))

    @staticmethod
    def _being_embedded(stage: FirstStage, lexical_top: list[tuple[int, float]]) -> bool:
        """Whether keyword search's best candidates include a chunk without a vector yet (its document is being
        embedded). Fused with embedded chunks it would rank low and the hybrid rule would judge the question
        without it; until its vector arrives the question is answered as lexical-only mode answers it, so what
        keywords find is still found."""
        position = {cid: i for i, cid in enumerate(stage.ids)}
        return any(math.isnan(stage.passage[position[cid]]) for cid, _ in lexical_top if cid in position)

    def _rerank_lexical(self, profile: answering.QuestionProfile, hits: list[tuple[int, float]]) -> list[Candidate]:
        chunks = self.store.chunks([cid for cid, _ in hits])
        hits = [(cid, s) for cid, s in hits if cid in chunks]
        ranked = []
        for rank, (cid, _) in enumerate(hits):
            chunk = chunks[cid]
            terms_ = self._passage_terms(cid, chunk)
            analysis = answering.analyse_passage(profile, rank, terms_, self.weights)
            window = analysis.best.score if analysis.best else 0.0
            score = scoring.rerank_score(analysis.cover, window, rank, 0.0, self.weights)
            ranked.append(Candidate(chunk, terms_, analysis, math.nan, score))
        ranked.sort(key=lambda c: -c.score)
        return ranked

    def answer_and_rank(
        self, question: str, k: int, thresholds: Thresholds, query_vector: np.ndarray | None = None
    ) -> tuple[Answer, list[int]]:
        """The answer, and the whole re-ranked candidate list (evaluation reads both)."""
        question = question.strip()
        language = detect_language(question)
        ranking = self.analyse(question, k, query_vector)
        ranked = ranking.candidates
        order = [c.chunk_id for c in ranked]
        decision = decide(question, language, ranking, k, thresholds, self.weights, self.read)
        chosen, window, confidence = decision.chosen, decision.window, decision.confidence
        if not chosen or window is None:
            return Answer(question, language, False, "", (), confidence, self.mode), order
        passages = tuple(Passage.of(c.chunk, c.score) for c in chosen)
        return Answer(question, language, True, window.text, passages, confidence, self.mode), order
