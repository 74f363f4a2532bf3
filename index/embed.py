"""Sentence embeddings, loaded only from local files at run time.

`sentence_transformers` (and torch) take seconds to import, so they are imported here, lazily,
only when a model is really loaded: lexical-only runs never pay for them. Downloading is a
separate, explicit step (`investbot model pull`) because a hub lookup without a network stalls
for a minute on retries.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "intfloat/multilingual-e5-small"


class ModelUnavailable(RuntimeError):
    """The model is neither a local folder nor in the local cache (or failed to load)."""


def prefixes_for(name: str) -> tuple[str, str]:
    """(query prefix, passage prefix): E5 models were trained with them and rank worse without."""
    lowered = name.lower()
    if "e5" in lowered.replace("\\", "/").split("/")[-1] or "/e5" in lowered or "-e5-" in lowered:
        return "query: ", "passage: "
    return "", ""


@dataclass
class Embedder:
    """A loaded model with the prefixes it expects; vectors are L2-normalised float32."""

    name: str
    model: object = field(repr=False)
    query_prefix: str = ""
    passage_prefix: str = ""
    batch_size: int = 32

    @property
    def dim(self) -> int:
        # Renamed in sentence-transformers 5.x; keep working with older releases.
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts])

    def encode_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts], show_progress)


def load_embedder(
    name: str, *, cache_dir: Path | None = None, backend: str = "torch", allow_download: bool = False
) -> Embedder:
    """Load `name` (a local folder or a hub name already in the cache) without touching the network.

    allow_download is only for `investbot model pull`.
    """
    if not allow_download:
        # Must be set before huggingface_hub is imported for the first time; harmless after.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    local = Path(name).expanduser()
    is_local = local.is_dir()
    if not is_local and not allow_download and not _in_cache(name, cache_dir):
        raise ModelUnavailable(f"model '{name}' is not in the local cache")
    try:
        from sentence_transformers import SentenceTransformer

        kwargs: dict = {"device": "cpu", "backend": backend}
        if cache_dir is not None:
            kwargs["cache_folder"] = str(cache_dir)
        if not allow_download:
            kwargs["local_files_only"] = True
        model = SentenceTransformer(str(local) if is_local else name, **kwargs)
    except Exception as exc:  # any loading failure means: no dense search, say why
        raise ModelUnavailable(f"model '{name}' could not be loaded: {type(exc).__name__}: {exc}") from exc
    query_prefix, passage_prefix = prefixes_for(name)
    return Embedder(name=name, model=model, query_prefix=query_prefix, passage_prefix=passage_prefix)


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
