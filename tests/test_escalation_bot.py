"""Questions for the agency end to end: the real Application, long polling against the Bot API stand-in.

Ask → not found → "Ask the agency" → the question reaches staff → a staff reply reaches the investor →
"Add to knowledge" → the next investor's paraphrase is answered from the agency answer, which is cited.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tests.conftest import ADMIN_ID
from tests.test_bot import running

INVESTOR, OTHER, THIRD, OUTSIDER = 1001, 1002, 1003, 555
STAFF_GROUP = -100500
QUESTION = "What is the electricity tariff for residents of industrial parks?"
STAFF_ANSWER = "Residents of the industrial parks pay 4.2 roubles per kWh. The tariff is fixed until 2028."
PARAPHRASE = "How much do industrial park residents pay for electricity?"
RU_QUESTION = "Какой тариф на электроэнергию для резидентов индустриальных парков?"
RU_ANSWER = "Резиденты платят 4,2 рубля за кВт·ч. Тариф зафиксирован до 2028 года."
RU_PARAPHRASE = "Сколько платят резиденты индустриальных парков за электроэнергию?"


def run(coro):
    return asyncio.run(coro)


def buttons(message: dict) -> list[tuple[str, str]]:
    markup = message.get("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


def with_button(api, chat_id: int, prefix: str) -> list[dict]:
    return [m for m in api.sent(chat_id) if any(data.startswith(prefix) for _, data in buttons(m))]


def staff_questions(api, chat_id: int) -> list[dict]:
    return [m for m in api.sent(chat_id) if "❓" in m["text"]]


def callback_answers(api) -> list[dict]:
    return api.calls_of("answerCallbackQuery")


async def ask_and_escalate(api, user: int, question: str, language_code: str = "en") -> dict:
    """The investor asks, gets "not found" with the button, presses it; returns the not-found reply."""
    before = len(with_button(api, user, "esc:"))
    api.send_text(user, question, language_code=language_code)
    replies = await api.until(
        lambda: len(with_button(api, user, "esc:")) > before and with_button(api, user, "esc:"),
        what="a not-found reply with its button",
    )
    reply = replies[-1]
    presses = len(callback_answers(api))
    api.press(user, reply["_message"], buttons(reply)[0][1], language_code=language_code)
    await api.until(lambda: len(callback_answers(api)) > presses, what="the button's answer")
    return reply


def _today_range() -> set[str]:
    now = dt.datetime.now(dt.UTC)
    return {(now - dt.timedelta(minutes=10)).date().isoformat(), now.date().isoformat()}


def test_the_whole_loop(botapi, bot_app):
    store = bot_app.bot_data.engine.store
    days = _today_range()

    async def scenario():
        async with running(bot_app):
            reply = await ask_and_escalate(botapi, INVESTOR, QUESTION)
            staff = await botapi.until(lambda: staff_questions(botapi, ADMIN_ID), what="the question for staff")
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 2, what="the investor's confirmation")
            botapi.send_text(ADMIN_ID, STAFF_ANSWER, reply_to=staff[0]["_message"])
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 3, what="the answer for the investor")
            confirmation = (await botapi.until(lambda: with_button(botapi, ADMIN_ID, "kb:"), what="the confirmation"))[
                0
            ]
            botapi.press(ADMIN_ID, confirmation["_message"], buttons(confirmation)[0][1])
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 3, what="the knowledge report")
            botapi.send_text(OTHER, PARAPHRASE)
            answer = await botapi.until(
                lambda: [m for m in botapi.sent(OTHER) if any(d.startswith("fb:") for _, d in buttons(m))],
                what="an answer from the agency answer",
            )
            return reply, confirmation, answer

    reply, confirmation, answer = run(scenario())
    # The investor: not found, one button; pressed, told where the answer will come; then the answer.
    assert reply["text"] == "I could not find this in the agency's documents."
    assert [label for label, _ in buttons(reply)] == ["Ask the agency"]
    assert callback_answers(botapi)[0]["text"] == "Sent to the agency"
    assert botapi.calls_of("editMessageReplyMarkup")[0].get("reply_markup") in (None, "", {"inline_keyboard": []})
    _, sent, delivered = (m["text"] for m in botapi.sent(INVESTOR))
    assert sent.startswith("Your question has gone to the agency. A staff member will answer it here, in this chat.")
    assert "at most 14 days" in sent
    assert delivered == (
        f"<b>The agency's answer to your question</b>\n<blockquote>{QUESTION}</blockquote>\n\n{STAFF_ANSWER}"
    )
    # Staff: the question, its language, when it was asked, the closest passages, how to answer.
    question_for_staff = staff_questions(botapi, ADMIN_ID)[0]["text"]
    assert question_for_staff.startswith("<b>❓ Question for the agency #1</b>\n\n<blockquote>" + QUESTION)
    assert "Language: English\nAsked: 20" in question_for_staff and "(UTC)\nInvestors waiting: 1" in question_for_staff
    assert "Reply to this message to answer" in question_for_staff
    assert "The closest passages found (not enough for an answer):" in question_for_staff and "📄" in question_for_staff
    assert confirmation["text"].startswith("✅ Sent to 1 investor.")
    assert buttons(confirmation) == [("Add to knowledge", "kb:1")]
    report = botapi.sent(ADMIN_ID)[-1]["text"]
    document = store.document_by_source("agency-answer:1")
    assert report.startswith(f"Added to the knowledge base as document #{document.id}: {QUESTION}")
    assert document.title == QUESTION and document.date in days
    # The next investor's paraphrase is answered from it, in the staff's words, and cites it.
    whole = "\n".join(m["text"] for m in botapi.sent(OTHER))
    assert f"<blockquote><b>{STAFF_ANSWER}</b></blockquote>" in whole and whole.count(STAFF_ANSWER) == 1
    assert f"💬 <b>Agency answer, {document.date}</b> — {QUESTION}" in whole
    assert "agency-answer:" not in whole
    # The investor's chat id went with the answer.
    assert [r[0] for r in store.db.execute("SELECT chat_id FROM escalation_askers").fetchall()] == [None]
    assert answer  # the answer carries the vote buttons, like any other


def test_staff_group_and_a_non_admin_reply_delivers_nothing(botapi, bot_settings, store):
    from bot.questions.log import QuestionLog
    from bot.telegram.app import build_application
    from index.engine import Engine
    from tests.conftest import KNOWLEDGE

    settings = bot_settings.with_(staff_chat=STAFF_GROUP)
    engine = Engine.open(settings.engine_config(), store)
    assert not engine.ingest([KNOWLEDGE]).failed
    application = build_application(settings, engine, QuestionLog.open(store, settings.log_salt))
    escalations = application.bot_data.escalations

    async def scenario():
        async with running(application):
            await ask_and_escalate(botapi, INVESTOR, QUESTION)
            staff = await botapi.until(lambda: staff_questions(botapi, STAFF_GROUP), what="the question in the group")
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 2, what="the investor's confirmation")
            botapi.send_text(
                OUTSIDER,
                "Free electricity for everyone!",
                chat_type="group",
                chat_id=STAFF_GROUP,
                reply_to=staff[0]["_message"],
            )
            await botapi.until(lambda: len(botapi.sent(STAFF_GROUP)) == 2, what="the refusal")
            await botapi.wait_idle(application)
            after_outsider = len(botapi.sent(INVESTOR))
            botapi.send_text(
                ADMIN_ID, STAFF_ANSWER, chat_type="group", chat_id=STAFF_GROUP, reply_to=staff[0]["_message"]
            )
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 3, what="the answer for the investor")
            await botapi.until(lambda: with_button(botapi, STAFF_GROUP, "kb:"), what="the confirmation")
            return after_outsider

    assert run(scenario()) == 2  # the outsider's reply reached no investor
    assert botapi.sent(ADMIN_ID) == []  # with a staff group, admins get nothing privately
    refusal = botapi.sent(STAFF_GROUP)[1]["text"]
    assert refusal == "Only staff listed in INVESTBOT_ADMINS can answer investors; this reply was not sent."
    assert "Free electricity" not in "".join(m["text"] for m in botapi.sent(INVESTOR))
    assert STAFF_ANSWER in botapi.sent(INVESTOR)[-1]["text"]
    assert escalations.get(1).answer == STAFF_ANSWER  # the admin's, not the outsider's


def test_two_investors_with_the_same_question_both_answered(botapi, bot_app):
    wording = "what is the ELECTRICITY tariff for residents of industrial parks"

    async def scenario():
        async with running(bot_app):
            await ask_and_escalate(botapi, INVESTOR, QUESTION)
            staff = await botapi.until(lambda: staff_questions(botapi, ADMIN_ID), what="the question for staff")
            await ask_and_escalate(botapi, OTHER, wording)
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 2, what="the note for staff")
            await botapi.until(lambda: len(botapi.sent(OTHER)) == 2, what="the second confirmation")
            botapi.send_text(ADMIN_ID, STAFF_ANSWER, reply_to=staff[0]["_message"])
            await botapi.until(
                lambda: len(botapi.sent(INVESTOR)) == 3 and len(botapi.sent(OTHER)) == 3, what="the answer for both"
            )
            return (await botapi.until(lambda: with_button(botapi, ADMIN_ID, "kb:"), what="the confirmation"))[0]

    confirmation = run(scenario())
    assert len(staff_questions(botapi, ADMIN_ID)) == 1  # one question for staff, not two
    note = botapi.sent(ADMIN_ID)[1]
    assert note["text"] == "Another investor asked this question too: 2 waiting. One reply answers them all."
    assert note["reply_parameters"]["message_id"] == staff_questions(botapi, ADMIN_ID)[0]["_message"]["message_id"]
    assert f"<blockquote>{QUESTION}</blockquote>" in botapi.sent(INVESTOR)[-1]["text"]
    assert f"<blockquote>{wording}</blockquote>" in botapi.sent(OTHER)[-1]["text"]  # each in their own words
    assert all(STAFF_ANSWER in botapi.sent(user)[-1]["text"] for user in (INVESTOR, OTHER))
    assert confirmation["text"].startswith("✅ Sent to 2 investors.")
    assert bot_app.bot_data.escalations.get(1).askers == 2


def test_a_restart_while_waiting_still_delivers(botapi, bot_app, bot_settings, data_dir):
    from bot.questions.log import QuestionLog
    from bot.telegram.app import build_application
    from index.engine import Engine
    from index.store.database import Store

    async def before_restart():
        async with running(bot_app):
            await ask_and_escalate(botapi, INVESTOR, QUESTION)
            staff = await botapi.until(lambda: staff_questions(botapi, ADMIN_ID), what="the question for staff")
            await botapi.wait_idle(bot_app)
            return staff[0]

    staff = run(before_restart())
    store = Store.in_dir(data_dir)  # a new process: its own store, engine, log and Application
    try:
        application = build_application(
            bot_settings,
            Engine.open(bot_settings.engine_config(), store),
            QuestionLog.open(store, bot_settings.log_salt),
        )

        async def after_restart():
            async with running(application):
                botapi.send_text(ADMIN_ID, STAFF_ANSWER, reply_to=staff["_message"])
                await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 3, what="the answer after the restart")
                await botapi.until(lambda: with_button(botapi, ADMIN_ID, "kb:"), what="the confirmation")

        run(after_restart())
    finally:
        store.close()
    assert STAFF_ANSWER in botapi.sent(INVESTOR)[-1]["text"]
    assert len([m for m in botapi.sent(INVESTOR) if "gone to the agency" in m["text"]]) == 1  # nothing handled twice


def test_expiry_tells_the_investor_and_deletes_the_chat_id(botapi, bot_app):
    from bot.telegram.escalations import expire_job

    store = bot_app.bot_data.engine.store

    async def scenario():
        async with running(bot_app):
            await ask_and_escalate(botapi, INVESTOR, QUESTION)
            staff = await botapi.until(lambda: staff_questions(botapi, ADMIN_ID), what="the question for staff")
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 2, what="the investor's confirmation")
            long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=15)).replace(microsecond=0).isoformat()
            store.db.execute("UPDATE escalations SET escalated_at = ?", [long_ago])
            bot_app.job_queue.run_once(expire_job, 0)
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 3, what="the expiry note")
            botapi.send_text(ADMIN_ID, STAFF_ANSWER, reply_to=staff[0]["_message"])
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 2, what="the reply to the late answer")
            await botapi.wait_idle(bot_app)

    run(scenario())
    note = botapi.sent(INVESTOR)[-1]["text"]
    assert note.startswith("Sorry: the agency could not answer your question within 14 days")
    assert f"<blockquote>{QUESTION}</blockquote>" in note
    assert len(botapi.sent(INVESTOR)) == 3  # the late answer went nowhere
    assert botapi.sent(ADMIN_ID)[-1]["text"].startswith("This question expired after 14 days without an answer")
    assert store.db.execute("SELECT chat_id FROM escalation_askers").fetchall() == [(None,)]
    assert store.db.execute("SELECT status FROM escalations").fetchall() == [("expired",)]


def test_three_questions_waiting_at_most(botapi, bot_app):
    questions = [
        "How do I bake a chocolate cake?",
        "What is the best pizza recipe?",
        "Where can I buy a cheap guitar?",
        "How do I train my parrot to talk?",
    ]

    async def scenario():
        async with running(bot_app):
            for question in questions:
                await ask_and_escalate(botapi, INVESTOR, question)
            await botapi.until(lambda: len(staff_questions(botapi, ADMIN_ID)) == 3, what="three questions for staff")
            await botapi.wait_idle(bot_app)

    run(scenario())
    refused = callback_answers(botapi)[-1]
    assert refused["show_alert"] is True
    assert refused["text"] == (
        "You already have 3 questions waiting for the agency's answer. "
        "Please wait for one of the answers, then ask again."
    )
    assert [c["text"] for c in callback_answers(botapi)[:3]] == ["Sent to the agency"] * 3
    assert len(staff_questions(botapi, ADMIN_ID)) == 3
    assert "parrot" not in "".join(m["text"] for m in botapi.sent(ADMIN_ID))
    assert bot_app.bot_data.escalations.waiting_count() == 3


def test_russian_wording_on_both_sides(botapi, bot_settings, store):
    from bot.questions.log import QuestionLog
    from bot.telegram.app import build_application
    from index.engine import Engine
    from tests.conftest import KNOWLEDGE

    settings = bot_settings.with_(staff_language="ru")
    engine = Engine.open(settings.engine_config(), store)
    assert not engine.ingest([KNOWLEDGE]).failed
    application = build_application(settings, engine, QuestionLog.open(store, settings.log_salt))

    async def scenario():
        async with running(application):
            reply = await ask_and_escalate(botapi, INVESTOR, RU_QUESTION, language_code="ru")
            staff = await botapi.until(lambda: staff_questions(botapi, ADMIN_ID), what="the question for staff")
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 2, what="the investor's confirmation")
            botapi.send_text(ADMIN_ID, RU_ANSWER, reply_to=staff[0]["_message"], language_code="ru")
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 3, what="the answer for the investor")
            confirmation = (await botapi.until(lambda: with_button(botapi, ADMIN_ID, "kb:"), what="the confirmation"))[
                0
            ]
            botapi.press(ADMIN_ID, confirmation["_message"], buttons(confirmation)[0][1], language_code="ru")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 3, what="the knowledge report")
            botapi.send_text(OTHER, RU_PARAPHRASE, language_code="ru")
            await botapi.until(
                lambda: [m for m in botapi.sent(OTHER) if any(d.startswith("fb:") for _, d in buttons(m))],
                what="an answer from the agency answer",
            )
            return reply, confirmation

    reply, confirmation = run(scenario())
    assert reply["text"] == "Я не нашёл ответа на этот вопрос в документах агентства."
    assert [label for label, _ in buttons(reply)] == ["Спросить агентство"]
    assert callback_answers(botapi)[0]["text"] == "Передано в агентство"
    _, sent, delivered = (m["text"] for m in botapi.sent(INVESTOR))
    assert sent.startswith("Ваш вопрос передан в агентство. Сотрудник ответит на него здесь, в этом чате.")
    assert delivered == f"<b>Ответ агентства на ваш вопрос</b>\n<blockquote>{RU_QUESTION}</blockquote>\n\n{RU_ANSWER}"
    staff = staff_questions(botapi, ADMIN_ID)[0]["text"]
    assert staff.startswith("<b>❓ Вопрос в агентство №1</b>") and "Язык: русский" in staff
    assert "Ответьте на это сообщение (Reply)" in staff
    assert confirmation["text"].startswith("✅ Отправлено: 1 инвестору.")
    assert [label for label, _ in buttons(confirmation)] == ["Добавить в базу знаний"]
    assert botapi.sent(ADMIN_ID)[-1]["text"].startswith("Добавлено в базу знаний как документ №6:")
    whole = "\n".join(m["text"] for m in botapi.sent(OTHER))
    assert f"<b>{RU_ANSWER}</b>" in whole and whole.count(RU_ANSWER) == 1 and "💬 <b>Ответ агентства, 20" in whole


def test_made_up_and_foreign_buttons_change_nothing(botapi, bot_app):
    escalations = bot_app.bot_data.escalations
    store = bot_app.bot_data.engine.store

    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, QUESTION)
            reply = (await botapi.until(lambda: with_button(botapi, INVESTOR, "esc:"), what="the not-found reply"))[0]
            data = buttons(reply)[0][1]
            for user, pressed in (
                (OTHER, data),
                (OTHER, "esc:99999"),
                (INVESTOR, "esc:99999"),
                (ADMIN_ID, "kb:1"),
                (INVESTOR, "kb:1"),
                (INVESTOR, "esc:1\n"),
                (INVESTOR, "kb:1:2"),
            ):
                n = len(callback_answers(botapi))
                botapi.press(user, reply["_message"], pressed)
                await botapi.until(lambda n=n: len(callback_answers(botapi)) > n, what=f"the answer to {pressed!r}")
            await botapi.wait_idle(bot_app)

    run(scenario())
    assert [c.get("text") for c in callback_answers(botapi)] == [
        "This button belongs to another user's question.",
        "This question is no longer available.",
        "This question is no longer available.",
        "This question is no longer available.",  # an admin's kb for a question never answered
        "Sorry, only agency staff can do this. You can ask me any question about investing in the region.",
        "This question is no longer available.",
        "This question is no longer available.",
    ]
    assert escalations.waiting_count() == 0 and botapi.sent(ADMIN_ID) == []
    assert store.db.execute("SELECT COUNT(*) FROM escalation_askers").fetchone()[0] == 0
    assert not [d for d in store.documents() if d.source.startswith("agency-answer:")]
    assert not botapi.calls_of("editMessageReplyMarkup")


def test_pending_answers_and_refusals(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            await ask_and_escalate(botapi, INVESTOR, QUESTION)
            await botapi.until(lambda: staff_questions(botapi, ADMIN_ID), what="the question for staff")
            botapi.send_text(INVESTOR, "/pending")
            botapi.send_text(INVESTOR, "/answers")
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 4, what="two refusals")
            botapi.send_text(ADMIN_ID, "/answers")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 2, what="/answers")
            botapi.send_text(ADMIN_ID, "/pending")
            await botapi.until(lambda: len(staff_questions(botapi, ADMIN_ID)) == 2, what="/pending")
            listed = staff_questions(botapi, ADMIN_ID)[-1]
            botapi.send_text(ADMIN_ID, STAFF_ANSWER, reply_to=listed["_message"])  # /pending's message answers too
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 5, what="the answer for the investor")
            confirmation = (await botapi.until(lambda: with_button(botapi, ADMIN_ID, "kb:"), what="the confirmation"))[
                0
            ]
            botapi.press(ADMIN_ID, confirmation["_message"], buttons(confirmation)[0][1])
            n = len(botapi.sent(ADMIN_ID))
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == n + 1, what="the knowledge report")
            botapi.send_text(ADMIN_ID, "/answers")
            botapi.send_text(ADMIN_ID, "/pending")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == n + 3, what="/answers and /pending again")

    run(scenario())
    refusals = [m["text"] for m in botapi.sent(INVESTOR)[2:4]]
    assert all("only agency staff" in t for t in refusals)
    admin = [m["text"] for m in botapi.sent(ADMIN_ID)]
    assert admin[1].startswith("No agency answers yet.")
    assert admin[2] == "Questions waiting for a staff answer: 1. Reply to a question's message to answer it."
    assert "<b>❓ Question for the agency #1</b>" in admin[3] and "closest passages" not in admin[3]
    assert STAFF_ANSWER in botapi.sent(INVESTOR)[-1]["text"]
    date = bot_app.bot_data.engine.store.document_by_source("agency-answer:1").date
    assert set(admin[-2:]) == {  # sent together, so answered in either order
        f"Agency answers in the knowledge base (/remove ID removes one):\n#6 {date} — {QUESTION}",
        "No questions are waiting for the agency's answer.",
    }


@pytest.mark.parametrize(
    "language_code, expected",
    [
        ("en", "Questions investors send to the agency come here"),
        ("ru", "Вопросы, которые инвесторы передают в агентство"),
    ],
    ids=["english", "russian"],
)
def test_staff_help_names_the_new_commands(botapi, bot_app, language_code, expected):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(ADMIN_ID, "/help", language_code=language_code)
            await botapi.until(lambda: botapi.sent(ADMIN_ID), what="the help")

    run(scenario())
    help_ = botapi.sent(ADMIN_ID)[0]["text"]
    assert expected in help_ and "/pending" in help_ and "/answers" in help_
