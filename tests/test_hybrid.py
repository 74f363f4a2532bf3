"""Hybrid answering (issue 10): z-score fusion, the answer window by meaning, the logistic decision with its
"specific term missing" signals, and the sentence vectors stored at ingest that both rest on."""

from __future__ import annotations

import math

import numpy as np
import pytest

from index.answering import decision, scoring
from index.answering.scoring import Thresholds
from index.answering.windows import PassageTerms, QuestionProfile, passage_sentences, short_windows, window_by_meaning
from index.store.database import DocumentRecord, Store
from index.text.specific import TermKind, missing_by_kind, specific_terms, term_present
from tests.conftest import KNOWLEDGE

NAN = math.nan


# --- fusion ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([1.0, 2.0, 3.0], [-1.2247, 0.0, 1.2247], id="standardised"),
        pytest.param([1.0, NAN, 3.0], [-1.0, -1.0, 1.0], id="missing-gets-the-lowest"),
        pytest.param([2.0, 2.0], [0.0, 0.0], id="constant"),
        pytest.param([NAN, 5.0, NAN], [-1.0, 0.0, -1.0], id="a-lone-hit-stands-above-the-missing"),
        pytest.param([3.0, 3.0, NAN], [0.0, 0.0, -1.0], id="ties-stand-above-the-missing"),
        pytest.param([NAN, NAN], [0.0, 0.0], id="nothing-found"),
    ],
)
def test_zscore(values, expected):
    assert scoring.zscore(np.array(values)) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([1.0, 2.0, 3.0], [0.0, 0.5, 1.0], id="scaled"),
        pytest.param([1.0, NAN, 3.0], [0.0, 0.0, 1.0], id="missing-is-zero"),
        pytest.param([0.7, 0.7], [1.0, 1.0], id="constant-is-one"),
    ],
)
def test_minmax(values, expected):
    assert scoring.minmax(np.array(values)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("passage", "sentence", "expected"),
    [
        pytest.param(0.8, 0.9, 0.85, id="mean-of-passage-and-best-sentence"),
        pytest.param(0.8, NAN, 0.8, id="no-sentence-vectors-passage-alone"),
    ],
)
def test_dense_score(passage, sentence, expected):
    assert scoring.dense_score(np.array([passage]), np.array([sentence]))[0] == pytest.approx(expected)


# Three questions over four chunks, gold = chunk 0 each time. BM25 alone misses question 2 (a paraphrase: the
# gold has no word of it), dense alone misses question 1 (close meanings, a name decides); the fusion must get
# every question at least as right as the better input.
FUSION_CASES = [
    ([9.0, 3.0, 2.0, NAN], [0.80, 0.81, 0.78, 0.77]),  # BM25 right by a lot, dense wrong by a little
    ([NAN, 2.0, NAN, NAN], [0.88, 0.79, 0.78, 0.76]),  # BM25 wrong (gold unmatched), dense right by a lot
    ([7.0, 3.0, NAN, 2.0], [0.86, 0.80, 0.79, 0.78]),  # both right
]


def test_fusion_never_loses_to_an_input_on_a_constructed_case():
    def right(scores):
        return int(np.nanargmax(np.where(np.isnan(scores), -np.inf, scores)) == 0)

    bm25_right = sum(right(np.array(b)) for b, _ in FUSION_CASES)
    dense_right = sum(right(np.array(d)) for _, d in FUSION_CASES)
    fused_right = sum(right(scoring.first_stage(np.array(b), np.array(d))) for b, d in FUSION_CASES)
    assert (bm25_right, dense_right) == (2, 2)
    assert fused_right == 3


