"""Answers written by an OpenAI-compatible language model from the retrieved passages, each claim checked against
the passage it cites; the extractive answer stays the default and the fallback (see generate.py)."""

from .budget import BudgetStorage, DailyBudget, MemoryStorage
from .check import CheckResult, SentenceCheck, check_answer, draft_display, strip_citations
from .client import Completion, chat, chat_async
from .config import LLMConfig, LLMError, RejectReason
from .evaluate import AnswerMeasure, RunSummary, measure_answer, summarize
from .generate import (
    GeneratedAnswer,
    RewrittenQuestion,
    generate_answer,
    generate_answer_async,
    rewrite_followup,
    rewrite_followup_async,
)
from .prompt import NOT_COVERED, Passage, Turn, build_messages, build_rewrite_messages

# The same class under a name that does not clash with index.results.Passage (a retrieved passage), for index/'s
# public API: what the model is shown of a passage.
PromptPassage = Passage

__all__ = [
    "NOT_COVERED",
    "AnswerMeasure",
    "BudgetStorage",
    "CheckResult",
    "Completion",
    "DailyBudget",
    "GeneratedAnswer",
    "LLMConfig",
    "LLMError",
    "MemoryStorage",
    "Passage",
    "PromptPassage",
    "RejectReason",
    "RewrittenQuestion",
    "RunSummary",
    "SentenceCheck",
    "Turn",
    "build_messages",
    "build_rewrite_messages",
    "chat",
    "chat_async",
    "check_answer",
    "draft_display",
    "generate_answer",
    "generate_answer_async",
    "measure_answer",
    "rewrite_followup",
    "rewrite_followup_async",
    "strip_citations",
    "summarize",
]
