"""Every number that decides which passage wins and whether to answer at all, in one place.

Tuning answers means editing this file: the fusion of lexical and dense ranks, the re-ranking of
candidates by their best answer window, the credits sentence scoring gives (used by answer.py's
window mechanics), and the answer decision with its calibrated thresholds. The values were chosen
on XQuAD (every other question, en and ru) and calibrated by bench/calibrate.py; docs/quality.md
records the measurements. The functions here are pure, so a change to a weight is tested in isolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # answer.py imports this module; the type is only for annotations
    from .answer import PassageAnalysis

# Calibrated by bench/calibrate.py on XQuAD half A (en+ru): the lowest threshold at which at most 5%
# of questions about topics the corpus does not cover get an answer; see docs/quality.md.
DEFAULT_MIN_COVERAGE = 0.44
# Cosine similarity above which a dense match alone is relevant enough to answer from.
DEFAULT_DENSE_THRESHOLD = 0.85


@dataclass(frozen=True)
class Weights:
    """The ranking weights; frozen so a shared default can never be changed by one caller."""

    # Fusion: reciprocal rank fusion of the lexical and the dense ranking.
    rrf_k: int = 60
    candidates: int = 50  # hits taken from each ranking before fusion
    # Re-ranking: search rank as a prior, the passage's coverage, and twice its best answer window.
    rerank: int = 10  # candidates whose sentences are read to pick the answering passage
    rank_prior: float = 0.1
    window_weight: float = 2.0
    # Sentences and windows (answer.py).
    stem_only_credit: float = 0.75  # another form or a translation of a question word ("industry")
    phrase_credit: float = 0.5  # a question phrase found intact ("industrial parks")
    window_cost: float = 0.05  # per sentence beyond the first: answers stay short
    neighbour_credit: float = 0.5  # what a neighbouring sentence adds counts half
    number_bonus: float = 0.15  # a number in the sentence where "how many / when" is asked


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class Thresholds:
    """The answer decision's bars; the application may set them (its settings), the defaults are calibrated."""

    min_coverage: float = DEFAULT_MIN_COVERAGE
    dense_threshold: float = DEFAULT_DENSE_THRESHOLD


@dataclass
class Candidate:
    """A searched chunk with what re-ranking found in it."""

    chunk_id: int
    chunk: dict
    analysis: PassageAnalysis
    dense: float  # cosine similarity to the question (0 when dense search is off or missed it)
    score: float  # the re-ranking score (rerank_score)

    @property
    def confidence(self) -> float:
        return confidence(self.analysis)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], k: int = DEFAULT_WEIGHTS.rrf_k
) -> list[tuple[int, float]]:
    """Chunk ids by the sum of 1/(k + rank) over the rankings, best first; ties keep first-seen order."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def rerank_score(analysis: PassageAnalysis, rank: int, dense: float, weights: Weights = DEFAULT_WEIGHTS) -> float:
    """How well a candidate answers: its coverage, its best window, its search rank, its dense similarity."""
    window = analysis.best.score if analysis.best else 0.0
    return analysis.cover + weights.window_weight * window + weights.rank_prior / (1 + rank) + dense


def confidence(analysis: PassageAnalysis) -> float:
    """Mean coverage of the passage and of its best window: the calibrated answer decision."""
    best = analysis.best
    return (analysis.cover + best.own) / 2 if best else 0.0


def relevant(candidate: Candidate, thresholds: Thresholds, dense_on: bool) -> bool:
    """Enough of the question's information is in the passage, or (with a model) its meaning is close."""
    return candidate.confidence >= thresholds.min_coverage or (
        dense_on and candidate.dense >= thresholds.dense_threshold
    )


def decide(ranked: Sequence[Candidate], k: int, thresholds: Thresholds, dense_on: bool) -> list[Candidate]:
    """The passages to answer from, the answering one first; [] means: do not answer.

    Further passages only when they pass the same bar as the first: no padding with loose matches.
    """
    if not ranked:
        return []
    lead = ranked[0]
    if lead.analysis.best is None or not relevant(lead, thresholds, dense_on):
        return []
    return [lead, *[c for c in ranked[1:] if relevant(c, thresholds, dense_on)][: k - 1]]
