"""The bot's pure parts: HTML formatting and splitting, rate limit, settings, question log, webhook."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import urllib.request

import pytest

from bot.messages import PLURALS, TEXTS, plural
from bot.questions.log import Feedback, QuestionLog
from bot.settings import Settings, SettingsError
from bot.telegram.formatting import TELEGRAM_LIMIT, Block, answer_blocks, pack, source_html
from bot.telegram.investor import (
    EXAMPLE_DATA,
    FEEDBACK_DATA,
    MORE_DATA,
    NO_DATA,
    example_data,
    feedback_data,
    more_data,
)
from bot.telegram.ratelimit import RateLimiter
from index.results import Answer, Passage
from tests.conftest import ROOT

V01_STORE = ROOT / "tests" / "data" / "store-v0.1.db"


def passage(**changes) -> Passage:
    values = dict(
        doc_id=1,
        title="Guide <2026> & more",
        date="2014-04-08",
        source="/srv/data/guide.pdf",
        url=None,
        page=3,
        text="There are 10 industrial parks.",
        score=1.0,
        chunk_id=7,
    )
    values.update(changes)
    return Passage(**values)


@pytest.mark.parametrize(
    "p, expected",
    [
        (passage(), "📄 <b>Guide &lt;2026&gt; &amp; more</b> — 2014-04-08 — p. 3"),
        (
            passage(page=None, date=None, source="upload:tariffs.md"),
            "📄 <b>Guide &lt;2026&gt; &amp; more</b> — no date",
        ),
        (
            passage(page=None, url='https://invest.example/a?b=1&c="2"'),
            "📄 <b>Guide &lt;2026&gt; &amp; more</b> — 2014-04-08 — "
            '<a href="https://invest.example/a?b=1&amp;c=&quot;2&quot;">https://invest.example/a?b=1&amp;c="2"</a>',
        ),
    ],
    ids=["file-and-page", "upload-no-date", "link-escaped"],
)
def test_source_line(p, expected):
    assert source_html(p) == expected


@pytest.mark.parametrize(
    "body",
    [
        "short",
        "\n\n".join(["Paragraph with <tags> & entities. " * 20] * 12),  # ~8,000 characters of paragraphs
        "One line per row & more <x>\n" * 400,
        "Sentences without paragraphs. " * 400,
        "x" * 9000,  # one unbreakable run
        "&" * 5000,  # escaping makes it five times longer
    ],
    ids=["short", "paragraphs", "lines", "sentences", "unbroken", "all-escapes"],
)
def test_pack_splits_under_the_limit_without_breaking_html(body):
    messages = pack([Block("<b>Answer</b>\n<blockquote expandable>", body, "</blockquote>")])
    assert all(len(m) <= TELEGRAM_LIMIT for m in messages)
    for m in messages:
        assert m.startswith("<b>Answer</b>\n<blockquote expandable>") and m.endswith("</blockquote>")
        assert not re.search(r"&[a-z]*(?![a-z;])", m.replace("&amp;", "").replace("&lt;", "").replace("&gt;", ""))
    # Nothing lost: the pieces hold the whole text (white space at cut points aside).
    import html

    joined = "".join(
        html.unescape(m.split("<blockquote expandable>", 1)[1].rsplit("</blockquote>", 1)[0]) for m in messages
    )
    assert re.sub(r"\s+", "", joined) == re.sub(r"\s+", "", body)


def test_pack_prefers_paragraph_boundaries():
    paragraphs = [f"Paragraph {i}. " + "word " * 150 for i in range(12)]
    messages = pack([Block("", "\n\n".join(paragraphs))])
    assert len(messages) > 1
    for m in messages:
        assert m.startswith("Paragraph ")  # each message starts at a paragraph


def test_answer_blocks_escape_everything():
    answer = Answer(
        "<b>&</b>?", "en", True, "Answer with <i>tags</i> & ampersands", [passage(text="<script>x</script>")]
    )
    rendered = "\n\n".join(pack(answer_blocks(answer)))
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert "<b>Answer with &lt;i&gt;tags&lt;/i&gt; &amp; ampersands</b>" in rendered


def test_unanswered_has_no_sources():
    rendered = pack(answer_blocks(Answer("q", "ru", False, "", [])))
    assert rendered == ["Я не нашёл ответа на этот вопрос в документах агентства."]


def test_rate_limiter_sliding_window():
    now = [0.0]
    limiter = RateLimiter(3, 60.0, clock=lambda: now[0])
    assert [limiter.allow(1) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow(2)  # other users are not affected
    now[0] = 59.9
    assert not limiter.allow(1)
    now[0] = 60.1
    assert limiter.allow(1)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"INVESTBOT_ADMINS": "12, bob"}, "INVESTBOT_ADMINS: 'bob' is not a numeric Telegram user id"),
        ({"INVESTBOT_WEBHOOK_PORT": "http"}, "INVESTBOT_WEBHOOK_PORT='http' is not a valid int"),
        ({"INVESTBOT_WEBHOOK_PORT": "70000"}, "must be a port number"),
        ({"TELEGRAM_API_BASE_URL": "127.0.0.1:8081/bot"}, "must start with http:// or https://"),
        ({"INVESTBOT_WEBHOOK_SECRET": "has spaces"}, "INVESTBOT_WEBHOOK_SECRET may only hold"),
        ({"INVESTBOT_RATE_LIMIT": "0"}, "INVESTBOT_RATE_LIMIT=0 must be positive"),
        ({"INVESTBOT_BACKEND": "tf"}, "INVESTBOT_BACKEND='tf' is not valid (choose from: "),
        ({"INVESTBOT_STAFF_LANGUAGE": "de"}, "INVESTBOT_STAFF_LANGUAGE='de' is not valid (choose from: en, ru)"),
    ],
    ids=["admins", "port-type", "port-range", "base-url", "secret", "rate", "backend", "staff-language"],
)
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "base, file_base, expected",
    [
        (None, None, None),
        ("http://127.0.0.1:8081/bot", None, "http://127.0.0.1:8081/file/bot"),
        ("http://127.0.0.1:8081/bot/", None, "http://127.0.0.1:8081/file/bot"),
        ("http://api.local/custom", None, "http://api.local/custom/file/bot"),
        ("http://127.0.0.1:8081/bot", "http://files.local/f/bot", "http://files.local/f/bot"),
    ],
    ids=["telegram", "self-hosted", "trailing-slash", "other-path", "explicit"],
)
def test_file_url_derivation(base, file_base, expected):
    env = {k: v for k, v in (("TELEGRAM_API_BASE_URL", base), ("TELEGRAM_API_BASE_FILE_URL", file_base)) if v}
    assert Settings.from_env(env).file_base_url == expected


def test_settings_from_env():
    s = Settings.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "INVESTBOT_ADMINS": "5 6,7", "INVESTBOT_RATE_LIMIT": "3"})
    assert s.admins == {5, 6, 7} and s.is_admin(6) and not s.is_admin(8) and not s.is_admin(None)
    assert s.rate_limit_per_minute == 3
    assert "1:x" not in repr(s)  # the token never shows in a repr (and so in a log)


def test_question_log_hashes_ids(store):
    log = QuestionLog.open(store)  # no salt configured: one is generated and kept
    again = QuestionLog.open(store)
    assert log.user_hash(123456789) == again.user_hash(123456789) != QuestionLog(store, "other").user_hash(123456789)
    answer = Answer("Where?", "en", True, "Here.", [passage()], confidence=0.9)
    qid = log.record(answer, channel="telegram", latency_ms=12, user_id=123456789, chat_type="private")
    row = log.question(qid)
    assert "123456789" not in json.dumps(row)
    assert row["doc_ids"] == "[1]" and row["answered"] == 1 and row["top_score"] == 0.9
    assert log.feedback(qid, 999, 1) is Feedback.NOT_YOURS and log.question(qid)["feedback"] is None
    assert log.feedback(qid, 123456789, -1) is Feedback.OK and log.question(qid)["feedback"] == -1
    assert log.feedback(qid + 100, 123456789, 1) is Feedback.MISSING
    with pytest.raises(ValueError, match="feedback must be 1 or -1"):
        log.set_feedback(qid, 0)


def test_store_made_by_v0_1_upgrades_in_place(tmp_path):
    """A database made by the released v0.1 (one global `migrations` table holding 1, 2, 3) opens with
    the store and the question log, loses nothing, and records both migration sets."""
    from bot.questions.log import MIGRATIONS as QUESTIONLOG_MIGRATIONS
    from index.engine import Engine, EngineConfig
    from index.store.database import MIGRATIONS as DOCUMENT_MIGRATIONS
    from index.store.database import Store

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(V01_STORE, data_dir / "investbot.db")
    store = Store.in_dir(data_dir)
    try:
        log = QuestionLog.open(store)
        assert store.document_count() == 5 and store.chunk_count() == 19
        rows = sorted(log.questions(), key=lambda r: r["id"])
        assert [(r["id"], r["channel"], r["question"], r["answered"], r["doc_ids"]) for r in rows] == [
            (1, "cli", "How many industrial parks does Kaluga Region have?", 1, "[2, 3]"),
            (2, "cli", "Where to buy a cake?", 0, "[]"),
        ]
        assert rows[0]["answer"].startswith("There are 10 industrial parks") and rows[0]["top_score"] == 0.8485
        assert rows[0]["asked_at"] == "2026-11-29T17:24:25+00:00" and rows[1]["answer"] is None
        assert store.get_meta("log_salt") == "aee568c10cccba983b4e78226a14c928"  # the salt stays: hashes still match
        assert [m.name for m in DOCUMENT_MIGRATIONS.pending(store.db)] == []
        assert [m.name for m in QUESTIONLOG_MIGRATIONS.applied(store.db)][:2] == ["questions", "gap_topics"]
        assert [m.name for m in QUESTIONLOG_MIGRATIONS.pending(store.db)] == []
        assert rows[0]["answer_source"] is None  # a column added later (generated answers): empty for old rows
        engine = Engine.open(EngineConfig(data_dir=data_dir, model=None), store)
        answer = engine.answer("How many industrial parks does Kaluga Region have?")
        assert answer.answered and "10 industrial parks" in answer.answer
        qid = log.record(answer, channel="telegram", latency_ms=7, user_id=5, chat_type="private")
        assert qid == 3 and log.question(qid)["answered"] == 1
        assert log.refresh_gaps() and log.stats().questions == 3
        # Opening again runs nothing more.
        assert store.apply_migrations(QUESTIONLOG_MIGRATIONS) == []
    finally:
        store.close()


@pytest.mark.parametrize(
    "n, language, expected",
    [
        (1, "en", "question"),
        (2, "en", "questions"),
        (0, "en", "questions"),
        (11, "en", "questions"),
        (1, "ru", "вопрос"),
        (21, "ru", "вопрос"),
        (2, "ru", "вопроса"),
        (34, "ru", "вопроса"),
        (5, "ru", "вопросов"),
        (11, "ru", "вопросов"),
        (12, "ru", "вопросов"),
        (0, "ru", "вопросов"),
        (111, "ru", "вопросов"),
        (3, "de", "questions"),
    ],
    ids=[
        "en-1",
        "en-2",
        "en-0",
        "en-11",
        "ru-1",
        "ru-21",
        "ru-2",
        "ru-34",
        "ru-5",
        "ru-11",
        "ru-12",
        "ru-0",
        "ru-111",
        "other-language-english",
    ],
)
def test_plural(n, language, expected):
    assert plural(n, "question", language) == expected


def test_every_text_in_both_languages_with_the_same_values():
    placeholders = re.compile(r"\{(\w+)")
    for key, entry in TEXTS.items():
        assert set(entry) == {"en", "ru"}, key
        assert set(placeholders.findall(entry["en"])) == set(placeholders.findall(entry["ru"])), key
    assert all(set(forms) == {"en", "ru"} for forms in PLURALS.values())


@pytest.mark.parametrize(
    "pattern, data, groups",
    [
        (EXAMPLE_DATA, example_data("ru", 2), ("ru", "2")),
        (FEEDBACK_DATA, feedback_data(17, -1), ("17", "-1")),
        (MORE_DATA, more_data(17, 3), ("17", "3")),
        (EXAMPLE_DATA, "ex:de:0", None),
        (EXAMPLE_DATA, "ex:en:-1", None),
        (FEEDBACK_DATA, "fb:17:2", None),
        (FEEDBACK_DATA, "fb:17:1\n", None),
        (FEEDBACK_DATA, "fb:-3:1", None),
        (FEEDBACK_DATA, "fb:" + "9" * 30 + ":1", None),
        (MORE_DATA, "more:17:x", None),
        (MORE_DATA, "more:17:3:4", None),
        (NO_DATA, "", ()),
        (NO_DATA, "fb:17:1", None),
    ],
    ids=[
        "example",
        "feedback",
        "more",
        "unknown-language",
        "negative-index",
        "bad-vote",
        "trailing-newline",
        "negative-id",
        "huge-id",
        "non-number",
        "extra-part",
        "empty",
        "no-data-only-empty",
    ],
)
def test_callback_data_patterns(pattern, data, groups):
    """What the buttons carry is accepted; anything else falls through to the 'expired' reply."""
    match = pattern.match(data)
    assert (match.groups() if match else None) == groups


@pytest.mark.parametrize(
    "reason, limit, expected",
    [
        (
            "took longer than the 120 s limit per file",
            "file_timeout",
            "took longer than the 120 s limit per file (INVESTBOT_FILE_TIMEOUT)",
        ),
        (
            "file is 60.0 MB, over the 50 MB limit",
            "max_file_bytes",
            "file is 60.0 MB, over the 50 MB limit (INVESTBOT_MAX_FILE_MB)",
        ),
        ("not a valid PDF", None, "not a valid PDF"),
        ("odd", "a_limit_we_do_not_set", "odd"),
    ],
    ids=["timeout", "size", "no-limit", "unknown-limit"],
)
def test_failure_names_the_variable_of_the_limit(reason, limit, expected):
    from bot.settings import with_limit_variable

    assert with_limit_variable(reason, limit) == expected


def test_settings_take_library_defaults():
    from index.engine import EngineConfig

    library = EngineConfig(data_dir=Settings().data_dir)
    ours = Settings().engine_config()
    for name in ("min_coverage", "dense_threshold", "max_file_bytes", "file_timeout"):
        assert getattr(ours, name) == getattr(library, name), name
    assert Settings().upload_limit_mb == 20 and Settings(max_file_mb=5).upload_limit_mb == 5


def test_staff_help_names_the_registry_formats():
    from bot.telegram.staff import upload_formats
    from index.readers import SUPPORTED_FORMATS

    listed = upload_formats().split(", ")
    assert listed == sorted(listed) and {f.lower() for f in listed} == set(SUPPORTED_FORMATS.values())


def test_every_bot_command_is_in_readme(bot_app):
    from telegram.ext import CommandHandler

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [
        c for group in bot_app.handlers.values() for h in group if isinstance(h, CommandHandler) for c in h.commands
    ]
    assert len(commands) >= 6
    for command in commands:
        assert f"/{command}" in readme, f"README.md does not mention /{command}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_mode_receives_updates(botapi, bot_app, bot_settings):
    """The webhook path: Telegram (here a test) POSTs updates with the secret token header."""
    from bot.telegram.app import webhook_options

    port = _free_port()
    settings = bot_settings.with_(
        webhook_url="https://bot.example.org/telegram/hook",
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret="s3cret-token",
    )
    options = webhook_options(settings)
    assert options["url_path"] == "telegram/hook" and options["secret_token"] == "s3cret-token"
    update = {
        "update_id": 1,
        "message": {
            "message_id": 5,
            "date": 0,
            "chat": {"id": 77, "type": "private"},
            "from": {"id": 77, "is_bot": False, "first_name": "W"},
            "text": "How many industrial parks does Kaluga Region have?",
        },
    }

    def post(secret: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/telegram/hook",
            data=json.dumps(update).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    async def scenario():
        await bot_app.initialize()
        await bot_app.start()
        await bot_app.updater.start_webhook(**options)
        try:
            assert await asyncio.to_thread(post, "wrong") == 403
            assert await asyncio.to_thread(post, "s3cret-token") == 200
            await botapi.until(lambda: botapi.sent(77), what="an answer through the webhook")
        finally:
            await bot_app.updater.stop()
            await bot_app.stop()
            await bot_app.shutdown()

    asyncio.run(scenario())
    assert botapi.calls_of("setWebhook")[0]["url"] == "https://bot.example.org/telegram/hook"
    assert "10 industrial parks" in botapi.sent(77)[0]["text"]


def test_configure_logging_keeps_the_token_out(capfd):
    import logging

    from bot.logs import configure_logging

    root = logging.getLogger()
    saved = list(root.handlers)
    for h in saved:
        root.removeHandler(h)
    try:
        configure_logging(["123:SECRET"])
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
        logging.getLogger("httpx").warning("POST https://api.telegram.org/bot123:SECRET/getUpdates failed")
        try:
            raise RuntimeError("token 123:SECRET in an exception")
        except RuntimeError:
            logging.getLogger("bot").exception("boom")
        err = capfd.readouterr().err
        assert "123:SECRET" not in err and "Traceback" in err
        assert "bot<redacted>/getUpdates" in err and "RuntimeError: token <redacted> in an exception" in err
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved:
            root.addHandler(h)


def test_serve_without_token_explains(monkeypatch, data_dir):
    from click.testing import CliRunner

    from bot.cli.main import cli

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "serve"])
    assert result.exit_code != 0 and "TELEGRAM_BOT_TOKEN is not set" in result.output and "@BotFather" in result.output
