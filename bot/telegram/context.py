"""What every handler shares: the typed bot data, the reader's language, and the ways to send.

Handlers of all kinds (bot/telegram/investor.py, bot/telegram/staff.py, bot/telegram/jobs.py) take a `BotContext`, whose
`bot_data` is a `BotData` — settings, engine, question log, rate limiter, escalations as typed attributes, not
dict entries looked up by name. Every message goes out as HTML (the Application's Defaults), so the
senders here take either packed HTML from bot/telegram/formatting.py or plain text they escape themselves.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackContext, ExtBot

from bot.answering import AnswerWriter
from bot.conversation import Conversations, Languages
from bot.questions.escalations import Escalations
from bot.questions.log import QuestionLog
from bot.settings import Settings
from bot.telegram import formatting
from bot.telegram.embedding import BackgroundEmbedding
from bot.telegram.ratelimit import RateLimiter
from index import Engine, detect_language, message_language

log = logging.getLogger(__name__)


class BotData:
    """The services the handlers use, one set per Application.

    PTB creates bot_data itself, by calling this class without arguments, before there is anything to
    put in it; build_application() then calls `wire()` once, before the first update is handled.
    """

    settings: Settings
    engine: Engine
    questions: QuestionLog
    limiter: RateLimiter
    escalations: Escalations
    embedding: BackgroundEmbedding
    writer: AnswerWriter | None = None  # the language model that writes answers; None: extracts only
    conversations: Conversations
    languages: Languages

    def wire(
        self,
        settings: Settings,
        engine: Engine,
        questions: QuestionLog,
        limiter: RateLimiter,
        escalations: Escalations,
        embedding: BackgroundEmbedding | None = None,
        writer: AnswerWriter | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.questions = questions
        self.limiter = limiter
        self.escalations = escalations
        # Embedding after the commit, off the event loop (bot/telegram/embedding.py); stopped with the application.
        self.embedding = embedding or BackgroundEmbedding(engine, keep_going=lambda: True)
        self.writer = writer
        # Each chat's last turns, for follow-up questions (bot/conversation.py); memory only.
        self.conversations = Conversations()
        # The language each person last used the bot in: staff pushes go out in it.
        self.languages = Languages()

    def staff_language(self, chat_id: int) -> str:
        """The language a staff chat reads: its member's last used language, else INVESTBOT_STAFF_LANGUAGE."""
        return self.languages.get(chat_id) or self.settings.staff_language

    @property
    def uploads(self) -> Path:
        """Where the originals of staff uploads are kept."""
        return Path(self.settings.data_dir) / "uploads"


class BotContext(CallbackContext[ExtBot[None], dict, dict, BotData]):
    """The context every handler receives: `context.bot_data` is the `BotData`."""


@dataclass(frozen=True)
class MessageParts:
    """What a handler of a message (or command) reads from its update, without None: see `message_parts`."""

    message: Message
    chat_id: int
    user_id: int | None  # None for a channel post or an anonymous group admin


def message_parts(update: Update) -> MessageParts | None:
    """The message, its chat and its sender; None for an update without a message (a handler then does nothing)."""
    message = update.effective_message
    if message is None:
        return None
    return MessageParts(message, message.chat_id, sender_id(update))


def sender_id(update: Update) -> int | None:
    """The id of the person behind the update, when Telegram names one."""
    user = update.effective_user
    return user.id if user is not None else None


def pressed(update: Update, context: BotContext) -> tuple[CallbackQuery, re.Match[str]] | None:
    """A button press and what its handler's pattern matched in the callback data; None for anything else."""
    query = update.callback_query
    if query is None or not context.matches:
        return None
    return query, context.matches[0]


def user_language(update: Update, sample: str = "") -> str:
    """Telegram's language_code when it says Russian or English, else the script of the text."""
    user = update.effective_user
    code = (user.language_code or "").lower() if user else ""
    if code.startswith(("ru", "uk", "be", "kk")):
        return "ru"
    if code.startswith("en"):
        return "en"
    return detect_language(sample) if sample else "en"


# Fewer letters than this say too little about a message's language ("ok", "?", "🤔", "SEZ?").
_CLEAR_LETTERS = 6


def person_language(update: Update, message: str = "") -> str:
    """The language to answer this person in: Telegram's language_code, unless the message is clearly in the
    other language ("How many parks?" from a Russian-UI user gets English). "?", emoji and links keep theirs."""
    default = user_language(update, message)
    letters = sum(ch.isalpha() for ch in message)
    return message_language(message, default) if letters >= _CLEAR_LETTERS else default


async def remember_language(update: Update, context: BotContext) -> None:
    """Note the language each person uses the bot in (every update, before any handler), so that what the bot
    sends them unasked — a question pushed to staff — is in it too."""
    user = update.effective_user
    if user is not None:
        message = update.effective_message
        said = (message.text or "") if message is not None else ""
        # A command's words are the bot's ("/pending"), not the person's: they say nothing of the language.
        context.bot_data.languages.note(user.id, person_language(update, "" if said.startswith("/") else said))


async def reply(update: Update, plain: str) -> None:
    """A short plain-text reply to the update's message (escaped: it goes out as HTML)."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(formatting.escape(plain))


async def send_plain(context: BotContext, chat_id: int, plain: str) -> None:
    """A short plain-text message to a chat (escaped: it goes out as HTML)."""
    await context.bot.send_message(chat_id, formatting.escape(plain))


async def send_html(
    context: BotContext,
    chat_id: int,
    chunks: list[str],
    markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
) -> None:
    """Send a message split by formatting.pack; the buttons go under its last part, the quote on its first."""
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        await context.bot.send_message(
            chat_id, chunk, reply_markup=markup if last else None, reply_to_message_id=reply_to if i == 0 else None
        )


async def send_report(context: BotContext, chat_id: int, report: str) -> None:
    """A staff report of any length: plain text, escaped and split under Telegram's limit."""
    await send_html(context, chat_id, formatting.pack([formatting.Block("", report)]))


async def show_action(context: BotContext, chat_id: int, action: str) -> None:
    """ "typing…" is a courtesy: a failure to show it must not cost the user the answer."""
    try:
        await context.bot.send_chat_action(chat_id, action)
    except Exception:
        log.warning("Could not send a chat action", exc_info=True)
