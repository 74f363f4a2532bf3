"""End to end: the real PTB Application, long polling against the Bot API stand-in on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

import pytest

from tests.botapi import BOT_ID, BOT_USERNAME
from tests.conftest import ADMIN_ID, TOKEN

KALUGA = "How many industrial parks does Kaluga Region have?"
INVESTOR = 1001


@contextlib.asynccontextmanager
async def running(application):
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


def run(coro):
    return asyncio.run(coro)


def texts(api, chat_id):
    return [m["text"] for m in api.sent(chat_id)]


async def complete_answer(api, chat_id, n: int = 1):
    """Wait for the n-th whole reply: an answer's last message carries the buttons; "not found" is one message."""
    from bot.messages import TEXTS

    def done(m):
        return "reply_markup" in m or m["text"] in TEXTS["not_found"].values()

    return await api.until(
        lambda: len([m for m in api.sent(chat_id) if done(m)]) >= n and api.sent(chat_id), what="a complete reply"
    )


def replies(api, chat_id):
    """The first message of each reply: a long answer goes on in further messages until the one with its buttons."""
    out: list[str] = []
    open_answer = False
    for m in api.sent(chat_id):
        if not open_answer:
            out.append(m["text"])
        open_answer = m["text"].startswith(("<b>", "<i>")) and "reply_markup" not in m
    return out


def test_question_answered_with_source(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, KALUGA)
            return await complete_answer(botapi, INVESTOR)

    run(scenario())
    messages = botapi.sent(INVESTOR)
    whole = "\n".join(m["text"] for m in messages)
    assert all(m["parse_mode"] == "HTML" for m in messages)
    # The answer sentence is bold inside its passage (quoted open), not repeated above it.
    assert messages[0]["text"].startswith("<b>[1]</b> 📄 <b>Kaluga Region at the VIth Forum")
    assert "<b>There are 10 industrial parks in the region" in whole
    assert whole.count("There are 10 industrial parks in the region") == 1
    assert "📄" in whole and "2014-04-08" in whole and "<blockquote>" in whole
    assert ".md" not in whole and "/work" not in whole and "knowledge/" not in whole  # a title, never a file
    buttons = [b["callback_data"] for row in messages[-1]["reply_markup"]["inline_keyboard"] for b in row]
    assert any(b.startswith("fb:") and b.endswith(":1") for b in buttons) and any(
        b.startswith("more:") for b in buttons
    )
    assert botapi.calls_of("sendChatAction")[0]["action"] == "typing"