def test_fusion_respects_dominance():
    """A chunk at least as good in both inputs is never ranked below the other."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        bm25, dense = rng.normal(size=8), rng.normal(size=8)
        bm25[rng.random(8) < 0.3] = NAN
        fused = scoring.first_stage(bm25, dense)
        filled = np.where(np.isnan(bm25), -np.inf, bm25)
        for a in range(8):
            for b in range(8):
                if filled[a] >= filled[b] and dense[a] >= dense[b]:
                    assert fused[a] >= fused[b] - 1e-12


def test_hybrid_rerank_adds_its_parts():
    got = scoring.hybrid_rerank(np.array([1.0, NAN]), np.array([0, 1]), np.array([0.9, 0.7]))
    z = scoring.DEFAULT_WEIGHTS.dense_rerank_weight * scoring.zscore(np.array([0.9, 0.7]))
    assert got == pytest.approx([1.0 + 0.1 / 1 + z[0], 0.0 + 0.1 / 2 + z[1]])


# --- the answer window -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence_cos", "pair_cos", "lexical", "best"),
    [
        pytest.param([0.9, 0.7, 0.6], [0.8, 0.65], [NAN] * 5, 0, id="meaning-alone-picks-the-closest"),
        pytest.param([0.8, 0.7, 0.6], [0.81, 0.65], [0.5, 0.0, 0.0, 0.5, 0.0], 0, id="pair-pays-its-cost"),
        pytest.param([0.8, 0.7, 0.6], [0.83, 0.65], [0.5, 0.0, 0.0, 0.5, 0.0], 3, id="pair-worth-its-cost"),
        pytest.param([0.8, 0.79, 0.6], [0.7, 0.65], [0.0, 0.9, 0.0, 0.0, 0.0], 1, id="words-outweigh-a-small-gap"),
        pytest.param([0.8, 0.8], [0.7], [0.5, 0.5, 0.0], 0, id="ties-go-to-the-earlier-window"),
    ],
)
def test_window_blend(sentence_cos, pair_cos, lexical, best):
    scores = scoring.window_blend(np.array(sentence_cos), np.array(pair_cos), np.array(lexical))
    assert int(np.argmax(scores)) == best


def unit(*weights: float) -> np.ndarray:
    v = np.array(weights, dtype=np.float32)
    return v / np.linalg.norm(v)


PASSAGE = "Amberport lies on the coast. The port has 7 terminals. Rail links reach the capital."


def profile(question: str) -> QuestionProfile:
    from index.text.tokens import stem_word, words

    stems = {stem_word(w): 1.0 for w in words(question) if len(w) > 3}
    return QuestionProfile.build(question, stems)


def test_sentence_vectors_align_with_the_window_sentences():
    assert len(passage_sentences(PASSAGE)) == len(PassageTerms.of(PASSAGE).sentences) == 3
    assert passage_sentences("no full stop here") == ["no full stop here"]


@pytest.mark.parametrize(
    ("question", "vectors", "expected"),
    [
        pytest.param(
            "Where does Amberport lie?",
            [unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)],
            "Amberport lies on the coast.",
            id="words-and-meaning-agree",
        ),
        pytest.param(
            "What reaches the capital?",
            [unit(0, 1, 0), unit(0, 1, 0), unit(1, 0.1, 0)],
            "Rail links reach the capital.",
            id="meaning-finds-it",
        ),
        pytest.param(
            "How many terminals are at Amberport coast?",
            [unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)],
            "Amberport lies on the coast. The port has 7 terminals.",
            id="count-question-wants-a-number",
        ),
    ],
)
def test_window_by_meaning(question, vectors, expected):
    window = window_by_meaning(profile(question), PassageTerms.of(PASSAGE), np.stack(vectors), unit(1, 0, 0))
    assert window is not None and window.text == expected


def test_window_by_meaning_needs_aligned_vectors():
    assert window_by_meaning(profile("coast"), PassageTerms.of(PASSAGE), np.stack([unit(1, 0)] * 2), unit(1, 0)) is None


def test_short_windows_score_like_the_lexical_windows():
    spans, scores, owns = short_windows(profile("Where does Amberport lie?"), PassageTerms.of(PASSAGE))
    assert spans == [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)]
    assert scores[0] > 0 and math.isnan(scores[1]) and math.isnan(scores[4])
    assert scores[3] < scores[0]  # the pair adds nothing and pays the length cost
    assert owns[0] == owns[3] > 0


# --- specific terms and the decision -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "cross", "expected"),
    [
        pytest.param(
            "How many parks does Kaluga Region have?",
            False,
            [("Kaluga", TermKind.NAME), ("Region", TermKind.NAME)],
            id="names-en",
        ),
        pytest.param(
            "How many parks does Kaluga Region have?",
            True,
            [("Kaluga Region", TermKind.NAME)],
            id="names-grouped-across-languages",
        ),
        pytest.param(
            "Сколько процентов составил рост в 2014 году?",
            False,
            [("2014", TermKind.NUMBER), ("percent", TermKind.UNIT)],
            id="year-and-unit-ru",
        ),
        pytest.param("What is the tariff?", False, [], id="nothing-specific"),
    ],
)
def test_specific_terms(question, cross, expected):
    assert [(t.text, t.kind) for t in specific_terms(question, group_names=cross)] == expected


KALUGA_SENTENCE = "There are 10 industrial parks in the Kaluga Region, 89 projects and 2.9% growth in 2014."


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        pytest.param("Сколько индустриальных парков в Калужской области?", set(), id="ru-adjective-finds-kaluga"),
        pytest.param("Сколько индустриальных парков в Тульской области?", {TermKind.NAME}, id="tula-missing"),
        pytest.param("What was the growth in 2019?", {TermKind.NUMBER}, id="year-missing"),
        pytest.param("What was the growth in 2014 in Kaluga?", set(), id="year-and-name-present"),
        pytest.param("How many kilometres of roads does Kaluga have?", {TermKind.UNIT}, id="unit-missing"),
        pytest.param("Какова доля в процентах?", set(), id="unit-across-languages"),
    ],
)
def test_missing_by_kind(question, missing):
    got = missing_by_kind(question, KALUGA_SENTENCE, cross=True)
    assert {kind for kind, value in got.items() if value} == missing


def test_term_present_matches_names_across_scripts():
    (denver,) = specific_terms("Where is the game in Денвер?")
    assert term_present(denver, "The game is played in Denver.")
    assert not term_present(denver, "The game is played in Miami.")


def features(**changes) -> dict[str, float]:
    base = dict(
        dense_top=0.86,
        passage_cos_median=0.78,
        fused_top=4.0,
        fused_second_document=3.0,
        cover_top=1.0,
        best_window_own=0.8,
        window_own=0.8,
        question="How many industrial parks does Kaluga Region have?",
        document_text=KALUGA_SENTENCE,
        cross=False,
    )
    base.update(changes)
    return decision.decision_features(**base)


def test_decision_features():
    f = features()
    assert f["dense_gap"] == pytest.approx(0.08) and f["fused_margin"] == pytest.approx(1.0)
    assert f["lex_conf_top"] == pytest.approx(0.9)
    assert (f["miss_doc"], f["miss_name"], f["miss_number"], f["miss_unit"]) == (0.0, 0.0, 0.0, 0.0)
    assert features(fused_second_document=NAN)["fused_margin"] == 0.0
    tula = features(question="How many industrial parks does Tula Region have?")
    assert tula["miss_name"] == 1.0 and tula["miss_doc"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("changes", "answers"),
    [
        pytest.param({}, True, id="close-covered-answers"),
        pytest.param(
            {"question": "How many industrial parks does Tula Region have?"}, False, id="a-missing-name-declines"
        ),
        pytest.param({"dense_top": 0.80}, False, id="far-in-meaning-declines"),
    ],
)
def test_dense_decision(changes, answers):
    assert (decision.dense_decision_score(features(**changes), False, Thresholds()) >= 0) is answers


def test_dense_threshold_is_a_margin_over_the_bar():
    f = features()
    base = decision.dense_decision_score(f, False, Thresholds())
    assert decision.dense_decision_score(f, False, Thresholds(dense_threshold=0.5)) == pytest.approx(base - 0.5)
    assert decision.answer_probability(0.0) == 0.5


# --- sentence vectors in the store -------------------------------------------------------------------------


def record(source: str, texts: list[str]) -> DocumentRecord:
    return DocumentRecord(
        source=source,
        content_hash=source,
        title="T",
        date=None,
        language="en",
        region=None,
        url=None,
        format="text",
        pages=None,
        size_bytes=1,
        chunk_texts=texts,
        chunk_pages=[None] * len(texts),
        embed_texts=texts,
        fts_bodies=texts,
        fts_title="t",
        line_keys=set(),
    )


def test_sentence_vectors_are_stored_read_and_removed_with_their_document(store: Store):
    doc_id, _, ids = store.save_document(record("a", ["One. Two.", "Three."]))
    model = "m@x"
    assert [cid for cid, _, _ in store.chunks_to_embed(model)] == ids
    vectors = np.eye(4, dtype=np.float32)[:2]
    sentences = [np.eye(4, dtype=np.float32)[:2], np.eye(4, dtype=np.float32)[2:3]]
    store.put_vectors(ids[:1], vectors[:1], model)  # a chunk vector alone is not a finished chunk
    assert [cid for cid, _, _ in store.chunks_to_embed(model)] == ids
    store.put_vectors(ids, vectors, model, sentences)
    assert store.chunks_to_embed(model) == [] and store.missing_vector_count(model) == 0
    got = store.sentence_vectors_of(ids, model, 4)
    np.testing.assert_array_equal(got[ids[0]], sentences[0])
    np.testing.assert_array_equal(got[ids[1]], sentences[1])
    assert store.sentence_vectors_of(ids, "other@model", 4) == {}
    assert [cid for cid, _, _ in store.chunks_to_embed("other@model")] == ids  # a new model embeds again
    store.remove_document(doc_id)
    assert store.sentence_vector_count(model) == 0
    assert not any(store.check().values())


def test_sentence_vectors_cascade_with_their_chunk(store: Store):
    _, _, ids = store.save_document(record("a", ["One."]))
    store.put_vectors(ids, np.ones((1, 2), np.float32), "m", [np.ones((1, 2), np.float32)])
    with store.transaction():
        store.db.execute("DELETE FROM chunks WHERE id = ?", [ids[0]])
    assert store.sentence_vector_count("m") == 0


def test_sentence_migration_is_appended(store: Store):
    import sqlite_utils

    from index.store.database import MIGRATIONS

    names = [m.name for m in MIGRATIONS.pending(sqlite_utils.Database(memory=True))]
    assert names[-1] == "sentence vectors" and names.index("documents") == 0
    assert "sentence vectors" in [m.name for m in MIGRATIONS.applied(store.db)]


# --- with a model: embedding sentences, resumably ---------------------------------------------------------


def test_ingest_embeds_each_chunks_sentences(dense_engine):
    dense_engine.ingest([KNOWLEDGE])
    store, model = dense_engine.store, dense_engine.embedder.name
    chunks = store.chunks([cid for (cid,) in store.db.execute("SELECT id FROM chunks").fetchall()])
    got = store.sentence_vectors_of(list(chunks), model, dense_engine.embedder.dim)
    assert set(got) == set(chunks)
    for cid, chunk in chunks.items():
        assert len(got[cid]) == len(passage_sentences(chunk.text))
    sentence = passage_sentences(next(iter(chunks.values())).text)[0]
    first = got[next(iter(chunks))][0]
    np.testing.assert_allclose(first, dense_engine.embedder.encode_passages([sentence])[0], atol=1e-5)


def test_embedding_killed_halfway_keeps_sentence_vectors_and_resumes(dense_engine, monkeypatch):
    dense_engine.ingest([KNOWLEDGE], embed=False)
    store, model = dense_engine.store, dense_engine.embedder.name
    real = dense_engine.embedder.encode_passages
    calls = []

    def dying(texts, show_progress=False):
        calls.append(list(texts))
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(texts, show_progress)

    monkeypatch.setattr(dense_engine.embedder, "encode_passages", dying)
    with pytest.raises(RuntimeError, match="killed"):
        dense_engine.sync_vectors(batch=3)
    assert store.vector_count(model) == 3
    done = {cid for (cid,) in store.db.execute("SELECT DISTINCT chunk_id FROM sentence_vectors").fetchall()}
    assert len(done) == 3  # the first batch: vectors and sentence vectors together
    monkeypatch.undo()
    assert dense_engine.sync_vectors(batch=3) == store.chunk_count() - 3
    assert store.chunks_to_embed(model) == []
    assert dense_engine.check().ok


def test_chunks_with_vectors_but_no_sentence_vectors_are_completed(dense_engine):
    """A store embedded before sentence vectors existed: the next sync completes it, with no duplicate in FAISS."""
    dense_engine.ingest([KNOWLEDGE])
    store, model = dense_engine.store, dense_engine.embedder.name
    dense_engine.vector_index()
    with store.transaction():
        store.db.execute("DELETE FROM sentence_vectors")
    assert store.missing_vector_count(model) == store.chunk_count()
    assert dense_engine.sync_vectors() == store.chunk_count()
    assert dense_engine.vector_index().count == store.chunk_count()
    assert dense_engine.check().ok
