"""Whether to answer, and from which passages: the answer decision, out of the retriever.

Retrieval (retrieval.py) ranks candidates; this module judges them. Lexical-only, a passage answers when
enough of the question's information is in it (coverage against `Thresholds.min_coverage`). Hybrid, a
logistic rule per language pairing (scoring.DenseDecision) reads the dense score and its gap to the
question's median cosine, the fused margin over the best other document, lexical coverage and which of
the question's names, numbers and units the passage lacks. The numbers live in scoring.py; the mechanics
of reading them are here, so a change to how the decision is taken is one module's change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.answering.scoring import Thresholds, Weights
from index.answering.windows import (
    PassageAnalysis,
    PassageTerms,
    QuestionProfile,
    Window,
    states_what_is_asked,
    window_by_meaning,
)
from index.results import Chunk
from index.text.specific import TermKind, missing_by_kind, missing_specific_share


@dataclass(frozen=True)
class Candidate:
    """A searched chunk with what re-ranking found in it."""

    chunk: Chunk
    terms: PassageTerms
    analysis: PassageAnalysis
    dense: float  # the dense score (scoring.dense_score; NaN when dense search is off or the chunk has no vector)
    score: float  # the re-ranking score (rerank_score, or hybrid_rerank's in hybrid mode)

    @property
    def chunk_id(self) -> int:
        return self.chunk.id

    @property
    def confidence(self) -> float:
        return confidence(self.analysis)


@dataclass(frozen=True)
class Ranking:
    """The re-ranked candidates of one question and what the hybrid decision needs besides them."""

    candidates: list[Candidate]
    profile: QuestionProfile
    query_vector: np.ndarray | None = None  # None: lexical-only
    sentence_vectors: Mapping[int, np.ndarray] = field(default_factory=dict)
    median_cosine: float = math.nan


@dataclass(frozen=True)
class Decision:
    """The passages to answer from (the answering one first; none = do not answer), the answer window and the
    confidence the answer reports."""

    chosen: list[Candidate]
    window: Window | None
    confidence: float


def confidence(analysis: PassageAnalysis) -> float:
    """Mean coverage of the passage and of its best window: the calibrated lexical answer decision."""
    best = analysis.best
    return (analysis.cover + best.own) / 2 if best else 0.0


def relevant(candidate: Candidate, thresholds: Thresholds) -> bool:
    """Lexical-only: enough of the question's information is in the passage."""
    return candidate.confidence >= thresholds.min_coverage


def decide_lexical(ranked: Sequence[Candidate], k: int, thresholds: Thresholds) -> Decision:
    """Further passages only when they pass the same bar as the first: no padding with loose matches."""
    confidence_ = round(ranked[0].confidence, 4) if ranked else 0.0
    if not ranked:
        return Decision([], None, confidence_)
    lead = ranked[0]
    if lead.analysis.best is None or not relevant(lead, thresholds):
        return Decision([], None, confidence_)
    chosen = [lead, *[c for c in ranked[1:] if relevant(c, thresholds)][: k - 1]]
    return Decision(chosen, lead.analysis.best, confidence_)


def decision_features(
    *,
    dense_top: float,
    passage_cos_median: float,
    fused_top: float,
    fused_second_document: float,
    cover_top: float,
    best_window_own: float,
    window_own: float,
    question: str,
    document_text: str,
    cross: bool,
) -> dict[str, float]:
    """The answer decision's inputs for a passage (see DenseDecision).

    dense_top: its dense_score; passage_cos_median: the question's median passage cosine over a sample of
    the collection (e5 cosines drift per question, the gap to the median does not); fused_top /
    fused_second_document: the stage-2 score of the passage and of the best chunk of another document
    (NaN: none); cover_top, best_window_own: the passage's lexical coverage and its best lexical window's
    (today's lexical confidence is their mean); window_own: the lexical coverage of the chosen window;
    document_text: the passage with its title; cross: the question's language is not the passage's.
    """
    miss = missing_by_kind(question, document_text, cross)
    second = fused_second_document if math.isfinite(fused_second_document) else fused_top
    return {
        "dense_top": dense_top,
        "dense_gap": dense_top - passage_cos_median,
        "fused_margin": fused_top - second,
        "lex_conf_top": (cover_top + best_window_own) / 2,
        "window_own": window_own,
        "miss_doc": missing_specific_share(question, "", document_text, cross)[1],
        "miss_name": miss[TermKind.NAME],
        "miss_number": miss[TermKind.NUMBER],
        "miss_unit": miss[TermKind.UNIT],
    }