def test_off_topic_question_is_unanswered_and_kept(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, "How do I bake a chocolate cake?")
            return await botapi.until(lambda: botapi.sent(INVESTOR), what="a reply")

    reply = run(scenario())[-1]
    assert reply["text"] == "I could not find this in the agency's documents."
    assert "📄" not in reply["text"]
    # No source and no votes: the one button sends the question on to the agency (tests/test_escalation_bot.py).
    buttons = [b["callback_data"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert len(buttons) == 1 and buttons[0].startswith("esc:")
    row = bot_app.bot_data.questions.questions(limit=1)[0]
    assert (row["question"], row["answered"]) == ("How do I bake a chocolate cake?", 0)


def test_russian_question_gets_russian_not_found(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, "Как испечь шоколадный торт?", language_code=None)
            return await botapi.until(lambda: botapi.sent(INVESTOR), what="a reply")

    assert run(scenario())[-1]["text"] == "Я не нашёл ответа на этот вопрос в документах агентства."


def test_thumbs_up_is_stored_and_shown(botapi, bot_app):
    questions = bot_app.bot_data.questions

    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, KALUGA)
            answer = (await complete_answer(botapi, INVESTOR))[-1]
            data = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            botapi.press(INVESTOR, answer["_message"], data)
            await botapi.until(lambda: botapi.calls_of("editMessageReplyMarkup"), what="the button update")
            # Someone else pressing the same button changes nothing.
            botapi.press(2002, answer["_message"], data.rsplit(":", 1)[0] + ":-1")
            await botapi.until(lambda: len(botapi.calls_of("answerCallbackQuery")) == 2)
            return data

    data = run(scenario())
    question_id = int(data.split(":")[1])
    assert questions.question(question_id)["feedback"] == 1
    edited = botapi.calls_of("editMessageReplyMarkup")[0]["reply_markup"]["inline_keyboard"][0]
    assert edited[0]["text"] == "👍 ✓" and edited[1]["text"] == "👎"
    answers = [c.get("text") for c in botapi.calls_of("answerCallbackQuery")]
    assert answers == ["Thank you for the feedback!", "This button belongs to another user's question."]


def test_more_sends_the_next_passages(botapi, bot_app):
    """This question has six relevant passages: 1-3 with the answer, 4-6 after More, then no more."""

    def more_button(message):
        return next(
            b["callback_data"]
            for row in message["reply_markup"]["inline_keyboard"]
            for b in row
            if b["callback_data"].startswith("more:")
        )

    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, "Kaluga Region industrial parks and clusters")
            answer = (await complete_answer(botapi, INVESTOR))[-1]
            first = len(botapi.sent(INVESTOR))
            data = more_button(answer)
            botapi.press(INVESTOR, answer["_message"], data)
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) > first, what="the next passages")
            await botapi.wait_idle(bot_app)
            # An old More that points past the end says so.
            botapi.press(INVESTOR, answer["_message"], data.rsplit(":", 1)[0] + ":6")
            await botapi.until(lambda: len(botapi.calls_of("answerCallbackQuery")) == 2, what="the second More")
            return first

    first = run(scenario())
    numbers = lambda ms: [int(n) for m in ms for n in re.findall(r"<b>\[(\d+)\]</b>", m["text"])]  # noqa: E731
    shown = numbers(botapi.sent(INVESTOR)[:first])
    assert shown == [1, 2]  # three passages; the two of one article that overlap are shown as one
    assert numbers(botapi.sent(INVESTOR)[first:]) == [3, 4, 5]  # More goes on from the last number shown
    assert all("reply_markup" not in m for m in botapi.sent(INVESTOR)[first:])  # nothing further: no More
    assert botapi.calls_of("answerCallbackQuery")[-1]["text"] == "There are no further passages."
    # The pressed More button is taken away; the answer's votes stay.
    edits = botapi.calls_of("editMessageReplyMarkup")
    assert [b["text"] for b in edits[0]["reply_markup"]["inline_keyboard"][0]] == ["👍", "👎"]


def test_no_more_button_when_there_is_nothing_more(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, "When was the Lafarge concrete plant commissioned?")
            return (await complete_answer(botapi, INVESTOR))[-1]

    answer = run(scenario())
    labels = [b["text"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["👍", "👎"]


@pytest.mark.parametrize("caption", [None, "Electricity tariffs 2026"], ids=["no-caption", "caption-title"])
def test_admin_upload_becomes_answerable(botapi, bot_app, caption):
    doc = b"# Tariffs\n\nThe electricity tariff for industrial parks in Kaluga Region is 4.2 roubles per kWh.\n"

    async def scenario():
        async with running(bot_app):
            botapi.send_document(ADMIN_ID, doc, "tariffs.md", caption=caption)
            await botapi.until(lambda: botapi.sent(ADMIN_ID), what="the upload report")
            botapi.send_text(INVESTOR, "What is the electricity tariff for industrial parks in Kaluga Region?")
            return await complete_answer(botapi, INVESTOR)

    answer = "\n".join(m["text"] for m in run(scenario()))
    report = botapi.sent(ADMIN_ID)[0]["text"]
    assert report.startswith("Added document #6:") and "Chunks: 1" in report
    assert (caption or "Tariffs") in report
    assert "4.2 roubles per kWh" in answer and "tariffs.md" not in answer  # named by its title
    uploads = list((bot_app.bot_data.uploads).iterdir())
    assert len(uploads) == 1 and uploads[0].name != "tariffs.md" and uploads[0].suffix == ".md"


def test_admin_upload_same_name_replaces_and_remove_deletes_the_file(botapi, bot_app):
    store = bot_app.bot_data.engine.store
    uploads = bot_app.bot_data.uploads

    async def scenario():
        async with running(bot_app):
            botapi.send_document(ADMIN_ID, b"The land lease rate in Vorsino park is 100 roubles.", "rates.txt")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 1)
            botapi.send_document(ADMIN_ID, b"The land lease rate in Vorsino park is 120 roubles.", "rates.txt")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 2)
            botapi.send_document(ADMIN_ID, b"\x00\x01\x02 not text", "broken.txt")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 3)
            doc_id = store.document_by_source("upload:rates.txt").id
            kept = [p.read_bytes() for p in uploads.iterdir()]
            botapi.send_text(ADMIN_ID, f"/remove {doc_id}")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 4)
            return kept

    kept = run(scenario())
    added, replaced, failed, removed = texts(botapi, ADMIN_ID)
    assert added.startswith("Added document #6") and replaced.startswith("Updated document #6")
    assert failed.startswith("broken.txt was not added:")
    assert kept == [b"The land lease rate in Vorsino park is 120 roubles."]
    assert removed.startswith("Removed document #6") and list(uploads.iterdir()) == []


