"""The Telegram bot's wiring: build the Application from settings, engine and question log, and run it.

Only assembly lives here — defaults, typed bot data, which handler serves which update, the menu,
the error apology, polling or webhook. What the handlers do is in bot/telegram/investor.py (asking, answers,
More, feedback, examples), bot/telegram/staff.py (uploads, documents, reports), bot/telegram/links.py (links staff add),
bot/telegram/escalations.py (questions sent on to staff and their answers) and bot/telegram/jobs.py (the digest, the web
refresh).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlparse

from telegram import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.answering import writer_for
from bot.messages import INVESTOR_COMMANDS, STAFF_COMMANDS, text
from bot.questions.escalations import Escalations
from bot.questions.log import QuestionLog
from bot.settings import Settings
from bot.telegram import escalations as escalation_handlers
from bot.telegram import investor, staff
from bot.telegram import links as web_handlers
from bot.telegram.context import BotContext, BotData, remember_language, send_plain, user_language
from bot.telegram.embedding import BackgroundEmbedding
from bot.telegram.health import health_route_job
from bot.telegram.jobs import embed_backlog, refresh_web, send_digest
from bot.telegram.ratelimit import RateLimiter
from index import Engine

log = logging.getLogger(__name__)

RATE_WINDOW_S = 60.0  # the rate limit counts questions per minute


async def on_error(update: object, context: BotContext) -> None:
    log.error("Error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await send_plain(context, update.effective_chat.id, text("error", user_language(update)))
        except Exception:  # the apology itself failed (network): the log has the cause
            log.warning("Could not send the error apology", exc_info=True)


def command_menus(settings: Settings) -> list[tuple[BotCommandScope, str | None, list[BotCommand]]]:
    """(scope, language, commands): investors' menu for everyone (the default scope), and each admin's own chat
    with the staff commands too, in English (Telegram's fallback) and Russian."""
    menus: list[tuple[BotCommandScope, str | None, list[BotCommand]]] = []
    for lang, code in (("en", None), ("ru", "ru")):
        investor_menu = [BotCommand(name, description) for name, description in INVESTOR_COMMANDS[lang]]
        staff_menu = investor_menu + [BotCommand(name, description) for name, description in STAFF_COMMANDS[lang]]
        menus.append((BotCommandScopeDefault(), code, investor_menu))
        menus += [(BotCommandScopeChat(admin), code, staff_menu) for admin in sorted(settings.admins)]
    return menus


async def _post_init(application: Application) -> None:
    """Register the command menus; a Bot API server that refuses them must not stop the bot. The engine warms
    up meanwhile in a worker thread (the answer reader loads), so the first investor does not wait for it."""
    settings = application.bot_data.settings
    # Before the application runs (PTB calls post_init then), so a plain executor job, not Application.create_task.
    asyncio.get_running_loop().run_in_executor(None, application.bot_data.engine.warm_up)
    for scope, language, commands in command_menus(settings):
        try:
            await application.bot.set_my_commands(commands, scope=scope, language_code=language)
        except Exception:  # an admin who never opened a chat with the bot: Telegram refuses their scope
            log.warning("Could not register the command menu for %s (%s)", scope.type, language, exc_info=True)


def build_application(settings: Settings, engine: Engine, questions: QuestionLog) -> Application:
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    # A bounded number of updates at once (and HTTP connections to match): with hundreds in flight
    # the event loop spends its time juggling them and stalls (bench/bot_load.py measured it).
    builder = (
        Application.builder()
        .token(settings.telegram_token)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .concurrent_updates(settings.concurrent_updates)
        .connection_pool_size(settings.concurrent_updates + 8)
        .post_init(_post_init)
    )
    if settings.api_base_url and (file_base_url := settings.file_base_url):  # derived from the API URL if unset
        builder = builder.base_url(settings.api_base_url).base_file_url(file_base_url)
    application = builder.build()
    limiter = RateLimiter(settings.rate_limit_per_minute, RATE_WINDOW_S)
    application.bot_data.wire(
        settings,
        engine,
        questions,
        limiter,
        Escalations(questions, settings.escalation_days),
        BackgroundEmbedding(engine, keep_going=lambda: application.running),
        writer_for(settings.llm_config(), settings.llm_daily_tokens, questions.store),
    )

    application.add_handler(TypeHandler(Update, remember_language), group=-2)  # every update, first
    new = filters.UpdateType.MESSAGE  # edited messages are not new questions
    for name, callback in (
        ("start", investor.start),
        ("help", investor.help_command),
        ("sources", investor.sources),
        ("ask", investor.ask_command),
        ("new", investor.new_command),
        ("docs", staff.docs_command),
        ("remove", staff.remove_command),
        ("stats", staff.stats_command),
        ("unanswered", staff.unanswered_command),
        ("add", web_handlers.add_command),
        ("pending", escalation_handlers.pending_command),
        ("answers", escalation_handlers.answers_command),
    ):
        application.add_handler(CommandHandler(name, callback, filters=new))
    application.add_handler(CallbackQueryHandler(investor.stale_button, pattern=investor.NO_DATA))  # first
    application.add_handler(CallbackQueryHandler(investor.example_pressed, pattern=investor.EXAMPLE_DATA))
    application.add_handler(CallbackQueryHandler(investor.feedback_pressed, pattern=investor.FEEDBACK_DATA))
    application.add_handler(CallbackQueryHandler(investor.more_pressed, pattern=investor.MORE_DATA))
    application.add_handler(
        CallbackQueryHandler(escalation_handlers.ask_agency_pressed, pattern=escalation_handlers.ASK_AGENCY_DATA)
    )
    application.add_handler(
        CallbackQueryHandler(escalation_handlers.add_knowledge_pressed, pattern=escalation_handlers.ADD_KNOWLEDGE_DATA)
    )
    application.add_handler(CallbackQueryHandler(investor.stale_button))  # anything else: last
    # A staff reply to an escalated question is an answer, not a question: looked at first (group -1),
    # any other reply goes on to the handlers below.
    application.add_handler(
        MessageHandler(new & filters.REPLY & filters.TEXT & ~filters.COMMAND, escalation_handlers.staff_reply), group=-1
    )
    # A private message that is only a link: staff add the page, anyone else asked a question.
    application.add_handler(
        MessageHandler(
            new & filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & filters.Regex(web_handlers.LINK_MESSAGE),
            web_handlers.link_message,
        )
    )
    application.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, investor.text_message))
    # Files: from anyone in a private chat (an investor's is refused politely), in a group only from staff.
    staff_users = filters.User(user_id=settings.admins, allow_empty=False)
    application.add_handler(
        MessageHandler(new & filters.Document.ALL & (filters.ChatType.PRIVATE | staff_users), staff.document)
    )
    application.add_handler(
        MessageHandler(new & ~filters.TEXT & ~filters.Document.ALL & ~filters.StatusUpdate.ALL, investor.unsupported)
    )
    application.add_error_handler(on_error)
    if application.job_queue is not None:
        # Chunks left without a vector (a run killed while embedding, a new model) are embedded in the
        # background from the start; questions are answered meanwhile (bot/telegram/embedding.py).
        application.job_queue.run_once(embed_backlog, when=0, name="embed-backlog")
        application.job_queue.run_repeating(
            escalation_handlers.expire_job,
            interval=escalation_handlers.EXPIRY_CHECK_S,
            first=escalation_handlers.EXPIRY_FIRST_S,
            name="escalation-expiry",
        )
    if settings.digest_time is not None and settings.admins and application.job_queue is not None:
        application.job_queue.run_daily(
            send_digest, time=settings.digest_time.replace(tzinfo=settings.tz), name="daily-digest"
        )
    if settings.refresh_time is not None and application.job_queue is not None:
        application.job_queue.run_daily(
            refresh_web, time=settings.refresh_time.replace(tzinfo=settings.tz), name="daily-refresh"
        )
    return application


def webhook_options(settings: Settings) -> dict:
    """Where PTB listens and what it registers with Telegram; the URL's path is the local path."""
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": urlparse(settings.webhook_url or "").path.lstrip("/"),
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret,
        "allowed_updates": Update.ALL_TYPES,
    }


def run(application: Application, settings: Settings) -> None:
    """Long polling by default; a webhook (with GET /healthz beside it) when INVESTBOT_WEBHOOK_URL is set.

    Both handle SIGINT and SIGTERM themselves: PTB stops fetching, lets handlers, jobs and background
    embedding finish (embedding stops between texts: bot/telegram/embedding.py) and returns."""
    if settings.webhook_url:
        if application.job_queue is not None:  # jobs start once the webhook server listens
            application.job_queue.run_once(health_route_job, when=0, name="healthz-route")
        application.run_webhook(**webhook_options(settings))
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
