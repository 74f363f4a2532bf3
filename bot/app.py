"""The Telegram bot: investors ask, staff upload.

Handlers are thin: parse the update, run the engine off the event loop (asyncio.to_thread), format,
reply. Everything they need travels in one `Services` object in `application.bot_data`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from index.answer import Answer
from index.engine import Engine
from index.readers import SUPPORTED_FORMATS
from index.text import detect_language

from . import formatting, review
from .messages import EXAMPLES, text
from .questionlog import QuestionLog
from .ratelimit import RateLimiter
from .settings import Settings

log = logging.getLogger(__name__)

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the Bot API's getFile limit
MORE_STEP = 3


@dataclass
class Services:
    settings: Settings
    engine: Engine
    questions: QuestionLog
    limiter: RateLimiter

    @property
    def uploads(self) -> Path:
        return Path(self.settings.data_dir) / "uploads"


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["services"]


# --- language -------------------------------------------------------------------------------------


def user_language(update: Update, sample: str = "") -> str:
    """Telegram's language_code when it says Russian or English, else the script of the text."""
    user = update.effective_user
    code = (user.language_code or "").lower() if user else ""
    if code.startswith(("ru", "uk", "be", "kk")):
        return "ru"
    if code.startswith("en"):
        return "en"
    return detect_language(sample) if sample else "en"


# --- investors ------------------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = user_language(update)
    buttons = [[InlineKeyboardButton(q, callback_data=f"ex:{lang}:{i}")] for i, q in enumerate(EXAMPLES[lang])]
    await update.effective_message.reply_text(text("greeting", lang), reply_markup=InlineKeyboardMarkup(buttons))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = user_language(update)
    message = text("help", lang)
    if services(context).settings.is_admin(update.effective_user and update.effective_user.id):
        message += text("help_admin", lang)
    await update.effective_message.reply_text(message)


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = user_language(update)
    docs = await asyncio.to_thread(services(context).engine.store.documents)
    if not docs:
        await update.effective_message.reply_text(text("no_sources", lang))
        return
    lines = [f"• {d['title']}" + (f" — {d['date']}" if d["date"] else "") for d in docs]
    blocks = [formatting.Block("<b>", text("sources_title", lang), "</b>"), formatting.Block("", "\n".join(lines))]
    for chunk in formatting.pack(blocks):
        await update.effective_message.reply_text(chunk, parse_mode=ParseMode.HTML)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1)
    question = parts[1].strip() if len(parts) > 1 else ""
    if not question:
        await message.reply_text(text("empty_ask", user_language(update)))
        return
    await answer_question(update, context, question)


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    question = message.text or ""
    if message.chat.type != ChatType.PRIVATE:
        question = addressed_text(message, context.bot.username, context.bot.id)
        if question is None:
            return  # group chatter not meant for the bot
    if question.strip():
        await answer_question(update, context, question.strip())


def addressed_text(message: Message, username: str | None, bot_id: int) -> str | None:
    """In a group: the question with the @mention removed, or None when the bot is not addressed."""
    text_ = message.text or ""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return text_
    for entity in message.entities or ():
        if entity.type == MessageEntity.MENTION:
            mention = message.parse_entity(entity)  # handles Telegram's UTF-16 offsets
            if username and mention.lstrip("@").lower() == username.lower():
                return text_.replace(mention, " ").strip()
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return text_.replace(message.parse_entity(entity), " ").strip()
    return None


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str, chat_id: int | None = None) -> None:
    svc = services(context)
    message = update.effective_message
    chat_id = chat_id or message.chat_id
    user = update.effective_user
    lang = detect_language(question) if question.strip() else user_language(update)
    if len(question) > svc.settings.max_question_chars:
        limit = svc.settings.max_question_chars
        await context.bot.send_message(chat_id, text("too_long", lang, length=len(question), limit=limit))
        return
    if user is not None and not svc.limiter.allow(user.id):
        await context.bot.send_message(chat_id, text("rate_limited", lang))
        return
    await show_action(context, chat_id, ChatAction.TYPING)
    started = time.perf_counter()
    # One passage more than shown: it tells whether a More button has anything to show.
    answer: Answer = await asyncio.to_thread(svc.engine.answer, question, MORE_STEP + 1)
    latency_ms = int((time.perf_counter() - started) * 1000)
    has_more = len(answer.passages) > MORE_STEP
    answer.passages = answer.passages[:MORE_STEP]
    chat_type = message.chat.type if message else None
    question_id = await asyncio.to_thread(
        svc.questions.record, answer, channel="telegram", latency_ms=latency_ms,
        user_id=user.id if user else None, chat_type=chat_type,
    )
    markup = answer_keyboard(question_id, answer.language, more_from=MORE_STEP if has_more else None) if answer.answered else None
    await send_html(context, chat_id, formatting.pack(formatting.answer_blocks(answer)), markup,
                    reply_to=message.message_id if message and message.chat.type != ChatType.PRIVATE else None)


