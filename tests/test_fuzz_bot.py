"""Fuzzing the bot's handlers with hypothesis: hostile texts, odd commands, tampered buttons, edited
and text-less messages. No unhandled exception, a sane reply or none, no admin power for others,
no token or raw user id anywhere."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN_ID, TOKEN

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

SPECIAL = [
    "<b>&</b>",
    "</blockquote>",
    "<a href='javascript:alert(1)'>x</a>",
    '"',
    "'",
    "*",
    "-",
    "NEAR(a b)",
    "a OR b",
    "(",
    ")",
    "^",
    ":",
    "AND",
    "NOT",
    "col:val",
    "\u202e\u200f RTL",
    "🏭🇷🇺",
    "\x00\x01\x1f",
    "ё Ё й",
    "@investbot_test_bot",
    "Сколько индустриальных парков в Калужской области?",
    "How many industrial parks does Kaluga Region have?",
]
COMMANDS = ["/start", "/help", "/sources", "/ask", "/docs", "/remove", "/stats", "/unanswered", "/nonsense"]
USERS = [1001, 1002, ADMIN_ID]

texts = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=10_000),
    st.lists(st.sampled_from(SPECIAL), min_size=1, max_size=8).map(" ".join),
)
commands = st.tuples(st.sampled_from(COMMANDS), st.one_of(st.just(""), st.text(max_size=40), st.integers().map(str)))
callback_data = st.one_of(
    st.text(max_size=64),
    st.builds(
        lambda k, a, b: f"{k}:{a}:{b}",
        st.sampled_from(["fb", "more", "ex"]),
        st.one_of(st.integers(-5, 50), st.text(max_size=5)),
        st.one_of(st.integers(-5, 60), st.text(max_size=5)),
    ),
)


class Harness:
    """The real Application, fed updates through process_update (so each is handled to the end)."""

    def __init__(self, application, botapi):
        self.app = application
        self.api = botapi
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(application.initialize())
        self.ids = itertools.count(1)
        self.errors: list[logging.LogRecord] = []
        handler = logging.Handler(level=logging.ERROR)
        handler.emit = self.errors.append
        logging.getLogger("bot").addHandler(handler)
        logging.getLogger("telegram").addHandler(handler)
        self.handler = handler

    def feed(self, update: dict) -> None:
        from telegram import Update

        update["update_id"] = next(self.ids)
        self.loop.run_until_complete(self.app.process_update(Update.de_json(update, self.app.bot)))

    def close(self) -> None:
        self.loop.run_until_complete(self.app.shutdown())
        self.loop.close()
        logging.getLogger("bot").removeHandler(self.handler)
        logging.getLogger("telegram").removeHandler(self.handler)


@pytest.fixture
def harness(bot_app, botapi):
    h = Harness(bot_app, botapi)
    yield h
    h.close()


def message(user: int, text: str | None = None, chat_type: str = "private", **extra) -> dict:
    body = {
        "message_id": int(time.time() * 1000) % 1_000_000,
        "date": int(time.time()),
        "chat": {"id": user if chat_type == "private" else -100, "type": chat_type},
        "from": {"id": user, "is_bot": False, "first_name": "F", "language_code": "ru" if user % 2 else "en"},
        **extra,
    }
    if text is not None:
        body["text"] = text
        if text.startswith("/"):
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return body


def check_sent(harness: Harness) -> None:
    for params in harness.api.calls_of("sendMessage"):
        text = params.get("text", "")
        assert text.strip(), params
        assert len(text) <= 4096
        if params.get("parse_mode") == "HTML":
            for tag in ("b", "i", "a", "blockquote"):
                opened = len(re.findall(rf"<{tag}[ >]", text))
                assert opened == text.count(f"</{tag}>"), (tag, text[:300])
    assert not harness.errors, [r.getMessage() for r in harness.errors]


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(text=texts, user=st.sampled_from(USERS), group=st.booleans(), edited=st.booleans())
def test_fuzz_text_messages(harness, text, user, group, edited):
    body = message(user, text, "group" if group else "private")
    harness.feed({"edited_message" if edited else "message": body})
    check_sent(harness)


@FUZZ
@given(command=commands, user=st.sampled_from(USERS))
def test_fuzz_commands(harness, command, user):
    store = harness.app.bot_data.engine.store
    before = store.document_count()
    name, arg = command
    harness.feed({"message": message(user, f"{name} {arg}".strip())})
    check_sent(harness)
    if user != ADMIN_ID:
        assert store.document_count() == before  # no admin power for others


@FUZZ
@given(data=callback_data, user=st.sampled_from(USERS))
def test_fuzz_callbacks(harness, data, user):
    log = harness.app.bot_data.questions
    if not log.questions(limit=1):  # a real question to aim at, asked by someone else
        harness.feed({"message": message(1001, "How many industrial parks does Kaluga Region have?")})
    votes = {r["id"]: r["feedback"] for r in log.questions()}
    bot_message = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": user, "type": "private"},
        "from": {"id": 7000001, "is_bot": True, "first_name": "InvestBot"},
        "text": "…",
    }
    harness.feed(
        {
            "callback_query": {
                "id": "q",
                "from": {"id": user, "is_bot": False, "first_name": "F"},
                "chat_instance": "c",
                "data": data,
                "message": bot_message,
            }
        }
    )
    check_sent(harness)
    if user != 1001:  # nobody else's vote can change the asker's feedback
        assert {r["id"]: r["feedback"] for r in log.questions() if r["id"] in votes} == votes


@pytest.mark.parametrize(
    "extra",
    [
        {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "u",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            }
        },
        {"photo": [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]},
        {"voice": {"file_id": "v", "file_unique_id": "u", "duration": 1}},
        {"location": {"latitude": 54.5, "longitude": 36.3}},
        {"new_chat_members": [{"id": 5, "is_bot": False, "first_name": "N"}]},
    ],
    ids=["sticker", "photo", "voice", "location", "join"],
)
def test_messages_without_text(harness, extra):
    harness.feed({"message": message(1001, None, **extra)})
    check_sent(harness)


def test_no_token_or_raw_ids_in_logs(harness, caplog, monkeypatch):
    """With the logging `investbot serve` sets up (INFO), the log holds neither token nor user id,
    even when a failure's traceback carries the token."""
    from bot.logs import configure_logging

    engine = harness.app.bot_data.engine
    real = engine.answer

    def sometimes_broken(question, *args, **kwargs):
        if "parks" in question:
            raise RuntimeError(f"connection to https://api.telegram.org/bot{TOKEN}/ failed")
        return real(question, *args, **kwargs)

    monkeypatch.setattr(engine, "answer", sometimes_broken)
    saved = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    with caplog.at_level(logging.INFO):
        redact = configure_logging([TOKEN])
        caplog.handler.addFilter(redact)
        try:
            for user in USERS:
                harness.feed({"message": message(user, "How many industrial parks does Kaluga Region have?")})
                harness.feed({"message": message(user, "What is the French investment in Kaluga Region?")})
        finally:
            for name, level in saved.items():
                logging.getLogger(name).setLevel(level)
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "Error while handling an update" in logged and "<redacted>" in logged
    assert TOKEN not in logged
    assert not any(str(user) in logged for user in (1001, 1002))
    harness.errors.clear()  # the failures were the point here
    rows = harness.app.bot_data.questions.questions()
    assert len(rows) == len(USERS)
    assert all(re.fullmatch(r"[0-9a-f]{32}", r["user_hash"]) for r in rows)
    assert len({r["user_hash"] for r in rows}) == len(USERS)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "junk",
        "fb:{qid}:2",
        "fb:{qid}:1\n",
        "fb:-{qid}:1",
        "fb:{qid}:1:extra",
        "more:{qid}:51",
        "more:" + "9" * 30 + ":3",
        "ex:de:0",
        "ex:en:99",
        "ex:en:-1",
    ],
    ids=[
        "empty",
        "junk",
        "bad-vote",
        "trailing-newline",
        "negative-id",
        "extra-part",
        "more-too-far",
        "huge-id",
        "unknown-language",
        "example-out-of-range",
        "negative-example",
    ],
)
def test_tampered_callback_data_changes_nothing(harness, data):
    """Data no button of the bot carries gets "no longer available" and changes no vote, even the asker's own."""
    log = harness.app.bot_data.questions
    harness.feed({"message": message(1001, "How many industrial parks does Kaluga Region have?")})
    qid = log.questions(limit=1)[0]["id"]
    sent_before = len(harness.api.calls_of("sendMessage"))
    bot_message = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": 1001, "type": "private"},
        "from": {"id": 7000001, "is_bot": True, "first_name": "InvestBot"},
        "text": "…",
    }
    harness.feed(
        {
            "callback_query": {
                "id": "q",
                "from": {"id": 1001, "is_bot": False, "first_name": "F", "language_code": "en"},
                "chat_instance": "c",
                "data": data.format(qid=qid),
                "message": bot_message,
            }
        }
    )
    check_sent(harness)
    assert [c.get("text") for c in harness.api.calls_of("answerCallbackQuery")] == [
        "This question is no longer available."
    ]
    assert log.question(qid)["feedback"] is None
    assert len(harness.api.calls_of("sendMessage")) == sent_before
    assert not harness.api.calls_of("editMessageReplyMarkup")