def test_non_admin_upload_is_refused_and_nothing_stored(botapi, bot_app):
    store = bot_app.bot_data.engine.store
    before = store.document_count()

    async def scenario():
        async with running(bot_app):
            botapi.send_document(INVESTOR, b"Free land for everyone.", "offer.txt")
            botapi.send_text(INVESTOR, "/remove 1")
            botapi.send_text(INVESTOR, "/docs")
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 3, what="three refusals")

    run(scenario())
    assert all("only agency staff" in t for t in texts(botapi, INVESTOR))
    assert store.document_count() == before
    assert not botapi.calls_of("getFile")
    assert not bot_app.bot_data.uploads.exists()


def test_admin_docs_and_remove(botapi, bot_app):
    store = bot_app.bot_data.engine.store

    async def scenario():
        async with running(bot_app):
            botapi.send_text(ADMIN_ID, "/docs")
            await botapi.until(lambda: botapi.sent(ADMIN_ID))
            botapi.send_text(ADMIN_ID, "/remove 1")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 2)
            botapi.send_text(ADMIN_ID, "/remove 999")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 3)
            botapi.send_text(ADMIN_ID, "/remove")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 4)

    run(scenario())
    listing, removed, missing, usage = texts(botapi, ADMIN_ID)
    assert listing.count("#") == 5 and "chunks" in listing
    assert removed.startswith("Removed document #1:")
    assert "no document #999" in missing and usage.startswith("Usage: /remove ID")
    assert store.document_count() == 4


def test_staff_replies_follow_the_language_and_escape_names(botapi, bot_app):
    """Staff texts come in the staff member's language too; a file name is shown, never parsed as HTML."""

    async def scenario():
        async with running(bot_app):
            botapi.send_text(ADMIN_ID, "/help", language_code="ru")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 1)
            botapi.send_text(ADMIN_ID, "/docs", language_code="ru")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 2)
            botapi.send_document(ADMIN_ID, b"MZ", "<i>x&y.exe", language_code="ru")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 3)
            botapi.send_document(ADMIN_ID, b"big", "big.pdf", language_code="en", file_size=21 * 1024 * 1024)
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 4)

    run(scenario())
    help_, listing, refused, too_big = texts(botapi, ADMIN_ID)
    assert "Для сотрудников" in help_ and "DOCX, HTML, MD, PDF, TXT" in help_ and "до 20 МБ" in help_
    assert "фрагментов:" in listing and listing.count("№") == 5
    assert refused.startswith("Не могу прочитать &lt;i&gt;x&amp;y.exe: поддерживаются .docx,")
    assert too_big.startswith("The file is 21.0 MB") and "up to 20 MB" in too_big
    assert not botapi.calls_of("getFile")  # neither file was fetched


def test_upload_over_a_limit_names_the_setting(botapi, bot_settings, store):
    """The library reports which limit a file hit; the bot adds the variable that raises it."""
    from bot.questions.log import QuestionLog
    from bot.telegram.app import build_application
    from index.engine import Engine

    settings = bot_settings.with_(max_file_mb=1)
    application = build_application(settings, Engine.open(settings.engine_config(), store), QuestionLog.open(store))

    async def scenario():
        async with running(application):
            botapi.send_document(
                ADMIN_ID, b"The land lease rate in Vorsino park is 100 roubles.\n" * 30_000, "rates.txt"
            )
            await botapi.until(lambda: botapi.sent(ADMIN_ID), what="the upload report")

    run(scenario())
    assert texts(botapi, ADMIN_ID) == [
        "rates.txt was not added: file is 1.5 MB, over the 1 MB limit (INVESTBOT_MAX_FILE_MB)."
    ]
    assert store.document_count() == 0


