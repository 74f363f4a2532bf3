"""`investbot eval --llm`: how the configured language model answers XQuAD questions from their passages.

Per direction (en→en, ru→ru, ru→en, en→ru), each question of a sample is asked with three passages: its own
paragraph (in the passages' language) and two others, the gold one at a rotating position. The model's reply is
judged by index.generation.evaluate: written in the question's language, every sentence citing a given passage,
figures and names found in the cited passage, accepted whole by the check; and whether it cites the gold paragraph.
Calls that fail (timeout, errors) are counted apart: they say nothing of the model's answers. No daily budget
applies: an evaluation is an operator's deliberate spend.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.questions.log import percentile
from index import LLMConfig, PromptPassage, RejectReason, generate_answer, load_xquad, measure_answer, summarize

DIRECTIONS = {"en-en": ("en", "en"), "ru-ru": ("ru", "ru"), "ru-en": ("ru", "en"), "en-ru": ("en", "ru")}
DEFAULT_LIMIT = 20  # questions per direction when --limit is not given: each is a paid call
PASSAGES = 3
# A call that failed: no reply to judge.
CALL_FAILURES = frozenset(
    {
        RejectReason.TIMEOUT,
        RejectReason.UNREACHABLE,
        RejectReason.HTTP_ERROR,
        RejectReason.RATE_LIMITED,
        RejectReason.BROKEN_STREAM,
        RejectReason.BAD_RESPONSE,
        RejectReason.BUDGET,
    }
)


@dataclass(frozen=True)
class DirectionFigures:
    direction: str
    questions: int
    failed_calls: int  # no reply: timeouts, errors
    language_correct: float  # shares over the replies that are not NOT_COVERED
    citations_valid: float
    grounded: float
    accepted: float  # share of the replies
    rejected: float  # 1 - accepted
    not_covered: float
    cites_gold: float  # share of the accepted answers that cite the question's own paragraph
    latency_p50_ms: int | None
    latency_p95_ms: int | None
    reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def run_llm_eval(
    config: LLMConfig,
    eval_dir: Path,
    directions: Sequence[str] = tuple(DIRECTIONS),
    limit: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[DirectionFigures]:
    data = {lang: load_xquad(Path(eval_dir) / "xquad" / f"xquad.{lang}.json") for lang in ("en", "ru")}
    results = []
    for name in directions:
        q_lang, d_lang = DIRECTIONS[name]
        paragraphs, _ = data[d_lang]
        _, questions = data[q_lang]
        by_key = {p.key: i for i, p in enumerate(paragraphs)}
        sample = [q for q in questions if q.paragraph in by_key][: limit or DEFAULT_LIMIT]
        measures, latencies, failed, cites_gold = [], [], 0, 0
        for n, question in enumerate(sample):
            gold = by_key[question.paragraph]
            others = [i % len(paragraphs) for i in range(gold + 1, gold + len(paragraphs))]
            chosen = [i for i in others if paragraphs[i].key != question.paragraph][: PASSAGES - 1]
            position = n % (len(chosen) + 1)
            order = [*chosen[:position], gold, *chosen[position:]]
            passages = [PromptPassage(paragraphs[i].text, title=paragraphs[i].title) for i in order]
            generated = generate_answer(config, question.text, q_lang, passages)
            if progress is not None:
                progress(name, n + 1, len(sample))
            if generated.reject_reason in CALL_FAILURES:
                failed += 1
                continue
            latencies.append(round(generated.latency_s * 1000))
            measure = measure_answer(question.text, q_lang, passages, generated.raw_text)
            measures.append(measure)
            if measure.accepted and position + 1 in measure.cited:
                cites_gold += 1
        summary = summarize(measures)
        accepted = sum(m.accepted for m in measures)
        latencies.sort()
        results.append(
            DirectionFigures(
                direction=name,
                questions=len(sample),
                failed_calls=failed,
                language_correct=summary.language_correct,
                citations_valid=summary.citations_valid,
                grounded=summary.grounded,
                accepted=summary.accepted,
                rejected=1.0 - summary.accepted if measures else 0.0,
                not_covered=summary.not_covered,
                cites_gold=cites_gold / accepted if accepted else 0.0,
                latency_p50_ms=percentile(latencies, 0.5),
                latency_p95_ms=percentile(latencies, 0.95),
                reasons=summary.reasons,
            )
        )
    return results


def format_llm_table(model: str, results: Sequence[DirectionFigures]) -> str:
    head = (
        f"{'direction':<10} {'asked':>5} {'failed':>6} {'language':>8} {'citations':>9} {'grounded':>8} "
        f"{'accepted':>8} {'rejected':>8} {'gold':>6} {'p50 ms':>7}"
    )
    lines = [f"Language model {model}: answers from three XQuAD passages each (the gold one among them)", head]
    for r in results:
        p50 = "—" if r.latency_p50_ms is None else str(r.latency_p50_ms)
        lines.append(
            f"{r.direction:<10} {r.questions:>5} {r.failed_calls:>6} {r.language_correct:>8.0%} "
            f"{r.citations_valid:>9.0%} {r.grounded:>8.0%} {r.accepted:>8.0%} {r.rejected:>8.0%} "
            f"{r.cites_gold:>6.0%} {p50:>7}"
        )
    for r in results:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(r.reasons.items(), key=lambda kv: -kv[1]))
        if reasons:
            lines.append(f"{r.direction}: {reasons}")
    return "\n".join(lines)


def llm_eval_json(model: str, results: Sequence[DirectionFigures]) -> str:
    return json.dumps(
        {"model": model, "directions": {r.direction: r.to_dict() for r in results}}, indent=2, ensure_ascii=False
    )
