"""What investors do with the bot: greet, ask, read the answer, press More, vote, try an example.

Handlers are thin: parse the update, run the engine and the question log off the event loop
(asyncio.to_thread), format, reply. Each kind of button has its own callback-data pattern and its own
handler; the patterns accept only what this module itself puts on buttons, so tampered or stale data
falls through to `stale_button` and changes nothing.

A message is read like a person would read it (index/conversation): small talk ("Привет", "Спасибо", "?")
gets a short reply with example questions, never "not found"; a letter with an introduction is searched
for its questions (up to `MAX_QUESTIONS`, one reply each); a question that leans on the previous one
("А сколько из них работают?") is resolved with the chat's last turn (bot/conversation.py) and
the reply says how it was understood. Every reply is in the person's language (context.person_language).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatAction, ChatType

from bot.answering import model_rewritten
from bot.messages import (
    AGENCY_SOURCE_PREFIX,
    EXAMPLES,
    SMALL_TALK_REPLIES,
    date_text,
    is_one_sentence,
    text,
    with_agency_reply,
)
from bot.questions.log import Feedback
from bot.telegram import formatting
from bot.telegram.context import (
    BotContext,
    message_parts,
    person_language,
    pressed,
    reply,
    send_html,
    send_plain,
    sender_id,
    show_action,
    user_language,
)
from bot.telegram.escalations import ask_agency_keyboard, can_escalate
from bot.telegram.generated import write_answer
from bot.telegram.staff import upload_formats
from index import Answer, SmallTalk, classify, is_followup, questions_in, resolve

MORE_STEP = 3  # passages per answer and per press of More
MAX_QUESTIONS = 3  # questions answered from one message, one reply each
MORE_MAX_SHOWN = 50  # a More button never points further than this

# Callback data, as this module writes it. \Z, not $: "$" would also accept a trailing newline.
EXAMPLE_DATA = re.compile(r"ex:(en|ru):(\d{1,3})\Z")
FEEDBACK_DATA = re.compile(r"fb:(\d{1,18}):(1|-1)\Z")
MORE_DATA = re.compile(r"more:(\d{1,18}):(\d{1,3})\Z")
# Matches only empty data. PTB passes a query without data to the first handler that has any pattern
# (with True, not a match), so this one is registered first and refuses it.
NO_DATA = re.compile(r"\Z")


def example_data(language: str, index: int) -> str:
    return f"ex:{language}:{index}"


def feedback_data(question_id: int, value: int) -> str:
    return f"fb:{question_id}:{value}"


def more_data(question_id: int, shown: int) -> str:
    return f"more:{question_id}:{shown}"


# --- commands and messages ------------------------------------------------------------------------


def examples_keyboard(lang: str) -> InlineKeyboardMarkup:
    """The example questions of /start as buttons."""
    buttons = [[InlineKeyboardButton(q, callback_data=example_data(lang, i))] for i, q in enumerate(EXAMPLES[lang])]
    return InlineKeyboardMarkup(buttons)


async def start(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    lang = user_language(update)
    await message.reply_text(formatting.escape(text("greeting", lang)), reply_markup=examples_keyboard(lang))


async def new_command(update: Update, context: BotContext) -> None:
    """/new — forget this chat's previous questions: the next one stands alone."""
    parts = message_parts(update)
    if parts is None:
        return
    context.bot_data.conversations.forget(parts.chat_id)
    await reply(update, text("new_conversation", user_language(update)))


async def help_command(update: Update, context: BotContext) -> None:
    lang = user_language(update)
    message = text("help", lang)
    settings = context.bot_data.settings
    if settings.is_admin(sender_id(update)):
        message += text("help_admin", lang, formats=upload_formats(), limit=settings.upload_limit_mb)
    await reply(update, message)