async def show_action(context, chat_id: int, action: str) -> None:
    """"typing…" is a courtesy: a failure to show it must not cost the user the answer."""
    try:
        await context.bot.send_chat_action(chat_id, action)
    except Exception:
        log.warning("Could not send a chat action", exc_info=True)


def answer_keyboard(question_id: int, lang: str, vote: int | None = None, more_from: int | None = MORE_STEP) -> InlineKeyboardMarkup:
    """👍 / 👎 (the counted one gets a check mark) and, while there may be more passages, More."""
    row = [
        InlineKeyboardButton("👍 ✓" if vote == 1 else "👍", callback_data=f"fb:{question_id}:1"),
        InlineKeyboardButton("👎 ✓" if vote == -1 else "👎", callback_data=f"fb:{question_id}:-1"),
    ]
    if more_from is not None:
        row.append(InlineKeyboardButton(text("more", lang), callback_data=f"more:{question_id}:{more_from}"))
    return InlineKeyboardMarkup([row])


async def send_html(context, chat_id: int, chunks: list[str], markup=None, reply_to: int | None = None) -> None:
    """Send the split message; the buttons go under its last part."""
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        await context.bot.send_message(
            chat_id, chunk, parse_mode=ParseMode.HTML, disable_web_page_preview=True,
            reply_markup=markup if last else None,
            reply_to_message_id=reply_to if i == 0 else None,
        )


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Example questions, feedback and More. Callback data comes from the client: trust none of it."""
    query = update.callback_query
    data = (query.data or "").split(":")
    lang = user_language(update)
    try:
        kind = data[0]
        if kind == "ex" and len(data) == 3:
            examples = EXAMPLES.get(data[1], EXAMPLES["en"])
            question = examples[int(data[2])]
            await query.answer()
            await answer_question(update, context, question, chat_id=query.message.chat_id if query.message else None)
        elif kind == "fb" and len(data) == 3 and data[2] in ("1", "-1"):
            await feedback(update, context, int(data[1]), int(data[2]), lang)
        elif kind == "more" and len(data) == 3:
            await more(update, context, int(data[1]), int(data[2]), lang)
        else:
            await query.answer(text("expired", lang))
    except (ValueError, IndexError):
        await query.answer(text("expired", lang))


async def feedback(update: Update, context, question_id: int, value: int, lang: str) -> None:
    query = update.callback_query
    svc = services(context)
    result = await asyncio.to_thread(svc.questions.feedback, question_id, query.from_user.id, value)
    if result == "not_yours":
        await query.answer(text("not_yours", lang))
        return
    if result == "missing":
        await query.answer(text("expired", lang))
        return
    await query.answer(text("thanks", lang))
    more_from = _more_offset(query.message)
    await query.edit_message_reply_markup(answer_keyboard(question_id, lang, vote=value, more_from=more_from))


def _more_offset(message: Message | None) -> int | None:
    """Where the More button of this message points, so editing the votes keeps it."""
    if message is None or message.reply_markup is None:
        return None
    for row in message.reply_markup.inline_keyboard:
        for b in row:
            if b.callback_data and str(b.callback_data).startswith("more:"):
                return int(str(b.callback_data).split(":")[2])
    return None


async def more(update: Update, context, question_id: int, shown: int, lang: str) -> None:
    query = update.callback_query
    svc = services(context)
    row = await asyncio.to_thread(svc.engine.store.question, question_id)
    if row is None or shown < 0 or shown > 50:
        await query.answer(text("expired", lang))
        return
    answer = await asyncio.to_thread(svc.engine.answer, row["question"], shown + MORE_STEP + 1)
    extra = answer.passages[shown : shown + MORE_STEP] if answer.answered else []
    further = answer.answered and len(answer.passages) > shown + MORE_STEP
    await query.answer(None if extra else text("no_more", lang))
    # The pressed More is used up; an answer's vote buttons stay.
    votes = _has_votes(query.message)
    await query.edit_message_reply_markup(
        answer_keyboard(question_id, lang, vote=row["feedback"], more_from=None) if votes else None
    )
    if extra:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(text("more", lang), callback_data=f"more:{question_id}:{shown + len(extra)}")]]
        ) if further else None
        await send_html(context, query.message.chat_id, formatting.pack(formatting.passage_blocks(extra, shown + 1)), markup)


def _has_votes(message: Message | None) -> bool:
    if message is None or message.reply_markup is None:
        return False
    return any(str(b.callback_data).startswith("fb:") for row in message.reply_markup.inline_keyboard for b in row)


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
        await update.effective_message.reply_text(text("unsupported", user_language(update)))


# --- agency staff ---------------------------------------------------------------------------------


def safe_file_name(name: str) -> str:
    """The sender's file name as a label only: no folders, no leading dots, never empty."""
    base = re.split(r"[\\/]", name)[-1].strip().lstrip(".").strip()
    return base or "document"


