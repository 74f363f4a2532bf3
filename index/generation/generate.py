"""A generated answer from passages, accepted only when check.py finds every claim in a cited passage.

generate_answer never raises for the ways a model fails (network, server, grounding, budget): it returns a
GeneratedAnswer with accepted=False and the reason, and the caller shows the extractive answer instead.
rewrite_followup turns "and in 2022?" into a stand-alone question, or returns the question unchanged with why.
Both have async twins for a caller inside an event loop; the sync ones run their own loop (worker threads).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from index.text.tokens import detect_language

from .budget import DailyBudget
from .check import check_answer, draft_display
from .client import Completion, chat_async, messages_chars
from .config import LLMConfig, LLMError, RejectReason
from .prompt import NOT_COVERED, Passage, Turn, build_messages, build_rewrite_messages

OnDraft = Callable[[str], None]  # the display text so far (no markers), each time it grows

# Failures after which the server probably did the work: the prompt counts against the budget.
_SPENT_ON_FAILURE = frozenset({RejectReason.TIMEOUT, RejectReason.BROKEN_STREAM, RejectReason.BAD_RESPONSE})


@dataclass(frozen=True)
class GeneratedAnswer:
    text: str  # for display: no [n] markers; empty unless accepted
    cited: tuple[int, ...]  # indexes (0-based) into the passages given, in order of first citation
    model: str
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    usage_estimated: bool
    accepted: bool
    reject_reason: RejectReason | None
    detail: str  # why it was rejected, for the log
    raw_text: str  # the model's reply as it came, markers included


@dataclass(frozen=True)
class RewrittenQuestion:
    question: str  # the stand-alone question, or the original one when rewriting failed or was not needed
    rewritten: bool
    reason: RejectReason | None  # why the original is returned, when the model was asked and failed
    detail: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


def _failed(config: LLMConfig, error: LLMError, started: float, raw: str = "") -> GeneratedAnswer:
    return GeneratedAnswer(
        text="",
        cited=(),
        model=config.model,
        latency_s=time.monotonic() - started,
        prompt_tokens=0,
        completion_tokens=0,
        usage_estimated=True,
        accepted=False,
        reject_reason=error.reason,
        detail=error.detail,
        raw_text=raw,
    )


def _spend_on_failure(budget: DailyBudget | None, error: LLMError, config: LLMConfig, messages: list) -> None:
    if budget is not None and error.reason in _SPENT_ON_FAILURE:
        budget.spend(math.ceil(messages_chars(messages) / config.chars_per_token))


def _draft_callback(on_delta: OnDraft | None) -> Callable[[str], None] | None:
    if on_delta is None:
        return None
    last = ""

    def on_partial(partial: str) -> None:
        nonlocal last
        draft = draft_display(partial)
        if draft and draft != last:
            last = draft
            on_delta(draft)

    return on_partial


async def generate_answer_async(
    config: LLMConfig,
    question: str,
    language: str,
    passages: Sequence[Passage],
    turns: Sequence[Turn] = (),
    on_delta: OnDraft | None = None,
    *,
    budget: DailyBudget | None = None,
    stream: bool | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> GeneratedAnswer:
    """An answer to `question` in `language` ("ru"/"en") from `passages` only. on_delta gets the growing display
    text while the model streams (streaming is on when on_delta is given, unless `stream` says otherwise); the
    draft is not checked yet, so the caller must replace it with the final answer or the extractive fallback."""
    started = time.monotonic()
    if not passages:
        return _failed(config, LLMError(RejectReason.NOT_COVERED, "no passages"), started)
    messages = build_messages(
        question,
        language,
        passages,
        turns,
        max_turns=config.max_turns,
        max_turn_chars=config.max_turn_chars,
        max_sentences=config.max_sentences,
    )
    try:
        if budget is not None:
            budget.check()
        completion: Completion = await chat_async(
            config,
            messages,
            stream=on_delta is not None if stream is None else stream,
            on_delta=_draft_callback(on_delta),
            transport=transport,
        )
    except LLMError as error:
        _spend_on_failure(budget, error, config, messages)
        return _failed(config, error, started)
    if budget is not None:
        budget.spend(completion.prompt_tokens + completion.completion_tokens)
    result = check_answer(completion.text, passages, language)
    return GeneratedAnswer(
        text=result.display if result.ok else "",
        cited=tuple(n - 1 for n in result.cited) if result.ok else (),
        model=completion.model,
        latency_s=time.monotonic() - started,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        usage_estimated=completion.usage_estimated,
        accepted=result.ok,
        reject_reason=result.reason,
        detail=result.detail,
        raw_text=completion.text,
    )


def generate_answer(
    config: LLMConfig,
    question: str,
    language: str,
    passages: Sequence[Passage],
    turns: Sequence[Turn] = (),
    on_delta: OnDraft | None = None,
    *,
    budget: DailyBudget | None = None,
    stream: bool | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> GeneratedAnswer:
    """generate_answer_async on a private event loop, for a worker thread (asyncio.to_thread)."""
    return asyncio.run(
        generate_answer_async(
            config, question, language, passages, turns, on_delta, budget=budget, stream=stream, transport=transport
        )
    )


_QUOTES = "\"'«»“”„`"
_LABEL = re.compile(r"^(?:stand-alone question|standalone question|question|вопрос)\s*:\s*", re.IGNORECASE)


def _clean_rewrite(text: str) -> str:
    line = next((line.strip() for line in text.strip().splitlines() if line.strip()), "")
    line = _LABEL.sub("", line).strip().strip(_QUOTES).strip()
    return " ".join(line.split())


async def rewrite_followup_async(
    config: LLMConfig,
    question: str,
    turns: Sequence[Turn],
    language: str | None = None,
    *,
    budget: DailyBudget | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RewrittenQuestion:
    """The follow-up `question` rewritten to stand alone, in its own language (detected unless given)."""
    started = time.monotonic()
    language = language or detect_language(question)

    def unchanged(reason: RejectReason | None, detail: str, prompt: int = 0, completion: int = 0) -> RewrittenQuestion:
        return RewrittenQuestion(question, False, reason, detail, prompt, completion, time.monotonic() - started)

    if not turns:
        return unchanged(None, "no earlier turns")
    messages = build_rewrite_messages(
        question, language, turns, max_turns=config.max_turns, max_turn_chars=config.max_turn_chars
    )
    try:
        if budget is not None:
            budget.check()
        completion = await chat_async(config, messages, max_tokens=config.rewrite_max_tokens, transport=transport)
    except LLMError as error:
        _spend_on_failure(budget, error, config, messages)
        return unchanged(error.reason, error.detail)
    if budget is not None:
        budget.spend(completion.prompt_tokens + completion.completion_tokens)
    tokens = (completion.prompt_tokens, completion.completion_tokens)
    rewritten = _clean_rewrite(completion.text)
    if not rewritten:
        return unchanged(RejectReason.EMPTY, "empty rewrite", *tokens)
    if NOT_COVERED in rewritten or len(rewritten) > max(300, 4 * len(question) + 200):
        return unchanged(RejectReason.BAD_RESPONSE, f"not a question: {rewritten[:200]!r}", *tokens)
    if detect_language(rewritten) != language:
        return unchanged(RejectReason.WRONG_LANGUAGE, f"rewrite not in {language}: {rewritten[:200]!r}", *tokens)
    return RewrittenQuestion(rewritten, rewritten != question.strip(), None, "", *tokens, time.monotonic() - started)


def rewrite_followup(
    config: LLMConfig,
    question: str,
    turns: Sequence[Turn],
    language: str | None = None,
    *,
    budget: DailyBudget | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RewrittenQuestion:
    """rewrite_followup_async on a private event loop, for a worker thread."""
    return asyncio.run(rewrite_followup_async(config, question, turns, language, budget=budget, transport=transport))
