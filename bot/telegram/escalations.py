"""The Telegram side of escalations: "Ask the agency", the staff reply that answers, "Add to knowledge".

An investor's not-found reply carries "Ask the agency"; pressing it sends the question to the staff
chat (INVESTBOT_STAFF_CHAT) or to every admin privately. A text reply from an admin to that message is
the answer: it goes to every investor waiting for the question, and staff may then keep it as a curated
agency answer that the bot cites from then on. Storage is bot/questions/escalations.py; this module parses,
checks the sender, runs that storage in worker threads and words the messages (bot/messages.py).

Every staff path checks the sender; callback data is parsed by patterns that accept only what this
module writes, and what it names is checked against the database, so made-up data changes nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import re
import zoneinfo
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.ext import ApplicationHandlerStop

from bot.messages import date_text, plural, text
from bot.questions.escalations import (
    AgencyAnswer,
    EscalateOutcome,
    Escalation,
    KnowledgeOutcome,
    Recipient,
    ReplyOutcome,
)
from bot.settings import Settings
from bot.telegram import formatting
from bot.telegram.context import (
    BotContext,
    BotData,
    message_parts,
    pressed,
    reply,
    send_html,
    send_report,
    sender_id,
    user_language,
)
from bot.telegram.staff import admin_only
from index import Engine, Passage

log = logging.getLogger(__name__)

STAFF_PASSAGES = 3  # closest passages shown to staff with a question
STAFF_PASSAGE_CHARS = 400  # how much of each passage staff see
PENDING_SHOWN = 10  # questions /pending sends, oldest first
EXPIRY_CHECK_S = 3600.0  # how often waiting escalations are checked for expiry
EXPIRY_FIRST_S = 60.0  # the first check soon after a start, so a bot restarted often still expires them

# Callback data, as this module writes it (\Z: "$" would also accept a trailing newline).
ASK_AGENCY_DATA = re.compile(r"esc:(\d{1,18})\Z")
ADD_KNOWLEDGE_DATA = re.compile(r"kb:(\d{1,18})\Z")


def ask_agency_data(question_id: int) -> str:
    return f"esc:{question_id}"


def add_knowledge_data(escalation_id: int) -> str:
    return f"kb:{escalation_id}"


def can_escalate(settings: Settings) -> bool:
    """A question can go to the agency only when someone is there to read it."""
    return bool(settings.staff_chats)


def ask_agency_keyboard(question_id: int, lang: str) -> InlineKeyboardMarkup:
    """The button under a not-found reply."""
    button = InlineKeyboardButton(text("ask_agency", lang), callback_data=ask_agency_data(question_id))
    return InlineKeyboardMarkup([[button]])


def add_knowledge_keyboard(escalation_id: int, lang: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text("add_to_knowledge", lang), callback_data=add_knowledge_data(escalation_id))
    return InlineKeyboardMarkup([[button]])


# --- wording (pure) ---------------------------------------------------------------------------------


def local_time(iso: str, timezone: str) -> str:
    """An ISO UTC timestamp as staff read it: "2026-11-29 17:24 (Europe/Moscow)"."""
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(zoneinfo.ZoneInfo(timezone)):%Y-%m-%d %H:%M} ({timezone})"


def staff_question_blocks(
    escalation: Escalation, passages: Sequence[Passage] | None, lang: str, timezone: str
) -> list[formatting.Block]:
    """What staff get for a question: the question, its language, when it was asked, how to answer,
    and (when `passages` is given) the closest passages the documents hold."""
    meta = text(
        "staff_question_meta",
        lang,
        language_name=text(f"language_{escalation.language}", lang),
        asked=local_time(escalation.asked_at, timezone),
        waiting=escalation.askers,
    )
    blocks = [
        formatting.Block("<b>", text("staff_question_title", lang, id=escalation.id), "</b>"),
        formatting.Block("<blockquote>", escalation.question, "</blockquote>"),
        formatting.Block("", meta),
        formatting.Block("<i>", text("staff_how_to_answer", lang), "</i>"),
    ]
    if passages is None:
        return blocks
    if not passages:
        return [*blocks, formatting.Block("", text("staff_no_passages", lang))]
    return [
        *blocks,
        formatting.Block("", text("staff_passages", lang)),
        *formatting.passage_blocks(passages, language=lang),
    ]


def investor_answer_blocks(recipient: Recipient, staff_text: str) -> list[formatting.Block]:
    """The staff answer as an investor gets it: the bot's words in their language, their question, the answer."""
    title = formatting.escape(text("escalation_answer_title", recipient.language))
    return [
        formatting.Block(f"<b>{title}</b>\n<blockquote>", recipient.question, "</blockquote>"),
        formatting.Block("", staff_text),
    ]