def dense_decision_score(features: Mapping[str, float], cross: bool, thresholds: Thresholds) -> float:
    """The decision's margin over its bar: answer when >= 0."""
    rule = thresholds.cross_language if cross else thresholds.same_language
    return rule.score(features) - thresholds.dense_threshold


def answer_probability(margin: float) -> float:
    """The decision margin as a 0..1 confidence (0.5 = the bar), what Answer.confidence reports in hybrid mode."""
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, margin))))


def hybrid_margin(
    question: str,
    language: str,
    ranking: Ranking,
    candidate: Candidate,
    thresholds: Thresholds,
    weights: Weights,
) -> tuple[float, Window | None]:
    """The decision's margin for answering from `candidate` (>= 0: answer), and its answer window.

    A candidate without vectors yet (its document is still being embedded) is judged lexically."""
    window = None
    meaning = _meaning_of(ranking, candidate)
    if meaning is not None:
        window = window_by_meaning(ranking.profile, candidate.terms, *meaning, weights)
    if window is None:
        window = candidate.analysis.best
        if window is None:
            return -math.inf, None
        return candidate.confidence - thresholds.min_coverage, window
    doc = candidate.chunk.doc_id
    second = max((c.score for c in ranking.candidates if c.chunk.doc_id != doc), default=math.nan)
    best = candidate.analysis.best
    cross = (candidate.chunk.language or language) != language
    features = decision_features(
        dense_top=candidate.dense,
        passage_cos_median=ranking.median_cosine,
        fused_top=candidate.score,
        fused_second_document=second,
        cover_top=candidate.analysis.cover,
        best_window_own=best.own if best else 0.0,
        window_own=window.own,
        question=question,
        document_text=f"{candidate.chunk.title}\n{candidate.chunk.text}",
        cross=cross,
    )
    return dense_decision_score(features, cross, thresholds), window


# (question, windows, their contexts) -> the reader's logit per window, or None when no reader is at hand;
# see answering/reader.py
ReadFn = Callable[[str, Sequence[str], Sequence[str]], "np.ndarray | None"]


def window_context(candidate: Candidate, window: Window) -> str:
    """What the reader sees before a window: the passage's previous sentence (a heading is one), or for the
    first sentence the document's title, as in training."""
    first = window.sentences[0].order
    sentences = candidate.terms.sentences
    return sentences[first - 1].text if first > 0 else candidate.chunk.title


def _meaning_of(ranking: Ranking, candidate: Candidate) -> tuple[np.ndarray, np.ndarray] | None:
    """The candidate's sentence vectors and the question's when it can be judged by meaning (a finite dense
    score and median too): hybrid_margin's rule then, and the reader's logit is on that rule's scale."""
    vectors = ranking.sentence_vectors.get(candidate.chunk_id)
    if (
        vectors is None
        or ranking.query_vector is None
        or not math.isfinite(candidate.dense)
        or not math.isfinite(ranking.median_cosine)
    ):
        return None
    return vectors, ranking.query_vector


