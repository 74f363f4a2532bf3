"""What agency staff do with the bot: upload documents, list and remove them, read /stats and /unanswered.

Every path here is wrapped in `admin_only`, so an investor who finds a staff command gets a polite
refusal and changes nothing. Work that touches the store, the engine or the upload folder runs
in a worker thread (asyncio.to_thread): the event loop keeps serving investors meanwhile. An upload is
committed first (found by keywords at once) and embedded in the background (bot/telegram/embedding.py); staff get
the reply at once and, for a document that takes the model a while, a second message when it is embedded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import re
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.constants import ChatAction

from bot.messages import date_text, ingested_text, reason_text, text, topic_label
from bot.questions.log import QuestionLog
from bot.questions.review import format_stats
from bot.settings import TELEGRAM_DOWNLOAD_LIMIT_MB, MiB, with_limit_variable
from bot.telegram import formatting
from bot.telegram.context import (
    BotContext,
    BotData,
    message_parts,
    reply,
    send_html,
    send_plain,
    send_report,
    show_action,
    user_language,
)
from bot.telegram.embedding import EmbedOutcome, EmbedRun
from index import SUPPORTED_FORMATS

if TYPE_CHECKING:
    from index import Document, IngestResult

REPORT_TOPICS = 10  # topics and questions a staff report lists
# How long an upload's reply waits for its embedding: done by then (a small document), one message says
# it all; else the reply goes at once and a second message follows when the chunks are embedded.
QUIET_EMBED_S = 2.0


def upload_formats() -> str:
    """The kinds of file staff can send, named from the readers' registry ("DOCX, HTML, MD, PDF, TXT")."""
    return ", ".join(sorted({fmt.upper() for fmt in SUPPORTED_FORMATS.values()}))


def safe_file_name(name: str) -> str:
    """The sender's file name as a label only: no folders, no leading dots, never empty."""
    base = re.split(r"[\\/]", name)[-1].strip().lstrip(".").strip()
    return base or "document"


def upload_path(uploads: Path, source: str) -> Path:
    """Where an upload's original is kept: a name derived from its source, not chosen by the sender."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:24]
    return uploads / f"{digest}{Path(source).suffix.lower()}"


Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def admin_only(handler: Handler) -> Handler:
    """Staff paths, one check: the sender must be in INVESTBOT_ADMINS; anyone else gets a polite refusal (a
    command, a message) or a short alert (a button) and nothing else happens."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        user = update.effective_user
        if context.bot_data.settings.is_admin(user.id if user else None):
            await handler(update, context)
        elif update.callback_query:
            await update.callback_query.answer(text("admins_only", user_language(update)))
        elif update.effective_message:
            await reply(update, text("admins_only", user_language(update)))

    return guarded


# --- uploads --------------------------------------------------------------------------------------


@admin_only
async def document(update: Update, context: BotContext) -> None:
    """A file from staff: check it, download it under a generated name, ingest it, report the result."""
    data = context.bot_data
    parts = message_parts(update)
    if parts is None or parts.message.document is None:
        return  # registered for messages with a document
    message, doc = parts.message, parts.message.document
    lang = user_language(update)
    name = safe_file_name(doc.file_name or "")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        await reply(update, text("file_type", lang, name=name, choices=", ".join(sorted(SUPPORTED_FORMATS))))
        return
    if doc.file_size and doc.file_size > TELEGRAM_DOWNLOAD_LIMIT_MB * MiB:
        size = f"{doc.file_size / MiB:.1f}"
        await reply(update, text("file_too_big", lang, size=size, limit=TELEGRAM_DOWNLOAD_LIMIT_MB))
        return
    await show_action(context, message.chat_id, ChatAction.UPLOAD_DOCUMENT)
    await asyncio.to_thread(data.uploads.mkdir, parents=True, exist_ok=True)
    # Generated names only: the sender's file name never reaches the file system.
    incoming = data.uploads / f".incoming-{uuid.uuid4().hex}{suffix}"
    telegram_file = await doc.get_file()
    await telegram_file.download_to_drive(incoming)
    title = (message.caption or "").strip() or None
    result, pending = await asyncio.to_thread(_ingest_upload, data, incoming, f"upload:{name}", title)
    if result.status == "failed":
        reason = with_limit_variable(reason_text(result.reason, lang), result.limit)
        await reply(update, text("ingest_failed", lang, name=name, reason=reason))
        return
    report = ingested_text(result, lang)
    if not pending:
        await reply(update, report)
        return
    # Committed, so searchable by keywords already; the model embeds it in the background. A small
    # document is usually done within QUIET_EMBED_S: then one message says it all.
    started = time.monotonic()
    job = context.application.create_task(data.embedding.run(), update, name=f"embed-upload-{result.doc_id}")
    finished, _ = await asyncio.wait({job}, timeout=QUIET_EMBED_S)
    if finished:
        run = job.result()
        if run.outcome is EmbedOutcome.FAILED:
            report += "\n\n" + text("embed_failed", lang, id=result.doc_id, title=result.title, reason=run.error)
        elif run.outcome is EmbedOutcome.DONE:
            # Said whether the model took a second (a small .txt) or a minute (the second message below): an
            # upload's replies read the same for every file.
            report += "\n\n" + text("embedded_now", lang)
        await reply(update, report)
        return
    await reply(update, report + "\n\n" + text("embedding_later", lang, n=pending))
    context.application.create_task(
        _report_embedded(context, message.chat_id, lang, result, job, started),
        update,
        name=f"embed-report-{result.doc_id}",
    )


