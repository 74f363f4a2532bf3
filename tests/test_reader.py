"""The answer reader (index/answering/reader.py): its input layout, the numpy serving path against the torch
model it was trained as, and the shipped reader's real behaviour on held-out questions and traps.

The behaviour tests use the shipped `reader.npz` and texts the reader never trained on: an XQuAD paragraph of
article 30 (the report half, articles 24-47; XQuAD is CC BY-SA 4.0, google-deepmind/xquad) in English and
Russian with its own questions, and the seed set's test split (tests/data/seed_qa.yaml) over knowledge/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from index.answering.reader import (
    DEFAULT_PATH,
    Reader,
    ReaderConfig,
    ReaderError,
    build_segments,
    concatenate,
    segment_ids,
    sentence_windows,
)
from index.dense.weights import ModelConfig
from index.text.tokens import split_sentences

ROOT = Path(__file__).resolve().parent.parent
MODEL = ModelConfig()


@pytest.mark.parametrize(
    ("content", "limit", "expected"),
    [
        pytest.param([5, 6, 7], 40, [0, 5, 6, 7, 2], id="short-kept-whole"),
        pytest.param([5, 6, 7, 8], 2, [0, 5, 6, 2], id="long-cut-to-limit"),
        pytest.param([], 40, [0, 2], id="empty-is-just-specials"),
    ],
)
def test_segment_ids(content: list[int], limit: int, expected: list[int]) -> None:
    assert segment_ids(np.array(content, dtype=np.int32), limit, MODEL).tolist() == expected


@pytest.mark.parametrize(
    ("sentences", "heading", "expected"),
    [
        pytest.param(["A."], "H", [(0, 1, "H", "A.")], id="first-sentence-gets-the-heading"),
        pytest.param(
            ["A.", "B."], "", [(0, 1, "", "A."), (1, 2, "A.", "B."), (0, 2, "", "A. B.")], id="singles-then-pairs"
        ),
        pytest.param([], "H", [], id="no-sentences-no-windows"),
    ],
)
def test_sentence_windows(sentences: list[str], heading: str, expected: list[tuple[int, int, str, str]]) -> None:
    assert [(w.lo, w.hi, w.context, w.text) for w in sentence_windows(sentences, heading)] == expected


def test_concatenate_pads_and_masks() -> None:
    a, b, c = np.ones((2, 4), np.float32), np.full((3, 4), 2, np.float32), np.full((1, 4), 3, np.float32)
    x, mask = concatenate([[a, b], [c]])
    assert x.shape == (2, 5, 4)
    assert mask.tolist() == [[True] * 5, [True, False, False, False, False]]
    assert x[0, :, 0].tolist() == [1, 1, 2, 2, 2]
    assert x[1, 1:].sum() == 0


def test_config_round_trip_and_missing() -> None:
    config = ReaderConfig(segment_layers=6, max_window_tokens=50)
    assert ReaderConfig.from_overlay({"reader": config.as_dict()}) == config
    with pytest.raises(ReaderError):
        ReaderConfig.from_overlay({})


def test_missing_file_is_a_reader_error(tmp_path: Path) -> None:
    with pytest.raises(ReaderError):
        Reader.load(tmp_path / "none.npz")


# --- the shipped reader ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader.load(DEFAULT_PATH)


def test_segments_share_question_and_repeated_texts(reader: Reader) -> None:
    segments = build_segments(reader.tokenizer, "Who?", ["A.", "B.", "A."], ["T", "A.", "T"], reader.config)
    # question, window A., context T, window B., context A. (a window's text read again as a context)
    assert len(segments.sequences) == 5
    assert segments.pairs[0] == segments.pairs[2]
    assert all(p[0] == 0 for p in segments.pairs)


def test_artifact_fits_the_budget() -> None:
    assert DEFAULT_PATH.stat().st_size <= 25 * 1024 * 1024


def test_numpy_path_matches_the_torch_model(reader: Reader) -> None:
    torch = pytest.importorskip("torch")
    from bench.train_reader import load_torch_reader

    model = load_torch_reader(DEFAULT_PATH)
    question = "Как финансируются дополнительные школы?"
    windows = [PARAGRAPH_EN[3], PARAGRAPH_EN[1], PARAGRAPH_RU[3]]
    contexts = [PARAGRAPH_EN[2], PARAGRAPH_EN[0], ""]
    segments = build_segments(reader.tokenizer, question, windows, contexts, reader.config)
    states = reader.segment_states(segments.sequences)
    vectors = reader.segment_vectors(states)
    x, mask = concatenate([[states[i] for i in pair] for pair in segments.pairs])
    cosine = np.array([vectors[p[0]] @ vectors[p[1]] for p in segments.pairs], dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(cosine)).numpy()
    np.testing.assert_allclose(reader.logits(question, windows, contexts), expected, atol=2e-3)


# XQuAD article 30 ("Private school"), paragraph 0: held out from training.
PARAGRAPH_EN = [
    "Ergänzungsschulen are secondary or post-secondary (non-tertiary) schools, which are run by private "
    "individuals, private organizations or rarely, religious groups and offer a type of education which is not "
    "available at public schools.",
    "Most of these schools are vocational schools.",
    "However, these vocational schools are not part of the German dual education system.",
    "Ergänzungsschulen have the freedom to operate outside of government regulation and are funded in whole by "
    "charging their students tuition fees.",
]
PARAGRAPH_RU = [
    "Дополнительные школы – это средние или cредние специальные (не высшие) школы, которыми управляют частные "
    "лица, частные организации или изредка религиозные группы, в которых предлагают тип образования, который не "
    "доступен в государственных школах.",
    "Большая часть таких школ – это профессиональные училища.",
    "Тем не менее, эти профессиональные училища не являются частью системы среднего специального образования Германии.",
    "Дополнительные школы имеют право действовать вне рамок государственного регулирования и финансируются "
    "полностью из средств, которые учащиеся платят за обучение.",
]
HEADING = "Private school"
# (question, index of the gold sentence); the same questions in both languages
QUESTIONS = [
    ("What are private secondary schools in Germany called?", "Как в Германии называются частные средние школы?", 0),
    (
        "What types of schools are most ergänzungsschulen?",
        "Какими типами школ является большинство дополнительных школ?",
        1,
    ),
    ("How are ergänzungsschulen funded?", "Как финансируются дополнительные школы?", 3),
    (
        "Along with private individuals and organizations, what groups sometimes runs ergänzungsschulen?",
        "Какие группы иногда управляют дополнительными школами наряду с частными лицами и организациями?",
        0,
    ),
]


def rank_first(reader: Reader, question: str, sentences: list[str]) -> int:
    contexts = [HEADING, *sentences[:-1]]
    return int(np.argmax(reader.score(question, sentences, contexts)))


def test_gold_sentence_ranked_first_on_a_held_out_paragraph(reader: Reader) -> None:
    """16 rankings: 4 questions x (en->en, ru->ru, ru->en, en->ru) over 4 sentences, where chance gets 4. The
    bar sits below the reader's held-out figures (bench/reader_results.json: gold first 0.58-0.72 of the time),
    so the test fails on a broken reader, not on one miss."""
    hits = 0
    for en, ru, gold in QUESTIONS:
        for question in (en, ru):
            for paragraph in (PARAGRAPH_EN, PARAGRAPH_RU):
                hits += rank_first(reader, question, paragraph) == gold
    assert hits >= 7, hits


@pytest.mark.parametrize(
    ("question", "trap"),
    [
        pytest.param(
            "How are ergänzungsschulen funded?", "How are ergänzungsschulen funded in Brazil?", id="en-place-added"
        ),
        pytest.param(
            "Как финансируются дополнительные школы?",
            "Как финансировались дополнительные школы в 1812 году?",
            id="ru-year-added",
        ),
        pytest.param(
            "What are private secondary schools in Germany called?",
            "What are private secondary schools in Norway called?",
            id="en-place-swapped",
        ),
    ],
)
def test_trap_scores_below_its_question(reader: Reader, question: str, trap: str) -> None:
    window, context = PARAGRAPH_EN[3], PARAGRAPH_EN[2]
    if "Germany" in question:
        window, context = PARAGRAPH_EN[0], HEADING
    real, fake = (float(reader.score(q, [window], [context])[0]) for q in (question, trap))
    # The reader's probability is not calibrated at 0.5 (the decision takes its logit with a fitted neutral
    # point, scoring.READER_RULE): what must hold is that the trap scores clearly lower than its question.
    assert real > fake + 0.05, (real, fake)


# --- the seed set's test split over knowledge/ -------------------------------------------------------------


def knowledge_sentences(name: str) -> list[str]:
    text = (ROOT / "knowledge" / name).read_text(encoding="utf-8")
    body = text.split("\n---", 1)[1] if text.startswith("---") else text
    return split_sentences(body.strip())


def seed_entries(kind: str) -> list[dict]:
    data = yaml.safe_load((ROOT / "tests" / "data" / "seed_qa.yaml").read_text(encoding="utf-8"))
    return [e for e in data[kind] if e["split"] == "test"]


def test_seed_test_answerable_gold_sentence_first(reader: Reader) -> None:
    """Every answerable test question whose answer sits in one sentence: the reader's top sentence of the
    document holds the answer for most of them."""
    hits = total = 0
    for entry in seed_entries("answerable"):
        sentences = knowledge_sentences(entry["doc"])
        gold = {i for i, s in enumerate(sentences) if str(entry["answer"]) in s}
        if not gold:
            continue
        scores = reader.score(entry["question"], sentences, ["", *sentences[:-1]])
        hits += int(np.argmax(scores)) in gold
        total += 1
    assert total >= 40
    assert hits / total >= 0.5, (hits, total)


def test_seed_test_near_topic_traps_mostly_declined(reader: Reader) -> None:
    """Near-topic test questions against the knowledge sentences sharing most words with them: the reader's
    best probability stays below one half for most of them, while answerable questions' gold sentences pass."""
    sentences = [
        s for name in sorted(p.name for p in (ROOT / "knowledge").glob("*.md")) for s in knowledge_sentences(name)
    ]
    declined = total = 0
    for entry in seed_entries("unanswerable"):
        if entry["kind"] != "near-topic":
            continue
        words = {w.lower()[:6] for w in entry["question"].split() if len(w) > 3}
        near = sorted(sentences, key=lambda s: -len(words & {w.lower()[:6] for w in s.split()}))[:8]
        declined += float(reader.score(entry["question"], near).max()) < 0.5
        total += 1
    assert declined / total >= 0.5, (declined, total)
