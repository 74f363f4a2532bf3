"""Sentence embeddings, loaded only from local files at run time.

`sentence_transformers` (and torch) take seconds to import, so they are imported here, lazily,
only when a model is really loaded: lexical-only runs never pay for them. Downloading is a
separate, explicit step (`investbot model pull`) because a hub lookup without a network stalls
for a minute on retries.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "intfloat/multilingual-e5-small"

# What sentence-transformers' backend="onnx" imports (its `onnx` extra: optimum-onnx[onnxruntime]).
ONNX_MODULES = ("onnxruntime", "optimum.onnxruntime")
ONNX_INSTALL_HINT = "pip install -c constraints.txt 'sentence-transformers[onnx]'"


MODEL_HINT = (
    "To enable it, run `investbot model pull` on a machine with internet, "
    "or set INVESTBOT_MODEL to a local model folder."
)


class ModelUnavailable(RuntimeError):
    """The model is neither a local folder nor in the local cache (or failed to load).

    `hint` says what the user can do about it; a backend problem needs another remedy than a
    missing model.
    """

    def __init__(self, message: str, hint: str = MODEL_HINT):
        super().__init__(message)
        self.hint = hint


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
    problem = backend_problem(backend)
    if problem:
        raise ModelUnavailable(problem, hint="")  # the problem text names the remedy
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


def backend_problem(backend: str) -> str | None:
    """Why `backend` cannot run here, in one line (None: nothing found wrong).

    sentence-transformers reports a missing ONNX runtime only as a generic exception after the
    (slow) import, and hides *why* an installed one fails to import; this says which package is
    missing and how to install it, or what broke.
    """
    if backend != "onnx":
        return None
    missing = [module for module in ONNX_MODULES if not _importable(module)]
    if missing:
        return (
            f"backend 'onnx' needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed "
            f"(install with `{ONNX_INSTALL_HINT}`, or set INVESTBOT_BACKEND=torch)"
        )
    try:
        importlib.import_module("onnxruntime")
        getattr(importlib.import_module("optimum.onnxruntime"), "ORTModelForFeatureExtraction")
    except Exception as exc:  # installed, but e.g. built against another transformers release
        root = exc
        while root.__cause__ is not None or root.__context__ is not None:
            root = root.__cause__ or root.__context__
        return (
            f"backend 'onnx': optimum.onnxruntime is installed but cannot be imported "
            f"({type(root).__name__}: {str(root).splitlines()[0] if str(root) else ''}); "
            f"it may not support the installed transformers {_version('transformers')}; set INVESTBOT_BACKEND=torch"
        )
    return None


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package raises instead of returning None
        return False


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "(not installed)"


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
