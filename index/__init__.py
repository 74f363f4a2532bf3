"""InvestBot's library: read → clean → chunk → embed → store → search → read → answer.

The application (bot/) imports only what is named here. Names load on first use (PEP 562), so importing
`index` is free: the readers, the web stack, FAISS and the model come in only when a caller touches them.
The subpackages follow the pipeline: readers/ (formats) → ingest/ (cleaning, metadata, chunking, files and
web pages) → store/ (SQLite, migrations, consistency) → dense/ (the model, vectors, FAISS) → answering/
(retrieval, windows, scoring, the decision); text/ holds the pure text work they share, web/ the safe fetch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index.conversation.followup import How, Resolved, is_followup, resolve
    from index.conversation.smalltalk import SmallTalk, classify, message_language, strip_greeting
    from index.conversation.split import questions_in
    from index.dense.model import (
        BACKENDS,
        BUNDLED_MODEL,
        DEFAULT_MODEL,
        Backend,
        BackendAvailability,
        BackendError,
        Embedder,
        ModelUnavailable,
        Unavailable,
        available_backends,
        choose_backend,
        is_bundled,
        load_embedder,
    )
    from index.engine import Engine, EngineConfig, open_model
    from index.evaluation import find_eval_dir, format_table, load_xquad, run_eval
    from index.generation import (
        AnswerMeasure,
        BudgetStorage,
        DailyBudget,
        GeneratedAnswer,
        LLMConfig,
        PromptPassage,
        RejectReason,
        RunSummary,
        generate_answer,
        measure_answer,
        rewrite_followup,
        summarize,
    )
    from index.ingest.addresses import is_address, normalize_address
    from index.ingest.files import DocumentNotFound, IngestReport, IngestResult, IngestStatus, iter_files
    from index.ingest.web import ListingResult, WebReport, WebResult
    from index.readers import SUPPORTED_FORMATS, ReadError
    from index.results import Answer, Chunk, Document, Hit, Passage
    from index.store.consistency import CheckReport
    from index.store.database import Store
    from index.store.migrations import run_script
    from index.text.glossary import translations
    from index.text.tokens import STOPWORDS, detect_language, stem_word, words
    from index.web import FetchConfig, FetchError

_SOURCES = {
    "How": "index.conversation.followup",
    "Resolved": "index.conversation.followup",
    "is_followup": "index.conversation.followup",
    "resolve": "index.conversation.followup",
    "SmallTalk": "index.conversation.smalltalk",
    "classify": "index.conversation.smalltalk",
    "message_language": "index.conversation.smalltalk",
    "strip_greeting": "index.conversation.smalltalk",
    "questions_in": "index.conversation.split",
    "Engine": "index.engine",
    "EngineConfig": "index.engine",
    "open_model": "index.engine",
    "Answer": "index.results",
    "Chunk": "index.results",
    "Document": "index.results",
    "Hit": "index.results",
    "Passage": "index.results",
    "DocumentNotFound": "index.ingest.files",
    "IngestReport": "index.ingest.files",
    "IngestResult": "index.ingest.files",
    "IngestStatus": "index.ingest.files",
    "iter_files": "index.ingest.files",
    "is_address": "index.ingest.addresses",
    "normalize_address": "index.ingest.addresses",
    "ListingResult": "index.ingest.web",
    "WebReport": "index.ingest.web",
    "WebResult": "index.ingest.web",
    "CheckReport": "index.store.consistency",
    "Store": "index.store.database",
    "run_script": "index.store.migrations",
    "ReadError": "index.readers",
    "SUPPORTED_FORMATS": "index.readers",
    "FetchConfig": "index.web",
    "FetchError": "index.web",
    "STOPWORDS": "index.text.tokens",
    "detect_language": "index.text.tokens",
    "stem_word": "index.text.tokens",
    "words": "index.text.tokens",
    "translations": "index.text.glossary",
    "BACKENDS": "index.dense.model",
    "BUNDLED_MODEL": "index.dense.model",
    "Backend": "index.dense.model",
    "BackendAvailability": "index.dense.model",
    "BackendError": "index.dense.model",
    "DEFAULT_MODEL": "index.dense.model",
    "Embedder": "index.dense.model",
    "ModelUnavailable": "index.dense.model",
    "Unavailable": "index.dense.model",
    "available_backends": "index.dense.model",
    "choose_backend": "index.dense.model",
    "is_bundled": "index.dense.model",
    "load_embedder": "index.dense.model",
    "find_eval_dir": "index.evaluation",
    "format_table": "index.evaluation",
    "run_eval": "index.evaluation",
    "load_xquad": "index.evaluation",
    "AnswerMeasure": "index.generation",
    "BudgetStorage": "index.generation",
    "DailyBudget": "index.generation",
    "GeneratedAnswer": "index.generation",
    "LLMConfig": "index.generation",
    "PromptPassage": "index.generation",
    "RejectReason": "index.generation",
    "RunSummary": "index.generation",
    "generate_answer": "index.generation",
    "rewrite_followup": "index.generation",
    "measure_answer": "index.generation",
    "summarize": "index.generation",
}
__all__ = [
    "BACKENDS",
    "BUNDLED_MODEL",
    "DEFAULT_MODEL",
    "STOPWORDS",
    "SUPPORTED_FORMATS",
    "Answer",
    "AnswerMeasure",
    "Backend",
    "BackendAvailability",
    "BackendError",
    "BudgetStorage",
    "CheckReport",
    "Chunk",
    "DailyBudget",
    "Document",
    "DocumentNotFound",
    "Embedder",
    "Engine",
    "EngineConfig",
    "FetchConfig",
    "FetchError",
    "GeneratedAnswer",
    "Hit",
    "How",
    "IngestReport",
    "IngestResult",
    "IngestStatus",
    "LLMConfig",
    "ListingResult",
    "ModelUnavailable",
    "Passage",
    "PromptPassage",
    "ReadError",
    "RejectReason",
    "Resolved",
    "RunSummary",
    "SmallTalk",
    "Store",
    "Unavailable",
    "WebReport",
    "WebResult",
    "available_backends",
    "choose_backend",
    "classify",
    "detect_language",
    "find_eval_dir",
    "format_table",
    "generate_answer",
    "is_address",
    "is_bundled",
    "is_followup",
    "iter_files",
    "load_embedder",
    "load_xquad",
    "measure_answer",
    "message_language",
    "normalize_address",
    "open_model",
    "questions_in",
    "resolve",
    "rewrite_followup",
    "run_eval",
    "run_script",
    "stem_word",
    "strip_greeting",
    "summarize",
    "translations",
    "words",
]


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