def delivery_text(delivered: int, total: int, lang: str) -> str:
    """The confirmation staff get after their reply went out."""
    if delivered == total:
        sent = text("escalation_delivered", lang, n=delivered, noun=plural(delivered, "investor", lang))
    else:
        sent = text("escalation_delivered_partly", lang, n=delivered, total=total)
    return f"{sent}\n\n{text('escalation_add_hint', lang)}"


def answers_text(answers: Sequence[AgencyAnswer], lang: str) -> str:
    """/answers: the agency answers in the knowledge base, with the ids /remove takes."""
    if not answers:
        return text("answers_none", lang)
    lines = [text("answers_title", lang)]
    lines += [text("answers_line", lang, id=a.doc_id, date=date_text(a.date, lang), title=a.title) for a in answers]
    return "\n".join(lines)


def closest_passages(engine: Engine, question: str, k: int = STAFF_PASSAGES) -> list[Passage]:
    """The passages search ranks first for a question the documents did not answer (a worker thread)."""
    passages = []
    for passage in engine.passages(question, k):
        body = passage.text
        if len(body) > STAFF_PASSAGE_CHARS:
            body = body[:STAFF_PASSAGE_CHARS].rsplit(" ", 1)[0] + " …"
        passages.append(dataclasses.replace(passage, text=body))
    return passages


# --- the investor presses "Ask the agency" ------------------------------------------------------------


async def ask_agency_pressed(update: Update, context: BotContext) -> None:
    """`esc:QUESTION` — send the presser's own unanswered question to staff (or join it when it waits already)."""
    press = pressed(update, context)
    if press is None:
        return
    query, match = press
    data = context.bot_data
    question_id = int(match.group(1))
    message = query.message
    if message is None or not can_escalate(data.settings):
        await query.answer(text("expired", user_language(update)))
        return
    result = await asyncio.to_thread(data.escalations.escalate, question_id, query.from_user.id, message.chat.id)
    lang = result.language or user_language(update)
    outcome = result.outcome
    if outcome in (EscalateOutcome.MISSING, EscalateOutcome.ANSWERED):
        await query.answer(text("expired", lang))
        return
    if outcome is EscalateOutcome.NOT_YOURS:
        await query.answer(text("not_yours", user_language(update)))
        return
    if outcome is EscalateOutcome.ALREADY:
        await query.answer(text("escalation_already", lang), show_alert=True)
        return
    if outcome is EscalateOutcome.CLOSED:
        await query.answer(text("escalation_closed", lang), show_alert=True)
        return
    if outcome is EscalateOutcome.LIMIT:
        limit = data.escalations.max_waiting
        await query.answer(
            text("escalation_limit", lang, n=limit, noun=plural(limit, "question", lang)), show_alert=True
        )
        return
    await query.answer(text("escalation_sent_toast", lang))
    await query.edit_message_reply_markup(None)  # the button is used up
    await context.bot.send_message(
        message.chat.id, formatting.escape(text("escalation_sent", lang, days=data.escalations.days))
    )
    if result.escalation is None:
        return  # a created or joined escalation always comes with its record
    if outcome is EscalateOutcome.CREATED:
        await _tell_staff(context, result.escalation)
    else:
        await _tell_staff_asked_again(context, result.escalation)


