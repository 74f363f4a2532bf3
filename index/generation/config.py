"""What a generated answer needs to know about its language model, and the one list of reasons an answer fails.

The library names no environment variable: the application (bot/) reads its settings and hands a frozen LLMConfig
here. Every way a generated answer can fail, from the network (TIMEOUT, RATE_LIMITED...) to the grounding check
(UNSUPPORTED_NUMBER...) to the daily budget (BUDGET), is one RejectReason, so the caller logs one field and falls
back to the extractive answer whatever went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True)
class LLMConfig:
    """An OpenAI-compatible chat-completions endpoint and how to use it.

    url: the API base ("http://127.0.0.1:8000/v1") or the full ".../chat/completions" address.
    timeout: seconds for the whole answer: connect, the wait, every streamed chunk and one retry.
    max_tokens: the answer's limit; rewrite_max_tokens: the follow-up rewrite's limit.
    max_retry_after: the longest Retry-After (seconds) the one retry honours; a longer one fails at once.
    max_turns, max_turn_chars: how much of the recent chat goes into the prompt.
    max_answer_chars: a reply longer than this is a BAD_RESPONSE (a runaway model, a hostile server).
    chars_per_token: the estimate used when the server reports no usage.
    proxy: an HTTP proxy for the endpoint; the environment's proxy variables are ignored on purpose.
    """

    url: str
    model: str
    api_key: str | None = field(default=None, repr=False)  # never in a log line
    timeout: float = 30.0
    max_tokens: int = 600
    rewrite_max_tokens: int = 80
    temperature: float = 0.1
    max_retry_after: float = 5.0
    max_turns: int = 3
    max_turn_chars: int = 600
    max_sentences: int = 6
    max_answer_chars: int = 20_000
    chars_per_token: float = 3.0
    proxy: str | None = None

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


class RejectReason(str, Enum):
    """Why no generated answer is shown (the extractive answer is, instead)."""

    # The model's reply, judged against its passages (check.py).
    EMPTY = "empty"
    NOT_COVERED = "not_covered"  # the model said the passages do not answer the question
    NO_CITATION = "no_citation"  # a sentence cites no passage
    BAD_CITATION = "bad_citation"  # a sentence cites a passage that was not given ([7] of 3)
    UNSUPPORTED_NUMBER = "unsupported_number"  # a figure, date, amount or unit no cited passage holds
    UNSUPPORTED_NAME = "unsupported_name"  # a proper name no cited passage holds
    WRONG_LANGUAGE = "wrong_language"  # not in the question's language
    # The call (client.py).
    TIMEOUT = "timeout"  # the whole answer did not arrive within LLMConfig.timeout
    UNREACHABLE = "unreachable"  # no connection to the endpoint
    HTTP_ERROR = "http_error"  # a 4xx, or a 5xx again after the retry
    RATE_LIMITED = "rate_limited"  # a 429 again after the retry, or a Retry-After too long to wait
    BROKEN_STREAM = "broken_stream"  # the connection ended before the answer did
    BAD_RESPONSE = "bad_response"  # not the JSON or SSE an OpenAI-compatible server sends
    # The application's limit (budget.py).
    BUDGET = "budget"  # today's token budget is spent


class LLMError(Exception):
    """A call to the language model that produced no usable reply; `reason` says which way it failed."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
