"""Scheduled work: the daily digest for staff (and the question log's retention purge with it), and the
daily refresh of web documents (INVESTBOT_REFRESH_TIME), reported to staff when anything changed or failed.

The expiry of questions waiting for staff runs hourly from bot/telegram/escalations.py; the digest
lists those still waiting.

The JobQueue runs these on the event loop, so everything that reads or writes SQLite happens in a
worker thread (asyncio.to_thread); only the sending is awaited on the loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence

from bot.messages import plural, text, topic_label
from bot.questions.escalations import Escalation, Escalations
from bot.questions.log import QuestionLog
from bot.settings import web_failure_line
from bot.telegram.context import BotContext, send_report
from bot.telegram.embedding import EmbedOutcome
from index import WebReport

log = logging.getLogger(__name__)

DIGEST_ITEMS = 10  # topics listed in the digest
DIGEST_NEGATIVE = 5  # 👎 answers listed in the digest
DIGEST_ANSWER_CHARS = 200  # how much of a 👎 answer the digest quotes


def digest_text(
    questions: QuestionLog, lang: str, now: dt.datetime | None = None, pending: Sequence[Escalation] = ()
) -> str:
    """The daily digest for staff: the last 24 hours in a few lines, and the questions waiting for them."""
    now = now or dt.datetime.now(dt.UTC)
    since = (now - dt.timedelta(hours=24)).replace(microsecond=0).isoformat()
    stats = questions.stats(since)
    lines = [text("digest_title", lang, n=stats.questions, noun=plural(stats.questions, "question", lang))]
    if stats.questions:
        lines[0] += text("digest_answered", lang, n=stats.answered, rate=stats.answer_rate)
    lines.append(text("feedback_balance", lang, positive=stats.positive, negative=stats.negative))
    topics = questions.gap_topics(questions.questions(since=since, unanswered=True))
    if topics:
        lines += ["", text("digest_gaps", lang)]
        lines += [
            text("topic_line", lang, size=t.size, label=topic_label(t.label, lang), example=t.example)
            for t in topics[:DIGEST_ITEMS]
        ]
    negative = questions.questions(since=since, negative=True, limit=DIGEST_NEGATIVE)
    if negative:
        lines += ["", text("digest_negative", lang)]
        lines += [f"• {r['question']} → {(r['answer'] or '')[:DIGEST_ANSWER_CHARS]}" for r in negative]
    if pending:
        lines += ["", text("digest_pending", lang, n=len(pending))]
        lines += [
            text("pending_line", lang, id=e.id, question=e.question, since=e.escalated_at[:10], waiting=e.askers)
            for e in pending[:DIGEST_ITEMS]
        ]
    return "\n".join(lines)


def purge_and_digest(questions: QuestionLog, lang: str, escalations: Escalations | None = None) -> str:
    """Apply the retention period, then write the digest (one worker-thread trip)."""
    questions.purge()
    pending = escalations.waiting() if escalations is not None else []
    return digest_text(questions, lang, pending=pending)


async def send_digest(context: BotContext) -> None:
    """JobQueue callback: the digest to every admin; one unreachable admin does not stop the others."""
    data = context.bot_data
    report = await asyncio.to_thread(purge_and_digest, data.questions, data.settings.staff_language, data.escalations)
    for admin in sorted(data.settings.admins):
        try:
            await send_report(context, admin, report)
        except Exception:
            log.warning("Could not send the daily digest to an admin", exc_info=True)


def refresh_text(report: WebReport, lang: str) -> str | None:
    """The refresh report for staff: what changed, what is new, what failed; None on a day when nothing did."""
    changed = [r for r in report.results if r.status == "replaced"]
    new = [r for r in report.results if r.status == "added"]
    failed = report.failed
    if not (changed or new or failed):
        return None
    counts = {"unchanged": report.count("unchanged"), "changed": len(changed), "failed": len(failed), "new": len(new)}
    lines = [text("refresh_title", lang, **counts)]
    for key, results in (("refresh_changed", changed), ("refresh_new", new), ("refresh_failed", failed)):
        if not results:
            continue
        lines += ["", text(key, lang)]
        for result in results[:DIGEST_ITEMS]:
            failure = result.status == "failed"
            lines.append(f"• {web_failure_line(result, lang)}" if failure else f"• {result.title} — {result.url}")
        if len(results) > DIGEST_ITEMS:
            lines.append(text("and_more", lang, n=len(results) - DIGEST_ITEMS))
    return "\n".join(lines)


async def refresh_web(context: BotContext) -> None:
    """JobQueue callback: re-fetch web documents and followed listings, then tell every admin what changed."""
    data = context.bot_data
    report = await asyncio.to_thread(data.engine.refresh, data.settings.fetch_config(), embed=False)
    counts = [report.count(status) for status in ("unchanged", "replaced", "failed", "added")]
    log.info("Web refresh: %d unchanged, %d changed, %d failed, %d new", *counts)
    message = refresh_text(report, data.settings.staff_language)
    if message is not None:
        for admin in sorted(data.settings.admins):
            try:
                await send_report(context, admin, message)
            except Exception:
                log.warning("Could not send the refresh report to an admin", exc_info=True)
    if report.chunk_ids and data.embedding.enabled:  # changed and new pages, by meaning too
        await data.embedding.run()


async def embed_backlog(context: BotContext) -> None:
    """JobQueue callback, once at start: embed the chunks a killed or lexical-only run left without a vector."""
    embedding = context.bot_data.embedding
    embedder = embedding.engine.embedder
    if embedder is None:  # not embedding.enabled
        return
    missing = await asyncio.to_thread(embedding.missing)
    if not missing:
        return
    log.info(
        "%d chunks have no vector from %s yet: embedding them in the background; until then they are "
        "found by keywords only.",
        missing,
        embedder.label,
    )
    run = await embedding.run()
    if run.outcome is EmbedOutcome.DONE:
        log.info("Embedded %d chunks in %.0f s: every chunk can be found by meaning now.", run.chunks, run.seconds)
    elif run.outcome is EmbedOutcome.STOPPED:
        log.info("Embedding stopped with the bot after %d chunks; the next start goes on.", run.chunks)
    else:
        log.warning(
            "Embedding stopped after %d chunks: %s. Those left are found by keywords only.", run.chunks, run.error
        )