def reader_shifts(
    question: str,
    language: str,
    ranking: Ranking,
    judged: Sequence[tuple[float, Window | None]],
    thresholds: Thresholds,
    read: ReadFn,
) -> list[float] | None:
    """How far the reader moves each judged candidate's margin: the first `thresholds.reader.passages` that
    were judged by meaning by its logit of their answer window, the others not at all; None when the rule does
    not move margins or the reader is not at hand."""
    rule = thresholds.reader
    if not rule.moves():
        return None
    shifts = [0.0] * len(judged)
    read_at = [
        i
        for i, (margin, window) in enumerate(judged[: rule.passages])
        if window is not None and math.isfinite(margin) and _meaning_of(ranking, ranking.candidates[i]) is not None
    ]
    if not read_at:
        return shifts
    windows = [w for i in read_at if (w := judged[i][1]) is not None]
    contexts = [window_context(ranking.candidates[i], w) for i, w in zip(read_at, windows, strict=True)]
    logits = read(question, [w.text for w in windows], contexts)
    if logits is None:
        return None
    for i, logit in zip(read_at, logits, strict=True):
        candidate = ranking.candidates[i]
        shifts[i] = rule.shift(float(logit), (candidate.chunk.language or language) != language)
    return shifts


def choose_lead(margins: Sequence[float], shifts: Sequence[float], eligible: Sequence[int]) -> int:
    """Which candidate answers: the eligible one with the highest moved margin, but the ranking's first keeps
    the lead unless the reader, too, prefers the other (a higher margin by its own features alone does not
    reorder what the ranking ordered). Ties go to the earlier candidate."""
    if not eligible:
        return 0
    best = max(eligible, key=lambda i: (margins[i], -i))
    return best if margins[best] > margins[0] and shifts[best] > shifts[0] else 0


def decide_hybrid(
    question: str,
    language: str,
    ranking: Ranking,
    k: int,
    thresholds: Thresholds,
    weights: Weights,
    read: ReadFn | None = None,
) -> Decision:
    """The answering passage first; further ones only when they pass the same rule; the confidence is the
    decision's probability.

    With a reader, the leading candidates' margins take its logit, and another candidate takes the lead from
    the first when both its moved margin and the reader's view of it are higher: a passage that only shares
    the question's words gives way to the one the reader finds the answer in."""
    ranked = ranking.candidates
    if not ranked:
        return Decision([], None, 0.0)
    # Judged at once: what the reader reads (or the first alone); the rest only once the lead answers, so a
    # declined question pays for no more candidates than the lead's choice needs.
    first = max(1, thresholds.reader.passages if read is not None else 1)
    judged = [hybrid_margin(question, language, ranking, c, thresholds, weights) for c in ranked[:first]]
    shifts = reader_shifts(question, language, ranking, judged, thresholds, read) if read is not None else None
    margins = [m + (shifts[i] if shifts else 0.0) for i, (m, _) in enumerate(judged)]
    lead = 0
    if shifts is not None:
        eligible = [
            i
            for i in range(min(thresholds.reader.passages, len(judged)))
            if (w := judged[i][1]) is not None and states_what_is_asked(ranking.profile, w.text)
        ]
        lead = choose_lead(margins, shifts, eligible)
    margin, window = margins[lead], judged[lead][1]
    confidence_ = round(answer_probability(margin), 4)
    if margin < 0 or window is None or not states_what_is_asked(ranking.profile, window.text):
        return Decision([], None, confidence_)
    chosen = [ranked[lead]]
    for i, candidate in enumerate(ranked[: max(2 * k, first)]):
        if len(chosen) >= k:
            break
        if i == lead:
            continue
        further = (
            margins[i]
            if i < len(margins)
            else hybrid_margin(question, language, ranking, candidate, thresholds, weights)[0]
        )
        if further >= 0:
            chosen.append(candidate)
    return Decision(chosen, window, confidence_)


def decide(
    question: str,
    language: str,
    ranking: Ranking,
    k: int,
    thresholds: Thresholds,
    weights: Weights,
    read: ReadFn | None = None,
) -> Decision:
    """Lexical-only when the ranking has no question vector, else the hybrid rule (with the reader, if any)."""
    if ranking.query_vector is None:
        return decide_lexical(ranking.candidates, k, thresholds)
    return decide_hybrid(question, language, ranking, k, thresholds, weights, read)