async def _report_embedded(
    context: BotContext, chat_id: int, lang: str, result: IngestResult, job: asyncio.Task[EmbedRun], started: float
) -> None:
    """The second message of a large upload: its chunks are embedded (or why not)."""
    run = await job
    if run.outcome is EmbedOutcome.STOPPED:
        return  # the bot is stopping; its next start embeds the rest
    if run.outcome is EmbedOutcome.FAILED:
        await send_plain(
            context, chat_id, text("embed_failed", lang, id=result.doc_id, title=result.title, reason=run.error)
        )
        return
    state = await asyncio.to_thread(context.bot_data.embedding.embedded, result.chunk_ids)
    if state is None:
        return  # removed or replaced meanwhile: staff heard about that instead
    seconds = f"{time.monotonic() - started:.0f}"
    await send_plain(context, chat_id, text("embedded", lang, id=result.doc_id, title=result.title, seconds=seconds))


def _ingest_upload(data: BotData, incoming: Path, source: str, title: str | None) -> tuple[IngestResult, int]:
    """Ingest the downloaded file without embedding it; keep it as the original when it was added or
    replaced. Also returns how many of its chunks still need a vector (a worker thread)."""
    try:
        report = data.engine.ingest([incoming], overrides={"title": title}, sources={incoming: source}, embed=False)
        result = report.results[0]
        if result.status in ("added", "replaced"):
            incoming.replace(upload_path(data.uploads, source))  # a new version replaces the old original
        return result, data.embedding.missing(result.chunk_ids)
    finally:
        incoming.unlink(missing_ok=True)


# --- documents ------------------------------------------------------------------------------------


@admin_only
async def docs_command(update: Update, context: BotContext) -> None:
    parts = message_parts(update)
    if parts is None:
        return
    chat_id = parts.chat_id
    lang = user_language(update)
    docs = await asyncio.to_thread(context.bot_data.engine.documents)
    if not docs:
        await reply(update, text("no_sources", lang))
        return
    lines = [
        text(
            "docs_line",
            lang,
            id=d.id,
            title=d.title,
            date=date_text(d.date, lang),
            chunks=d.chunks,
            link=f" — {d.url or d.source}" if d.is_web() or d.url else "",
        )
        for d in docs
    ]
    await send_html(context, chat_id, formatting.pack([formatting.Block("", line) for line in lines]))


@admin_only
async def remove_command(update: Update, context: BotContext) -> None:
    lang = user_language(update)
    args = context.args or []
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        await reply(update, text("remove_usage", lang))
        return
    doc_id = args[0].lstrip("#")
    try:
        doc = await asyncio.to_thread(_remove_document, context.bot_data, doc_id)
    except KeyError:  # the library's DocumentNotFound is a KeyError
        await reply(update, text("remove_missing", lang, id=doc_id))
        return
    await reply(update, text("removed", lang, id=doc.id, title=doc.title))


def _remove_document(data: BotData, doc_id: str) -> Document:
    """Remove the document and, for an upload, its kept original (a worker thread)."""
    doc = data.engine.remove(doc_id)
    if doc.source.startswith("upload:"):
        upload_path(data.uploads, doc.source).unlink(missing_ok=True)
    return doc


# --- the question log -----------------------------------------------------------------------------


@admin_only
async def stats_command(update: Update, context: BotContext) -> None:
    """The last 7 days, for staff."""
    parts = message_parts(update)
    if parts is None:
        return
    lang = user_language(update)
    report = await asyncio.to_thread(stats_text, context.bot_data.questions, lang)
    await send_report(context, parts.chat_id, report)


def stats_text(questions: QuestionLog, lang: str, now: dt.datetime | None = None) -> str:
    """The /stats report: the last 7 days' figures and gaps (regrouped and stored, as the review pages show)."""
    now = now or dt.datetime.now(dt.UTC)
    since = (now - dt.timedelta(days=7)).replace(microsecond=0).isoformat()
    topics = questions.refresh_gaps(since)
    return format_stats(questions.stats(since), topics[:REPORT_TOPICS], text("last_7_days", lang), lang)


@admin_only
async def unanswered_command(update: Update, context: BotContext) -> None:
    """The latest 10 unanswered questions, and how many there are per topic."""
    parts = message_parts(update)
    if parts is None:
        return
    lang = user_language(update)
    report = await asyncio.to_thread(unanswered_text, context.bot_data.questions, lang)
    await send_report(context, parts.chat_id, report)


def unanswered_text(questions: QuestionLog, lang: str) -> str:
    latest = questions.questions(unanswered=True, limit=REPORT_TOPICS)
    if not latest:
        return text("no_unanswered", lang)
    topics = questions.refresh_gaps()
    lines = [text("latest_unanswered", lang)]
    lines += [f"• {r['asked_at'][:16].replace('T', ' ')} — {r['question']}" for r in latest]
    lines += ["", text("by_topic", lang)]
    lines += [
        text("topic_line", lang, size=t.size, label=topic_label(t.label, lang), example=t.example)
        for t in topics[:REPORT_TOPICS]
    ]
    return "\n".join(lines)
