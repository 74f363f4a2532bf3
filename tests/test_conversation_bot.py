"""Talking like a person, end to end (issue 17): small talk, follow-ups, questions inside a letter, one language
per person, sources by title, nothing twice — the real Application against the Bot API stand-in."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.messages import EXAMPLES, TEXTS
from tests.conftest import ADMIN_ID
from tests.test_bot import running

INVESTOR = 1001

PARKS = {
    "ru": "Сколько индустриальных парков в Калужской области?",
    "en": "How many industrial parks does Kaluga Region have?",
}
FOLLOW_UP = {"ru": "А сколько из них уже работают?", "en": "And how many of them already work?"}
UNDERSTOOD = {"ru": "Понял вопрос как:", "en": "I understood the question as:"}
LETTER = {
    "ru": "Добрый день! Мы — компания «Ромашка», производим упаковку и выбираем площадку для нового завода. "
    "Сколько индустриальных парков в Калужской области? И какие задачи у Межрегиональной ассоциации центров "
    "импортозамещения?",
    "en": "Good afternoon! We are a packaging company from Lyon looking for a site for a new plant. "
    "How many industrial parks does Kaluga Region have? And how much French investment has Kaluga Region attracted?",
}
SMALL_TALK = {
    "ru": ["Привет", "Спасибо!", "ок", "?", "...", "🤔🏭💰", "Пока", "Кто ты?"],
    "en": ["Hello", "Thanks!", "ok", "?", "...", "🤔🏭💰", "Bye", "Who are you?"],
}


def run(coro):
    return asyncio.run(coro)


def reply_count(api, chat_id: int) -> int:
    """Whole replies so far: an answer's last message carries buttons; "not found" comes alone."""
    not_found = set(TEXTS["not_found"].values())
    return len([m for m in api.sent(chat_id) if "reply_markup" in m or m["text"] in not_found])


async def ask(api, text: str, n: int, language_code: str | None, user: int = INVESTOR) -> list[dict]:
    api.send_text(user, text, language_code=language_code)
    await api.until(lambda: reply_count(api, user) >= n, what=f"reply {n}")
    return api.sent(user)


def buttons(message: dict) -> list[str]:
    return [b["callback_data"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


def reply_texts(messages: list[dict], start: int) -> str:
    return "\n".join(m["text"] for m in messages[start:])


# --- 1. small talk ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_small_talk_gets_a_friendly_reply_with_examples_and_is_no_gap(botapi, bot_app, lang):
    messages = SMALL_TALK[lang]

    async def scenario():
        async with running(bot_app):
            for n, message in enumerate(messages, start=1):
                await ask(botapi, message, n, lang)
            return botapi.sent(INVESTOR)

    sent = run(scenario())
    assert len(sent) == len(messages)  # one short message each: no waiting, no second part
    examples = [f"ex:{lang}:{i}" for i in range(len(EXAMPLES[lang]))]
    small_talk_texts = {TEXTS[key][lang] for key in TEXTS if key.startswith("smalltalk_")}
    for reply in sent:
        assert reply["text"] in small_talk_texts, reply["text"]
        assert buttons(reply) == examples  # the example questions, never "Ask the agency"
        assert not any(b.startswith("esc:") for b in buttons(reply))
    assert sent[0]["text"] == TEXTS["smalltalk_greeting"][lang]
    assert sent[-1]["text"] == TEXTS["smalltalk_who"][lang]
    log = bot_app.bot_data.questions
    rows = list(log.store.db.query("SELECT question, small_talk, answered FROM questions ORDER BY id"))
    assert [r["question"] for r in rows] == messages and all(r["small_talk"] for r in rows)
    assert rows[0]["small_talk"] == "greeting"
    assert log.questions() == [] and log.questions(unanswered=True) == []  # no gaps
    assert log.stats().questions == 0 and log.refresh_gaps() == []


# --- 2. follow-ups ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_follow_up_is_resolved_with_the_previous_question_and_new_starts_over(botapi, bot_app, lang):
    async def scenario():
        async with running(bot_app):
            await ask(botapi, PARKS[lang], 1, lang)
            first = len(botapi.sent(INVESTOR))
            await ask(botapi, FOLLOW_UP[lang], 2, lang)
            second = len(botapi.sent(INVESTOR))
            botapi.send_text(INVESTOR, "/new", language_code=lang)
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) > second, what="/new")
            after_new = len(botapi.sent(INVESTOR))
            await ask(botapi, FOLLOW_UP[lang], 3, lang)
            return botapi.sent(INVESTOR), first, second, after_new

    sent, first, second, after_new = run(scenario())
    assert UNDERSTOOD[lang] not in reply_texts(sent[:first], 0)  # a stand-alone question is not changed
    resolved = sent[first]["text"]
    assert resolved.startswith(f"<i>{UNDERSTOOD[lang]}")
    assert ("парков" in resolved) if lang == "ru" else ("industrial parks" in resolved)
    assert "📄" in reply_texts(sent, first)  # answered from the parks passage, not "not found"
    assert sent[second]["text"] == TEXTS["new_conversation"][lang]
    assert UNDERSTOOD[lang] not in reply_texts(sent, after_new)  # after /new nothing to lean on
    logged = [r["question"] for r in bot_app.bot_data.questions.questions()][::-1]
    them = {"ru": "из них", "en": "of them"}[lang]
    assert them not in logged[1] and them in logged[2]  # the log keeps what was searched