def upload_path(uploads: Path, source: str) -> Path:
    """Where an upload's original is kept: a name derived from its source, not chosen by the sender."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:24]
    return uploads / f"{digest}{Path(source).suffix.lower()}"


async def refuse_unless_admin(update: Update, context) -> bool:
    """True when the sender is staff; otherwise a polite refusal and False. Every admin path calls it."""
    user = update.effective_user
    if services(context).settings.is_admin(user.id if user else None):
        return True
    if update.callback_query:
        await update.callback_query.answer(text("admins_only", user_language(update)))
    elif update.effective_message:
        await update.effective_message.reply_text(text("admins_only", user_language(update)))
    return False


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_chat.type != ChatType.PRIVATE and not services(context).settings.is_admin(
        update.effective_user.id if update.effective_user else None
    ):
        return  # files shared in groups are not for the bot
    if not await refuse_unless_admin(update, context):
        return
    svc = services(context)
    message = update.effective_message
    doc = message.document
    lang = user_language(update)
    name = safe_file_name(doc.file_name or "")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        choices = ", ".join(sorted(SUPPORTED_FORMATS))
        await message.reply_text(text("file_type", lang, name=name, choices=choices))
        return
    if doc.file_size and doc.file_size > TELEGRAM_DOWNLOAD_LIMIT:
        await message.reply_text(text("file_too_big", lang, size=f"{doc.file_size / 1024 / 1024:.1f}"))
        return
    await show_action(context, message.chat_id, ChatAction.UPLOAD_DOCUMENT)
    svc.uploads.mkdir(parents=True, exist_ok=True)
    # Generated names only: the sender's file name never reaches the file system.
    incoming = svc.uploads / f".incoming-{uuid.uuid4().hex}{suffix}"
    telegram_file = await doc.get_file()
    await telegram_file.download_to_drive(incoming)
    title = (message.caption or "").strip() or None
    source = f"upload:{name}"
    try:
        report = await asyncio.to_thread(
            svc.engine.ingest, [incoming], overrides={"title": title}, sources={incoming: source}
        )
        result = report.results[0]
        if result.status in ("added", "replaced"):
            incoming.replace(upload_path(svc.uploads, source))  # the kept original; a new version replaces it
    finally:
        incoming.unlink(missing_ok=True)
    if result.status == "failed":
        await message.reply_text(text("ingest_failed", lang, name=name, reason=result.reason))
        return
    await message.reply_text(
        text(
            "ingested", lang, verb=text(result.status, lang), id=result.doc_id, title=result.title,
            date=result.date or text("no_date", lang), chunks=result.chunks,
        )
    )


async def docs_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await refuse_unless_admin(update, context):
        return
    lang = user_language(update)
    docs = await asyncio.to_thread(services(context).engine.store.documents)
    if not docs:
        await update.effective_message.reply_text(text("no_sources", lang))
        return
    lines = [
        f"#{d['id']} {d['title']} — {d['date'] or '—'} — {d['chunks']} chunks — {d['source'].removeprefix('upload:')}"
        for d in docs
    ]
    for chunk in formatting.pack([formatting.Block("", line) for line in lines]):
        await update.effective_message.reply_text(chunk, parse_mode=ParseMode.HTML)


async def remove_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await refuse_unless_admin(update, context):
        return
    lang = user_language(update)
    args = context.args or []
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        await update.effective_message.reply_text(text("remove_usage", lang))
        return
    doc_id = args[0].lstrip("#")
    svc = services(context)
    try:
        doc = await asyncio.to_thread(svc.engine.remove, doc_id)
    except KeyError:
        await update.effective_message.reply_text(text("remove_missing", lang, id=doc_id))
        return
    if doc["source"].startswith("upload:"):
        upload_path(svc.uploads, doc["source"]).unlink(missing_ok=True)
    await update.effective_message.reply_text(text("removed", lang, id=doc["id"], title=doc["title"]))


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The last 7 days, for staff."""
    if not await refuse_unless_admin(update, context):
        return
    store = services(context).engine.store
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7)).replace(microsecond=0).isoformat()

    def build() -> str:
        topics = review.refresh_gaps(store, since)
        return review.format_stats(store.question_stats(since), topics[:10], "in the last 7 days")

    report = await asyncio.to_thread(build)
    await send_html(context, update.effective_chat.id, formatting.pack([formatting.Block("", report)]))