async def _tell_staff(context: BotContext, escalation: Escalation) -> None:
    """The question to the staff chat or every admin; one unreachable chat does not stop the others."""
    data = context.bot_data
    settings = data.settings
    passages = await asyncio.to_thread(closest_passages, data.engine, escalation.question)
    sent: list[tuple[int, int]] = []
    for chat_id in settings.staff_chats:
        # Each staff member's own language when the bot knows it (a group: INVESTBOT_STAFF_LANGUAGE).
        lang = data.staff_language(chat_id)
        chunks = formatting.pack(staff_question_blocks(escalation, passages, lang, settings.timezone))
        try:
            for chunk in chunks:  # every part stands for the question: a reply to any of them answers
                posted = await context.bot.send_message(chat_id, chunk)
                sent.append((chat_id, posted.message_id))
        except Exception:
            log.warning("Could not send an escalated question to a staff chat", exc_info=True)
    await asyncio.to_thread(data.escalations.record_staff_messages, escalation.id, sent)


async def _tell_staff_asked_again(context: BotContext, escalation: Escalation) -> None:
    """One more investor waits: a short note under the question's first message in each staff chat."""
    data = context.bot_data
    first: dict[int, int] = {}
    for chat_id, message_id in await asyncio.to_thread(data.escalations.staff_messages, escalation.id):
        first.setdefault(chat_id, message_id)
    sent = []
    for chat_id, message_id in first.items():
        note = formatting.escape(text("staff_asked_again", data.staff_language(chat_id), waiting=escalation.askers))
        try:
            posted = await context.bot.send_message(
                chat_id, note, reply_parameters=ReplyParameters(message_id, allow_sending_without_reply=True)
            )
            sent.append((chat_id, posted.message_id))
        except Exception:
            log.warning("Could not tell a staff chat that a question was asked again", exc_info=True)
    await asyncio.to_thread(data.escalations.record_staff_messages, escalation.id, sent)


# The number in a staff message's title ("❓ Question for the agency #12" / "❓ Вопрос в агентство №12").
_TITLE_NUMBER_RE = re.compile(
    "|".join(
        re.escape(text("staff_question_title", lang, id="\0")).replace(re.escape("\0"), r"(\d+)")
        for lang in ("en", "ru")
    )
)


def escalation_number(message_text: str) -> int | None:
    """The escalation a staff message names in its title, if it is one."""
    match = _TITLE_NUMBER_RE.match(message_text.strip())
    if match is None:
        return None
    return int(next(g for g in match.groups() if g is not None))


# --- staff answer by replying --------------------------------------------------------------------------


async def staff_reply(update: Update, context: BotContext) -> None:
    """A text reply to one of the bot's messages: when that message stands for an escalation, it is the answer.

    Registered in a group before the investor handlers: any other reply returns and is handled as usual;
    one that was about an escalation stops there (ApplicationHandlerStop), delivered or not.
    """
    message = update.effective_message
    if message is None:
        return
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        return
    data = context.bot_data
    escalation = await asyncio.to_thread(data.escalations.by_staff_message, message.chat.id, replied.message_id)
    number = escalation_number(replied.text or "")
    if escalation is None and number is not None and message.chat.id in data.settings.staff_chats:
        # A reply faster than the message's id was recorded (it is recorded once Telegram returns it): the
        # question's title carries its number, and only a staff chat's copy is taken at its word.
        escalation = await asyncio.to_thread(data.escalations.get, number)
    if escalation is None:
        return
    lang = user_language(update)
    if not data.settings.is_admin(sender_id(update)):
        await reply(update, text("escalation_not_admin", lang))
        raise ApplicationHandlerStop
    staff_text = (message.text or "").strip()
    if staff_text:
        await _deliver(update, context, escalation.id, staff_text, lang)
    raise ApplicationHandlerStop


