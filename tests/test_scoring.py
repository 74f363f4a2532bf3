"""index/answering/scoring.py and decision.py: the re-ranking score, the confidence and the lexical answer
decision, on hand-made candidates."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import pytest

from index.answering.decision import Candidate, confidence, decide_lexical, relevant
from index.answering.scoring import (
    DEFAULT_DENSE_THRESHOLD,
    DEFAULT_MIN_COVERAGE,
    DEFAULT_WEIGHTS,
    Thresholds,
    rerank_score,
)
from index.answering.windows import PassageAnalysis, PassageTerms, Window
from index.results import Chunk

BARS = Thresholds(min_coverage=0.5)


def analysis(cover: float, own: float | None, score: float = 0.0) -> PassageAnalysis:
    """own=None: no sentence of the passage holds anything of the question."""
    return PassageAnalysis(0, cover, None if own is None else Window([], own, score))


def candidate(cid: int, cover: float, own: float | None, dense: float = 0.0) -> Candidate:
    chunk = Chunk(
        cid, doc_id=cid, position=0, page=None, text="", title="", date=None, source="", url=None, language=None
    )
    return Candidate(chunk, PassageTerms.of(""), analysis(cover, own), dense, score=0.0)


@pytest.mark.parametrize(
    ("cover", "own", "expected"),
    [
        pytest.param(0.6, 0.4, 0.5, id="mean-of-passage-and-window"),
        pytest.param(1.0, 1.0, 1.0, id="everything-covered"),
        pytest.param(0.9, None, 0.0, id="no-window-no-confidence"),
    ],
)
def test_confidence(cover, own, expected):
    assert confidence(analysis(cover, own)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("cand", "expected"),
    [
        pytest.param(candidate(1, 0.5, 0.5), True, id="coverage-at-the-bar"),
        pytest.param(candidate(1, 0.5, 0.4), False, id="coverage-just-below"),
        pytest.param(candidate(1, 0.1, 0.1, dense=0.99), False, id="lexical-rule-ignores-dense"),
    ],
)
def test_relevant(cand, expected):
    assert relevant(cand, BARS) is expected


LEAD = candidate(1, 0.9, 0.9)
GOOD = candidate(2, 0.7, 0.7)
LOOSE = candidate(3, 0.2, 0.2)
NO_WINDOW = candidate(4, 0.9, None)


@pytest.mark.parametrize(
    ("ranked", "k", "expected"),
    [
        pytest.param([], 3, [], id="nothing-found"),
        pytest.param([LOOSE, LEAD], 3, [], id="weak-lead-declines-though-a-later-one-is-good"),
        pytest.param([NO_WINDOW, LEAD], 3, [], id="lead-without-a-window-declines"),
        pytest.param([LEAD, LOOSE, GOOD], 3, [1, 2], id="loose-matches-never-pad"),
        pytest.param([LEAD, GOOD, GOOD], 2, [1, 2], id="k-caps-the-passages"),
        pytest.param([LEAD, GOOD], 1, [1], id="k-1-lead-only"),
    ],
)
def test_decide(ranked, k, expected):
    assert [c.chunk_id for c in decide_lexical(ranked, k, BARS).chosen] == expected


def test_rerank_score_adds_its_parts():
    weights = replace(DEFAULT_WEIGHTS, window_weight=3.0, rank_prior=0.5)
    got = rerank_score(0.4, 0.2, rank=1, dense=0.25, weights=weights)
    assert got == pytest.approx(0.4 + 3.0 * 0.2 + 0.5 / 2 + 0.25)
    assert rerank_score(0.4, 0.0, rank=0, dense=0.0, weights=weights) == pytest.approx(0.4 + 0.5)


def test_engine_defaults_come_from_scoring_and_weights_are_frozen(tmp_path):
    from index.engine import EngineConfig

    config = EngineConfig(data_dir=tmp_path)
    assert (config.min_coverage, config.dense_threshold) == (DEFAULT_MIN_COVERAGE, DEFAULT_DENSE_THRESHOLD)
    assert config.weights is DEFAULT_WEIGHTS
    with pytest.raises(FrozenInstanceError):
        DEFAULT_WEIGHTS.candidates = 1  # type: ignore[misc]