async def unanswered_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The latest 10 unanswered questions, and how many there are per topic."""
    if not await refuse_unless_admin(update, context):
        return
    store = services(context).engine.store

    def build() -> str:
        latest = store.questions(unanswered=True, limit=10)
        if not latest:
            return "No unanswered questions. / Вопросов без ответа нет."
        topics = review.refresh_gaps(store)
        lines = ["Latest unanswered questions:"]
        lines += [f"• {r['asked_at'][:16].replace('T', ' ')} — {r['question']}" for r in latest]
        lines += ["", "By topic:"]
        lines += [f"{t.size} × {t.label} — e.g. “{t.example}”" for t in topics[:10]]
        return "\n".join(lines)

    report = await asyncio.to_thread(build)
    await send_html(context, update.effective_chat.id, formatting.pack([formatting.Block("", report)]))


def digest_text(store, now: dt.datetime | None = None) -> str:
    """The daily digest for staff: the last 24 hours in a few lines."""
    now = now or dt.datetime.now(dt.timezone.utc)
    since = (now - dt.timedelta(hours=24)).replace(microsecond=0).isoformat()
    stats = store.question_stats(since)
    lines = [f"InvestBot — the last 24 hours: {stats['questions']} questions"]
    if stats["questions"]:
        lines[0] += f", {stats['answered']} answered ({stats['answer_rate']:.0%})"
    lines.append(f"Feedback: 👍 {stats['positive']}  👎 {stats['negative']}")
    topics = review.gap_topics(store, store.questions(since=since, unanswered=True))
    if topics:
        lines += ["", "New gaps (unanswered, by topic):"]
        lines += [f"{t.size} × {t.label} — e.g. “{t.example}”" for t in topics[:10]]
    negative = store.questions(since=since, negative=True, limit=5)
    if negative:
        lines += ["", "Answers marked 👎:"]
        lines += [f"• {r['question']} → {(r['answer'] or '')[:200]}" for r in negative]
    return "\n".join(lines)


async def send_digest(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback: the digest to every admin; one unreachable admin does not stop the others."""
    svc = services(context)
    svc.questions.purge()
    report = await asyncio.to_thread(digest_text, svc.engine.store)
    for admin in sorted(svc.settings.admins):
        try:
            await send_html(context, admin, formatting.pack([formatting.Block("", report)]))
        except Exception:
            log.warning("Could not send the daily digest to an admin", exc_info=True)