async def _deliver(update: Update, context: BotContext, escalation_id: int, staff_text: str, lang: str) -> None:
    data = context.bot_data
    result = await asyncio.to_thread(data.escalations.answer, escalation_id, staff_text)
    if result.outcome is ReplyOutcome.ALREADY_ANSWERED:
        answered_at = result.escalation.answered_at if result.escalation is not None else None
        when = local_time(answered_at, data.settings.timezone) if answered_at else "—"
        await reply(update, text("escalation_already_answered", lang, when=when))
        return
    if result.outcome is ReplyOutcome.EXPIRED:
        await reply(update, text("escalation_expired_staff", lang, days=data.escalations.days))
        return
    if result.outcome is ReplyOutcome.MISSING:
        await reply(update, text("expired", lang))
        return
    delivered = 0
    for recipient in result.recipients:
        try:
            await send_html(context, recipient.chat_id, formatting.pack(investor_answer_blocks(recipient, staff_text)))
            delivered += 1
        except Exception:
            log.warning("Could not deliver a staff answer to an investor", exc_info=True)
    await asyncio.to_thread(data.escalations.record_delivery, escalation_id, delivered)
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(
        formatting.escape(delivery_text(delivered, len(result.recipients), lang)),
        reply_markup=add_knowledge_keyboard(escalation_id, lang),
    )


# --- "Add to knowledge" --------------------------------------------------------------------------------


@admin_only
async def add_knowledge_pressed(update: Update, context: BotContext) -> None:
    """`kb:ESCALATION` — keep an answered escalation as an agency answer document (staff only, once)."""
    press = pressed(update, context)
    if press is None:
        return
    query, match = press
    data = context.bot_data
    lang = user_language(update)
    escalation_id = int(match.group(1))
    today = dt.datetime.now(data.settings.tz).date().isoformat()
    result = await asyncio.to_thread(data.escalations.add_to_knowledge, data.engine, escalation_id, today)
    if result.outcome is KnowledgeOutcome.NOT_ANSWERED:
        await query.answer(text("expired", lang))
        return
    await query.answer()
    if query.message is not None:
        await query.edit_message_reply_markup(None)
    key = "knowledge_added" if result.outcome is KnowledgeOutcome.ADDED else "knowledge_already"
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    await send_report(context, chat_id, text(key, lang, id=result.doc_id, title=result.title))


# --- staff commands ------------------------------------------------------------------------------------


@admin_only
async def pending_command(update: Update, context: BotContext) -> None:
    """/pending — the waiting questions, oldest first, each a message staff can reply to."""
    parts = message_parts(update)
    if parts is None:
        return
    data = context.bot_data
    lang = user_language(update)
    chat_id = parts.chat_id
    waiting, total = await asyncio.to_thread(_waiting, data, PENDING_SHOWN)
    if not waiting:
        await reply(update, text("pending_none", lang))
        return
    await reply(update, text("pending_title", lang, n=total))
    for escalation in waiting:
        sent = []
        for chunk in formatting.pack(staff_question_blocks(escalation, None, lang, data.settings.timezone)):
            posted: Message = await context.bot.send_message(chat_id, chunk)
            sent.append((chat_id, posted.message_id))
        await asyncio.to_thread(data.escalations.record_staff_messages, escalation.id, sent)
    if total > len(waiting):
        await send_report(context, chat_id, text("pending_more", lang, n=total - len(waiting)))


def _waiting(data: BotData, limit: int) -> tuple[list[Escalation], int]:
    return data.escalations.waiting(limit), data.escalations.waiting_count()


@admin_only
async def answers_command(update: Update, context: BotContext) -> None:
    """/answers — the agency answers in the knowledge base."""
    parts = message_parts(update)
    if parts is None:
        return
    answers = await asyncio.to_thread(context.bot_data.escalations.agency_answers)
    await send_report(context, parts.chat_id, answers_text(answers, user_language(update)))


# --- expiry ----------------------------------------------------------------------------------------------


async def expire_job(context: BotContext) -> None:
    """JobQueue callback: close escalations past INVESTBOT_ESCALATION_DAYS (their chat ids are deleted) and
    tell each investor, with the chat id read just before it went, that no answer is coming."""
    data = context.bot_data
    recipients = await asyncio.to_thread(data.escalations.expire)
    for recipient in recipients:
        note = text("escalation_expired_investor", recipient.language, days=data.escalations.days)
        blocks = [formatting.Block("", note), formatting.Block("<blockquote>", recipient.question, "</blockquote>")]
        try:
            await send_html(context, recipient.chat_id, formatting.pack(blocks))
        except Exception:
            log.warning("Could not tell an investor that their question expired", exc_info=True)