async def sources(update: Update, context: BotContext) -> None:
    parts = message_parts(update)
    if parts is None:
        return
    lang = user_language(update)
    docs = await asyncio.to_thread(context.bot_data.engine.documents)
    if not docs:
        await reply(update, text("no_sources", lang))
        return
    documents = [d for d in docs if not d.source.startswith(AGENCY_SOURCE_PREFIX)]
    agency = len(docs) - len(documents)
    lines = [f"• {d.title} — {date_text(d.date, lang)}" for d in documents]
    blocks = [formatting.Block("<b>", text("sources_title", lang), "</b>")]
    if lines:
        blocks.append(formatting.Block("", "\n".join(lines)))
    if agency:
        blocks.append(formatting.Block("<i>", text("agency_answers_count", lang, n=agency), "</i>"))
    await send_html(context, parts.chat_id, formatting.pack(blocks))


async def ask_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    parts = (message.text or "").split(maxsplit=1)
    question = parts[1].strip() if len(parts) > 1 else ""
    if not question:
        await reply(update, text("empty_ask", user_language(update)))
        return
    await answer_message(update, context, question)


async def text_message(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    question = message.text or ""
    if message.chat.type != ChatType.PRIVATE:
        addressed = addressed_text(message, context.bot.username, context.bot.id)
        if addressed is None:
            return  # group chatter not meant for the bot
        question = addressed
    if question.strip():
        await answer_message(update, context, question.strip())


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


async def unsupported(update: Update, context: BotContext) -> None:
    if update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
        await reply(update, text("unsupported", user_language(update)))


# --- answering ------------------------------------------------------------------------------------


async def answer_message(update: Update, context: BotContext, message_text: str, chat_id: int | None = None) -> None:
    """A message from an investor: small talk gets a reply in kind; otherwise each question in it (up to
    MAX_QUESTIONS) is answered in a reply of its own. In the person's language throughout."""
    data = context.bot_data
    message = update.effective_message
    chat_id = chat_id or (message.chat_id if message is not None else None)
    if chat_id is None:
        return  # nowhere to answer
    user = update.effective_user
    lang = person_language(update, message_text)
    limit = data.settings.max_question_chars
    if len(message_text) > limit:
        await send_plain(context, chat_id, text("too_long", lang, length=len(message_text), limit=limit))
        return
    if user is not None and not data.limiter.allow(user.id):
        await send_plain(context, chat_id, text("rate_limited", lang))
        return
    kind = classify(message_text)
    questions = [] if kind is not None else questions_in(message_text, MAX_QUESTIONS)
    if len(questions) == 1 and is_one_sentence(message_text):
        questions = [message_text]  # a plain question keeps its wording, "And in Tula?" its "And" (a follow-up cue)
    if not questions:
        await small_talk(update, context, chat_id, message_text, kind or SmallTalk.PUNCTUATION_ONLY, lang)
        return
    for question in questions:
        await answer_question(update, context, question, chat_id, lang, several=len(questions) > 1)


async def small_talk(
    update: Update, context: BotContext, chat_id: int, message_text: str, kind: SmallTalk, lang: str
) -> None:
    """A short reply in kind, with the example questions: no search, no "not found", nothing for staff."""
    data = context.bot_data
    message = update.effective_message
    user = update.effective_user
    unanswered = Answer(question=message_text, language=lang, answered=False, answer="")
    await asyncio.to_thread(
        data.questions.record,
        unanswered,
        channel="telegram",
        latency_ms=0,
        user_id=user.id if user else None,
        chat_type=message.chat.type if message else None,
        small_talk=kind.value,
    )
    in_group = message is not None and message.chat.type != ChatType.PRIVATE
    await context.bot.send_message(
        chat_id,
        formatting.escape(text(SMALL_TALK_REPLIES[kind], lang)),
        reply_markup=examples_keyboard(lang),
        reply_to_message_id=message.message_id if message is not None and in_group else None,
    )


async def answer_question(
    update: Update,
    context: BotContext,
    question: str,
    chat_id: int | None = None,
    lang: str | None = None,
    several: bool = False,
) -> None:
    """Answer one question (resolved against the chat's last turn when it leans on it), log it, remember the
    turn, reply with the passages and the buttons; in groups as a reply to the question. `several`: the
    message held more than one question, so the reply names the one it answers."""
    data = context.bot_data
    message = update.effective_message
    chat_id = chat_id or (message.chat_id if message is not None else None)
    if chat_id is None:
        return  # nowhere to answer
    user = update.effective_user
    lang = lang or person_language(update, question)
    await show_action(context, chat_id, ChatAction.TYPING)
    history = data.conversations.history(chat_id)
    previous = history[-1] if history else None
    resolved = resolve(question, previous.question if previous else None, list(previous.passages) if previous else None)
    turns = [(turn.question, turn.answer) for turn in history]
    if data.writer is not None and turns and is_followup(question, lang):
        # With a language model, a follow-up is rewritten by it (only the question and the recent turns are sent);
        # the rules' reading stands when it fails.
        rewritten = await asyncio.to_thread(model_rewritten, data.writer, question, turns, lang)
        if rewritten is not None:
            resolved = dataclasses.replace(resolved, question=rewritten, rewritten=rewritten != question)
    question = resolved.question
    started = time.perf_counter()
    # One passage more than shown: it tells whether a More button has anything to show.
    answer: Answer = with_agency_reply(await asyncio.to_thread(data.engine.answer, question, MORE_STEP + 1))
    answer = dataclasses.replace(answer, language=lang)  # the reply speaks the person's language
    has_more = len(answer.passages) > MORE_STEP
    answer = dataclasses.replace(answer, passages=answer.passages[:MORE_STEP])
    chat_type = message.chat.type if message else None
    in_group = message is not None and message.chat.type != ChatType.PRIVATE
    # The language model's checked answer when one is configured and the question is covered (drafts meanwhile);
    # else, or when its answer fails the check, the extract (bot/telegram/generated.py).
    draft_id = message.message_id if message is not None else 1
    shown = await write_answer(context, chat_id, answer, private=not in_group, draft_id=draft_id, turns=turns)
    answer = shown.answer
    latency_ms = int((time.perf_counter() - started) * 1000)
    question_id = await asyncio.to_thread(
        data.questions.record,
        answer,
        channel="telegram",
        latency_ms=latency_ms,
        user_id=user.id if user else None,
        chat_type=chat_type,
        generation=shown.log_columns(),
    )
    data.conversations.add(
        chat_id, question, answer.answer if answer.answered else "", [p.text for p in answer.passages]
    )
    markup = None
    if answer.answered:
        markup = answer_keyboard(question_id, answer.language, more_from=MORE_STEP if has_more else None)
    elif user is not None and can_escalate(data.settings):
        markup = ask_agency_keyboard(question_id, answer.language)
    await send_html(
        context,
        chat_id,
        formatting.pack(formatting.answer_blocks(answer, question if resolved.rewritten or several else None)),
        markup,
        reply_to=message.message_id if message is not None and in_group else None,
    )


def answer_keyboard(
    question_id: int, lang: str, vote: int | None = None, more_from: int | None = MORE_STEP
) -> InlineKeyboardMarkup:
    """👍 / 👎 (the counted one gets a check mark) and, while there may be more passages, More."""
    row = [
        InlineKeyboardButton("👍 ✓" if vote == 1 else "👍", callback_data=feedback_data(question_id, 1)),
        InlineKeyboardButton("👎 ✓" if vote == -1 else "👎", callback_data=feedback_data(question_id, -1)),
    ]
    if more_from is not None:
        row.append(InlineKeyboardButton(text("more", lang), callback_data=more_data(question_id, more_from)))
    return InlineKeyboardMarkup([row])


# --- buttons: one handler per kind of callback data -----------------------------------------------


async def example_pressed(update: Update, context: BotContext) -> None:
    """`ex:LANG:N` — ask the N-th example question of /start."""
    press = pressed(update, context)
    if press is None:
        return
    query, match = press
    examples = EXAMPLES[match.group(1)]
    index = int(match.group(2))
    if index >= len(examples):
        await stale_button(update, context)
        return
    await query.answer()
    chat_id = query.message.chat.id if query.message else None
    if chat_id is not None:
        context.bot_data.conversations.forget(chat_id)  # an example starts a new topic: it stands alone
    await answer_message(update, context, examples[index], chat_id=chat_id)


async def feedback_pressed(update: Update, context: BotContext) -> None:
    """`fb:QUESTION:±1` — count the asker's vote and tick the pressed button."""
    press = pressed(update, context)
    if press is None:
        return
    query, match = press
    question_id, value = int(match.group(1)), int(match.group(2))
    lang = user_language(update)
    result = await asyncio.to_thread(context.bot_data.questions.feedback, question_id, query.from_user.id, value)
    if result is Feedback.NOT_YOURS:
        await query.answer(text("not_yours", lang))
        return
    if result is Feedback.MISSING:
        await query.answer(text("expired", lang))
        return
    await query.answer(text("thanks", lang))
    more_from = _more_offset(update.effective_message)
    await query.edit_message_reply_markup(answer_keyboard(question_id, lang, vote=value, more_from=more_from))


async def more_pressed(update: Update, context: BotContext) -> None:
    """`more:QUESTION:SHOWN` — the next passages of an answer, after the SHOWN already sent."""
    press = pressed(update, context)
    if press is None:
        return
    query, match = press
    question_id, shown = int(match.group(1)), int(match.group(2))
    lang = user_language(update)
    data = context.bot_data
    row = await asyncio.to_thread(data.questions.question, question_id)
    if row is None or shown > MORE_MAX_SHOWN:
        await query.answer(text("expired", lang))
        return
    answer = await asyncio.to_thread(data.engine.answer, row["question"], shown + MORE_STEP + 1)
    extra = answer.passages[shown : shown + MORE_STEP] if answer.answered else []
    further = answer.answered and len(answer.passages) > shown + MORE_STEP
    await query.answer(None if extra else text("no_more", lang))
    # The pressed More is used up; an answer's vote buttons stay.
    votes = _has_votes(update.effective_message)
    await query.edit_message_reply_markup(
        answer_keyboard(question_id, lang, vote=row["feedback"], more_from=None) if votes else None
    )
    if extra and query.message is not None:
        markup = None
        if further:
            button = InlineKeyboardButton(text("more", lang), callback_data=more_data(question_id, shown + len(extra)))
            markup = InlineKeyboardMarkup([[button]])
        first_number = _last_number(query.message) + 1 if isinstance(query.message, Message) else shown + 1
        blocks = formatting.passage_blocks(extra, first_number or shown + 1, language=row["language"] or lang)
        await send_html(context, query.message.chat.id, formatting.pack(blocks), markup)


async def stale_button(update: Update, context: BotContext) -> None:
    """Any other callback data (an old button, or data a client made up): say so, change nothing."""
    if update.callback_query is not None:
        await update.callback_query.answer(text("expired", user_language(update)))


def _more_offset(message: Message | None) -> int | None:
    """Where the More button of this message points, so editing the votes keeps it."""
    for data in _button_data(message):
        match = MORE_DATA.match(data)
        if match:
            return int(match.group(2))
    return None


def _last_number(message: Message) -> int:
    """The highest passage number "[n]" the message shows (merged passages make it lower than the offset)."""
    return max((int(n) for n in re.findall(r"\[(\d+)\]", message.text or "")), default=-1)


def _has_votes(message: Message | None) -> bool:
    return any(FEEDBACK_DATA.match(data) for data in _button_data(message))


def _button_data(message: Message | None) -> list[str]:
    if message is None or message.reply_markup is None:
        return []
    return [str(b.callback_data) for row in message.reply_markup.inline_keyboard for b in row if b.callback_data]
