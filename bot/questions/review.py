"""Staff review of the question log as text: the --since periods, the exports, the statistics report.

The rows and figures come from bot/questions/log.py and the topics from bot/questions/gaps.py; this module only
turns them into what staff read — CSV that Excel opens, JSON, a table, and the stats report that
both `investbot stats` and the bot's /stats show (in the reader's language, through bot/messages.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Sequence

from bot.messages import plural, text, topic_label
from bot.questions.gaps import Topic
from bot.questions.log import QuestionStats

FORMATS = ("table", "csv", "json")


class SinceError(ValueError):
    """A --since value that is neither a duration nor a date; the message shows both forms."""


def parse_since(value: str | None, now: dt.datetime | None = None) -> str | None:
    """'7d', '24h', '2w' or a date '2026-11-01' -> an ISO UTC timestamp to compare with asked_at."""
    if value is None or not value.strip():
        return None
    now = now or dt.datetime.now(dt.UTC)
    spec = value.strip().lower()
    match = re.fullmatch(r"(\d+)\s*([hdw])", spec)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {"h": dt.timedelta(hours=amount), "d": dt.timedelta(days=amount), "w": dt.timedelta(weeks=amount)}[unit]
        return (now - delta).replace(microsecond=0).isoformat()
    try:
        day = dt.date.fromisoformat(spec)
    except ValueError:
        raise SinceError(
            f"--since {value!r} is not understood: use a duration like 7d, 24h, 2w or a date like 2026-11-01"
        ) from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).isoformat()


# --- output --------------------------------------------------------------------------------------

COLUMNS = (
    "id",
    "asked_at",
    "channel",
    "chat_type",
    "language",
    "answered",
    "top_score",
    "latency_ms",
    "feedback",
    "question",
    "answer",
    "doc_ids",
    "answer_source",
    "llm_model",
    "llm_latency_ms",
    "llm_rejected",
)


def format_questions(rows: Sequence[dict], fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (choose from: {', '.join(FORMATS)})")
    if fmt == "json":
        return json.dumps([{c: _json_value(c, r[c]) for c in COLUMNS} for r in rows], ensure_ascii=False, indent=2)
    if fmt == "csv":
        # UTF-8 with a BOM and CRLF: Excel then opens Russian text correctly.
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow(["" if r[c] is None else r[c] for c in COLUMNS])
        return "\ufeff" + buffer.getvalue()
    if not rows:
        return "No questions match."
    lines = []
    for r in rows:
        mark = "✓" if r["answered"] else "✗"
        vote = {1: " 👍", -1: " 👎"}.get(r["feedback"], "")
        asked = r["asked_at"][:16].replace("T", " ")
        lines.append(f"{r['id']:>5}  {asked}  {r['channel']:<8} {r['language'] or '':<2} {mark}{vote}  {r['question']}")
    return "\n".join(lines)


def _json_value(column: str, value):
    if column == "doc_ids":
        return json.loads(value or "[]")
    if column == "answered":
        return bool(value)
    return value


def format_stats(stats: QuestionStats, topics: Sequence[Topic], period: str, language: str = "en") -> str:
    """The stats report; `period` completes "Questions …" (e.g. "in the last 7 days")."""
    lines = [text("stats_questions", language, period=period, n=stats.questions)]
    if stats.questions:
        lines.append(text("stats_answered", language, n=stats.answered, rate=stats.answer_rate))
    lines.append(text("feedback_balance", language, positive=stats.positive, negative=stats.negative))
    if stats.llm_asked:
        rate = stats.llm_shown / stats.llm_asked
        lines.append(text("stats_llm", language, shown=stats.llm_shown, asked=stats.llm_asked, rate=rate))
        if stats.llm_rejections:
            reasons = ", ".join(f"{reason} {n}" for reason, n in stats.llm_rejections.items())
            lines.append(text("stats_llm_rejected", language, reasons=reasons))
        if stats.llm_latency_p50 is not None:
            p50, p95 = stats.llm_latency_p50, stats.llm_latency_p95
            lines.append(text("stats_llm_latency", language, p50=p50, p95=p95))
    if stats.per_day:
        lines.append("")
        lines.append(text("stats_per_day", language))
        for d in stats.per_day:
            lines.append(f"  {d['day']}   {d['questions']:>9}  {d['answered'] or 0:>8}")
    if stats.most_cited:
        lines.append("")
        lines.append(text("stats_most_cited", language))
        for d in stats.most_cited:
            lines.append(f"  {d['citations']:>4}×  #{d['id']} {d['title']}" + (f" ({d['date']})" if d["date"] else ""))
    lines.append("")
    if topics:
        lines.append(text("stats_gaps", language))
        for t in topics:
            noun = plural(t.size, "question", language)
            label = topic_label(t.label, language)
            lines.append(text("stats_gap", language, size=t.size, noun=noun, label=label, example=t.example))
    else:
        lines.append(text("stats_no_gaps", language))
    return "\n".join(lines)
