"""Which answer a reader sees: the extract the engine chose, or the language model's answer written from the same
passages, shown only when it passed the grounding check. One function, `shown_answer`, for the CLI and the bot.

The engine decides first, as without a model: an uncovered or small-talk question (answer.answered False) never
costs a call, and neither does an agency answer (a curated staff reply is shown whole). Only then is the model
asked, with the answer's passages (title, date, page), the question, its language and the chat's recent turns —
nothing that names the asker (no user id, name or chat id: index.generation's prompt takes no such argument).
Any way the model fails (the check, NOT_COVERED, an error, 429/5xx after its retry, the timeout, the day's token
budget) leaves the extract on screen, and ShownAnswer says why for the question log.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.messages import is_agency_answer
from index import (
    Answer,
    DailyBudget,
    GeneratedAnswer,
    LLMConfig,
    PromptPassage,
    Store,
    generate_answer,
    rewrite_followup,
)

log = logging.getLogger(__name__)

OnDraft = Callable[[str], None]  # the model's display text so far; called from the thread that generates
LANGUAGES = ("en", "ru")  # what the prompt can ask for


class AnswerSource(str, Enum):
    LLM = "llm"  # the model's answer, checked against its passages
    EXTRACT = "extract"  # the engine's own sentences (no model, not asked, or its answer rejected)


@dataclass(frozen=True)
class ModelUse:
    """What asking the model cost and gave: `rejected` is the RejectReason's value, None when shown."""

    model: str
    latency_ms: int
    prompt_tokens: int
    completion_tokens: int
    rejected: str | None
    detail: str = ""  # why it was rejected, for the log (never shown to the reader)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "latency_ms": self.latency_ms,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "rejected": self.rejected,
        }


@dataclass(frozen=True)
class ShownAnswer:
    """The answer to show (the generated text with the passages it cites, or the extract) and how it came about."""

    answer: Answer
    source: AnswerSource
    llm: ModelUse | None = None  # None: the model was not asked (none configured, or nothing to ask it)

    def to_dict(self, with_model: bool = False) -> dict[str, Any]:
        """`investbot ask --json`: the answer's fields, answer_source and, when a model is configured, "llm"."""
        data = self.answer.to_dict()
        data["answer_source"] = self.source.value
        if with_model:
            data["llm"] = self.llm.to_dict() if self.llm is not None else None
        return data

    def log_columns(self) -> dict[str, Any]:
        """The question log's columns for the model's part (QuestionLog.record(generation=...))."""
        llm = self.llm
        return {
            "answer_source": self.source.value,
            "llm_model": llm.model if llm else None,
            "llm_latency_ms": llm.latency_ms if llm else None,
            "llm_prompt_tokens": llm.prompt_tokens if llm else None,
            "llm_completion_tokens": llm.completion_tokens if llm else None,
            "llm_rejected": llm.rejected if llm else None,
        }


@dataclass(frozen=True)
class AnswerWriter:
    """The configured model and its daily budget: what `shown_answer` needs to ask it."""

    config: LLMConfig
    budget: DailyBudget | None = None


def writer_for(config: LLMConfig | None, daily_tokens: int, store: Store | None) -> AnswerWriter | None:
    """The writer for Settings.llm_config() (None: no model), its budget counted in the question log's database."""
    if config is None:
        return None
    if daily_tokens <= 0:
        return AnswerWriter(config)
    from bot.questions.log import StoredBudget

    return AnswerWriter(config, DailyBudget(daily_tokens, StoredBudget(store) if store is not None else None))


def prompt_passages(answer: Answer) -> list[PromptPassage]:
    """What the model is shown of each passage: its text, title, date and page — not its file or address."""
    return [PromptPassage(p.text, title=p.title, date=p.date or "", page=p.page) for p in answer.passages]


def asks_model(writer: AnswerWriter | None, answer: Answer) -> bool:
    """Whether this answer goes to the model: a model is configured and the engine found the question covered."""
    return (
        writer is not None
        and answer.answered
        and bool(answer.passages)
        and answer.language in LANGUAGES
        and not is_agency_answer(answer.passages[0])
    )


def shown_answer(
    writer: AnswerWriter | None,
    answer: Answer,
    turns: Sequence[tuple[str, str]] = (),
    on_delta: OnDraft | None = None,
) -> ShownAnswer:
    """The answer a reader sees for the engine's `answer`. Blocking (the model's call runs its own event loop):
    the bot calls it in a worker thread, and `on_delta` is then called from that thread while the model streams.
    `turns`: the chat's recent (question, answer) pairs, oldest first; their text only is sent."""
    extract = ShownAnswer(answer, AnswerSource.EXTRACT)
    if writer is None or not asks_model(writer, answer):
        return extract
    generated = generate_answer(
        writer.config,
        answer.question,
        answer.language,
        prompt_passages(answer),
        turns,
        on_delta,
        budget=writer.budget,
    )
    use = model_use(generated)
    if not generated.accepted:
        log.info("Generated answer not shown (%s): %s", use.rejected, generated.detail)
        return dataclasses.replace(extract, llm=use)
    cited = tuple(answer.passages[i] for i in generated.cited if 0 <= i < len(answer.passages))
    shown = dataclasses.replace(answer, answer=generated.text, passages=cited or answer.passages)
    return ShownAnswer(shown, AnswerSource.LLM, use)


def model_use(generated: GeneratedAnswer) -> ModelUse:
    return ModelUse(
        model=generated.model,
        latency_ms=round(generated.latency_s * 1000),
        prompt_tokens=generated.prompt_tokens,
        completion_tokens=generated.completion_tokens,
        rejected=generated.reject_reason.value if generated.reject_reason is not None else None,
        detail=generated.detail,
    )


def model_rewritten(writer: AnswerWriter, question: str, turns: Sequence[tuple[str, str]], language: str) -> str | None:
    """A follow-up rewritten by the model into a question that stands alone (only the question and the chat's recent
    turns are sent), or None when the model failed or kept it as it was: the rule-based reading stands then."""
    result = rewrite_followup(writer.config, question, list(turns), language, budget=writer.budget)
    return result.question if result.rewritten and result.question.strip() else None