def test_conversation_memory_expires_and_is_per_chat(botapi, bot_app):
    memory = bot_app.bot_data.conversations

    async def scenario():
        async with running(bot_app):
            await ask(botapi, PARKS["en"], 1, "en")
            memory.quiet_s = 0.0  # the chat has been quiet long enough
            await ask(botapi, FOLLOW_UP["en"], 2, "en")
            return botapi.sent(INVESTOR)

    sent = run(scenario())
    assert UNDERSTOOD["en"] not in reply_texts(sent, 0)
    assert memory.last(2002) is None


# --- 3. questions inside a longer message ---------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_each_question_of_a_letter_gets_its_own_reply_with_sources(botapi, bot_app, lang):
    async def scenario():
        async with running(bot_app):
            return await ask(botapi, LETTER[lang], 2, lang)

    sent = run(scenario())
    replies = [m["text"] for m in sent if m["text"].startswith("<i>")]
    assert len(replies) == 2
    assert "парков" in replies[0] or "industrial parks" in replies[0]
    assert "ассоциац" in replies[1] or "French" in replies[1]
    whole = reply_texts(sent, 0)
    assert whole.count("📄") >= 2 and "Ромашка" not in whole and "Lyon" not in whole
    assert not any(t in whole for t in TEXTS["not_found"].values())


# --- 4. one language per person -----------------------------------------------------------------------


def test_russian_reader_gets_russian_around_an_english_document(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            return await ask(botapi, PARKS["ru"], 1, "ru")

    whole = reply_texts(run(scenario()), 0)
    assert "<i>В документе на английском:</i>" in whole
    assert "с. " not in whole or "p. " not in whole


def test_english_question_from_a_russian_ui_is_answered_in_english(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            await ask(botapi, "How do I bake a chocolate cake with cherries?", 1, "ru")
            return await ask(botapi, "???", 2, "ru")

    sent = run(scenario())
    assert sent[0]["text"] == TEXTS["not_found"]["en"]  # the message is clearly English
    assert sent[-1]["text"] == TEXTS["smalltalk_unclear"]["ru"]  # "?" says nothing: the UI's language


def test_staff_push_in_the_language_the_staff_member_uses(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(ADMIN_ID, "/pending", language_code="ru")  # the admin speaks Russian
            await botapi.until(lambda: botapi.sent(ADMIN_ID), what="/pending")
            reply = (await ask(botapi, "How do I bake a chocolate cake with cherries?", 1, "en"))[-1]
            data = next(b for b in buttons(reply) if b.startswith("esc:"))
            botapi.press(INVESTOR, reply["_message"], data)
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) >= 2, what="the push to staff")
            return botapi.sent(ADMIN_ID)

    push = run(scenario())[1]["text"]
    assert "Вопрос в агентство №" in push and "Question for the agency" not in push


def test_upload_failure_reason_in_the_staff_members_language(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_document(ADMIN_ID, b"%PDF-1.4 broken", "report.pdf", language_code="ru")
            return await botapi.until(lambda: botapi.sent(ADMIN_ID), what="the upload reply")

    reply = run(scenario())[-1]["text"]
    assert reply == "report.pdf не добавлен: это не корректный PDF (файл обрезан или повреждён)."


# --- 5. sources by title; 6. nothing twice ----------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_sources_and_docs_name_documents_by_title(botapi, bot_app, lang):
    bot_app.bot_data.engine.store.db.execute("UPDATE documents SET date = NULL WHERE id = 1")

    async def scenario():
        async with running(bot_app):
            botapi.send_text(ADMIN_ID, "/sources", language_code=lang)
            await botapi.until(lambda: botapi.sent(ADMIN_ID), what="/sources")
            botapi.send_text(ADMIN_ID, "/docs", language_code=lang)
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) >= 2, what="/docs")
            return reply_texts(botapi.sent(ADMIN_ID), 0)

    whole = run(scenario())
    assert ".md" not in whole and "/work" not in whole and "knowledge/" not in whole
    assert whole.count(TEXTS["no_date"][lang]) == 2  # the same wording in both lists
    assert "— — —" not in whole


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_an_answer_shows_no_sentence_twice(botapi, bot_app, lang):
    question = {
        "ru": "Сколько производств введено в 2014 году?",
        "en": "How many production facilities were commissioned in 2014?",
    }[lang]

    async def scenario():
        async with running(bot_app):
            return await ask(botapi, question, 1, lang)

    whole = reply_texts(run(scenario()), 0)
    if "📄" in whole:
        assert whole.count("12 new production facilities were commissioned in 2014.") <= 1
        quoted = re.findall(r"<blockquote[^>]*>(.*?)</blockquote>", whole, flags=re.S)
        sentences = [s for q in quoted for s in re.findall(r"<b>(.*?)</b>", q)]
        assert sentences  # the answer is bold inside its passage
        for sentence in sentences:
            assert whole.count(sentence) == 1, sentence