def test_long_answer_split_at_paragraphs(botapi, bot_app):
    """A 6,000+ character reply (an unpunctuated 390-word table row is one "sentence": it is the
    answer and its passage) is split under 4,096 characters per message, never mid-tag."""
    words = "Kaluga industrial site offers roads gas power water rail access for investors plot".split()
    table = " ".join(
        f"{words[i % len(words)]}{i // len(words)}" if i % 5 else words[i % len(words)] for i in range(800)
    )
    engine = bot_app.bot_data.engine
    engine.add_text("upload:sites.txt", f"Site table\n\n{table}", title="Industrial sites table")

    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, "Which Kaluga industrial site offers roads gas power water rail access?")
            await botapi.until(lambda: [m for m in botapi.sent(INVESTOR) if "reply_markup" in m], what="the answer")

    run(scenario())
    messages = texts(botapi, INVESTOR)
    assert len(messages) >= 2 and sum(len(m) for m in messages) > 6000
    for m in messages:
        assert len(m) <= 4096
        assert m.count("<blockquote") == m.count("</blockquote>")
        assert m.count("<b>") == m.count("</b>")
        assert not re.search(r"&[a-z]*$", m) and not re.search(r"<[^>]*$", m)
    sent = botapi.sent(INVESTOR)
    assert "reply_markup" in sent[-1] and all("reply_markup" not in m for m in sent[:-1])


def test_html_in_question_is_escaped(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, "<b>&</b> Kaluga Region industrial parks <script>")
            return await complete_answer(botapi, INVESTOR)

    reply = "\n".join(m["text"] for m in run(scenario()))
    assert "<script>" not in reply and "<b>&</b>" not in reply


def test_group_message_without_mention_is_ignored(botapi, bot_app):
    group = -500

    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, KALUGA, chat_type="group", chat_id=group)
            await botapi.wait_idle(bot_app)
            silent = list(botapi.sent(group))
            mention = f"@{BOT_USERNAME}"
            botapi.send_text(
                INVESTOR,
                f"{mention} {KALUGA}",
                chat_type="group",
                chat_id=group,
                entities=[{"type": "mention", "offset": 0, "length": len(mention)}],
            )
            await botapi.until(lambda: replies(botapi, group), what="a reply to the mention")
            botapi.send_text(2002, f"/ask@{BOT_USERNAME} {KALUGA}", chat_type="group", chat_id=group)
            await botapi.until(lambda: len(replies(botapi, group)) == 2, what="a reply to /ask")
            bot_message = {
                "message_id": 1,
                "date": 0,
                "chat": {"id": group, "type": "group"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "InvestBot"},
                "text": "…",
            }
            botapi.send_text(3003, KALUGA, chat_type="group", chat_id=group, reply_to=bot_message)
            await botapi.until(lambda: len(replies(botapi, group)) == 3, what="a reply to a reply")
            return silent

    assert run(scenario()) == []
    assert all("10 industrial parks" in t for t in replies(botapi, -500))
    assert all(
        m.get("reply_parameters", {}).get("message_id") for m in botapi.sent(-500) if not m["text"].startswith("<b>[")
    )