# --- errors and wiring ----------------------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("Error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, text("error", user_language(update)))
        except Exception:  # the apology itself failed (network): the log has the cause
            log.warning("Could not send the error apology", exc_info=True)


async def _post_init(application: Application) -> None:
    """Register the command menu; a Bot API server that refuses it must not stop the bot."""
    try:
        await application.bot.set_my_commands(
            [
                BotCommand("start", "Start / Начать"),
                BotCommand("help", "How to ask / Как спросить"),
                BotCommand("sources", "Documents / Документы"),
                BotCommand("ask", "Ask a question / Задать вопрос"),
            ]
        )
    except Exception:
        log.warning("Could not register the command menu", exc_info=True)


def build_application(settings: Settings, engine: Engine, questions: QuestionLog) -> Application:
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    # A bounded number of updates at once (and HTTP connections to match): with hundreds in flight
    # the event loop spends its time juggling them and stalls (bench/bot_load.py measured it).
    builder = (
        Application.builder()
        .token(settings.telegram_token)
        .concurrent_updates(settings.concurrent_updates)
        .connection_pool_size(settings.concurrent_updates + 8)
        .post_init(_post_init)
    )
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url).base_file_url(settings.file_base_url)
    application = builder.build()
    application.bot_data["services"] = Services(
        settings, engine, questions, RateLimiter(settings.rate_limit_per_minute, 60.0)
    )
    new = filters.UpdateType.MESSAGE  # edited messages are not new questions
    application.add_handler(CommandHandler("start", start, filters=new))
    application.add_handler(CommandHandler("help", help_command, filters=new))
    application.add_handler(CommandHandler("sources", sources, filters=new))
    application.add_handler(CommandHandler("ask", ask_command, filters=new))
    application.add_handler(CommandHandler("docs", docs_command, filters=new))
    application.add_handler(CommandHandler("remove", remove_command, filters=new))
    application.add_handler(CommandHandler("stats", stats_command, filters=new))
    application.add_handler(CommandHandler("unanswered", unanswered_command, filters=new))
    application.add_handler(CallbackQueryHandler(button))
    application.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, text_message))
    application.add_handler(MessageHandler(new & filters.Document.ALL, document))
    application.add_handler(MessageHandler(new & ~filters.TEXT & ~filters.Document.ALL & ~filters.StatusUpdate.ALL, unsupported))
    application.add_error_handler(on_error)
    if settings.digest_time is not None and settings.admins and application.job_queue is not None:
        application.job_queue.run_daily(
            send_digest, time=settings.digest_time.replace(tzinfo=settings.tz), name="daily-digest"
        )
    return application


def webhook_options(settings: Settings) -> dict:
    """Where PTB listens and what it registers with Telegram; the URL's path is the local path."""
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": urlparse(settings.webhook_url).path.lstrip("/"),
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret,
        "allowed_updates": Update.ALL_TYPES,
    }


def run(application: Application, settings: Settings) -> None:
    """Long polling by default; a webhook when INVESTBOT_WEBHOOK_URL is set."""
    if settings.webhook_url:
        application.run_webhook(**webhook_options(settings))
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