def test_two_users_at_once_both_answered(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(1, KALUGA)
            botapi.send_text(2, "Сколько индустриальных парков в Калужской области?", language_code="ru")
            await complete_answer(botapi, 1)
            await complete_answer(botapi, 2)

    run(scenario())
    assert "10 industrial parks" in replies(botapi, 1)[0]
    assert "10 industrial parks" in replies(botapi, 2)[0]


def test_start_greets_in_user_language_with_example_buttons(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(10, "/start", language_code="ru")
            greeting = (await botapi.until(lambda: botapi.sent(10)))[-1]
            botapi.press(
                10, greeting["_message"], greeting["reply_markup"]["inline_keyboard"][0][0]["callback_data"], "ru"
            )
            await botapi.until(lambda: len(replies(botapi, 10)) == 2, what="the example answered")
            botapi.send_text(11, "/start", language_code="en")
            await botapi.until(lambda: len(botapi.sent(11)) == 1)
            botapi.send_text(11, "/help")
            await botapi.until(lambda: len(botapi.sent(11)) == 2)
            botapi.send_text(11, "/sources")
            await botapi.until(lambda: len(botapi.sent(11)) == 3)

    run(scenario())
    greeting, example = replies(botapi, 10)
    assert greeting.startswith("Здравствуйте")
    assert "10 industrial parks" in example
    start, help_, sources = texts(botapi, 11)
    assert start.startswith("Hello") and "/sources" in help_ and "For staff" not in help_
    assert "Documents I answer from" in sources and "2014-04-08" in sources


def test_edited_messages_are_not_new_questions(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, KALUGA, edited=True)
            await botapi.wait_idle(bot_app)
            botapi.send_text(INVESTOR, "/help")
            await botapi.until(lambda: botapi.sent(INVESTOR))

    run(scenario())
    assert len(botapi.sent(INVESTOR)) == 1 and "/sources" in texts(botapi, INVESTOR)[0]


def test_unsupported_messages_get_a_hint(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_sticker(INVESTOR)
            botapi.send_photo(INVESTOR)
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 2)

    run(scenario())
    assert all("only read text" in t for t in texts(botapi, INVESTOR))


def test_rate_limit_and_length_cap(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, "x" * 1500)
            await botapi.until(lambda: botapi.sent(INVESTOR))
            for _ in range(12):
                botapi.send_text(INVESTOR, KALUGA)
            await botapi.until(lambda: len(replies(botapi, INVESTOR)) == 13, what="13 replies")

    run(scenario())
    got = replies(botapi, INVESTOR)
    assert "too long (1500 characters)" in got[0]
    assert sum("faster than I can answer" in t for t in got) == 2
    assert sum("10 industrial parks" in t for t in got) == 10


def test_errors_apologise_and_token_stays_out_of_logs(botapi, bot_app, caplog, monkeypatch):
    from bot.logs import RedactFilter

    engine = bot_app.bot_data.engine

    def broken(*args, **kwargs):
        raise RuntimeError(f"database exploded near {TOKEN}")

    monkeypatch.setattr(engine, "answer", broken)
    redact = RedactFilter([TOKEN])
    caplog.handler.addFilter(redact)
    logging.getLogger("httpx").setLevel(logging.INFO)  # the worst case: request URLs logged

    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, KALUGA)
            await botapi.until(lambda: botapi.sent(INVESTOR), what="the apology")

    with caplog.at_level(logging.DEBUG):
        run(scenario())
    assert texts(botapi, INVESTOR) == ["Sorry, something went wrong on my side. Please try again in a moment."]
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "database exploded" in logged and "Traceback" in logged
    assert TOKEN not in logged and "<redacted>" in logged


def test_start_warms_the_engine_up_off_the_event_loop(botapi, bot_app, monkeypatch):
    """The answer reader loads at start, in a worker thread, so neither the loop nor the first investor waits."""
    import threading

    warmed: list[bool] = []
    monkeypatch.setattr(
        bot_app.bot_data.engine, "warm_up", lambda: warmed.append(threading.current_thread() is threading.main_thread())
    )

    async def scenario():
        await bot_app.initialize()
        try:
            await bot_app.post_init(bot_app)
            for _ in range(200):
                if warmed:
                    break
                await asyncio.sleep(0.05)
        finally:
            await bot_app.shutdown()

    run(scenario())
    assert warmed == [False]


def test_command_menus_show_staff_commands_only_to_staff(botapi, bot_app):
    """Investors' menu (the default scope) holds no staff command; each admin's own chat scope holds both."""
    import json

    from bot.messages import INVESTOR_COMMANDS, STAFF_COMMANDS

    async def scenario():
        await bot_app.initialize()
        try:
            await bot_app.post_init(bot_app)
        finally:
            await bot_app.shutdown()

    run(scenario())
    menus = {}
    for call in botapi.calls_of("setMyCommands"):
        scope = json.loads(call["scope"]) if isinstance(call.get("scope"), str) else call.get("scope")
        commands = json.loads(call["commands"]) if isinstance(call["commands"], str) else call["commands"]
        menus[(scope["type"], scope.get("chat_id"), call.get("language_code"))] = [c["command"] for c in commands]
    staff = {name for name, _ in STAFF_COMMANDS["en"]}
    investor = [name for name, _ in INVESTOR_COMMANDS["en"]]
    assert menus[("default", None, None)] == investor and menus[("default", None, "ru")] == investor
    for language in (None, "ru"):
        assert set(menus[("chat", ADMIN_ID, language)]) == set(investor) | staff
    assert not staff & {c for key, names in menus.items() if key[0] == "default" for c in names}
