"""Escalations without Telegram: the storage (normalisation, counts, limit, expiry, privacy, restart), agency
answers in the knowledge base, the wording staff and investors read, settings, the digest, the CLI and Datasette."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import time
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from bot.messages import agency_reply, render_text, with_agency_reply
from bot.questions.escalations import (
    EscalateOutcome,
    Escalations,
    KnowledgeOutcome,
    Recipient,
    ReplyOutcome,
    Status,
    agency_text,
    agency_title,
    question_key,
)
from bot.questions.log import QuestionLog
from bot.settings import Settings, SettingsError
from bot.telegram.escalations import (
    ADD_KNOWLEDGE_DATA,
    ASK_AGENCY_DATA,
    add_knowledge_data,
    answers_text,
    ask_agency_data,
    delivery_text,
    investor_answer_blocks,
    local_time,
    staff_question_blocks,
)
from bot.telegram.formatting import TELEGRAM_LIMIT, pack, passage_blocks
from index.engine import Engine, EngineConfig
from index.results import Answer, Passage
from index.store.database import Store
from tests.conftest import KNOWLEDGE

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
ALICE, BOB, CAROL = 1001, 1002, 1003
ALICE_CHAT, BOB_CHAT, CAROL_CHAT = 5_551_234_567, 5_551_234_568, 5_551_234_569  # ids over 4 bytes, as real ones


# --- pure text work --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("What is the electricity tariff?", "what is the  electricity tariff", True),
        ("What is the electricity tariff?", "WHAT IS THE ELECTRICITY TARIFF ???", True),
        ("Где взять ёлку?", "где взять елку", True),
        ("Tariff, for plants?", "tariff for plants", True),
        ("ｔａｒｉｆｆ", "tariff", True),
        ("What is the electricity tariff?", "What is the gas tariff?", False),
        ("Is A bigger than B?", "Is B bigger than A?", False),
    ],
    ids=["spacing", "case-and-punctuation", "yo-and-e", "commas", "full-width", "other-word", "other-order"],
)
def test_question_key(a, b, same):
    assert (question_key(a) == question_key(b)) is same


@pytest.mark.parametrize(
    "question, expected",
    [
        ("How do I rent land?", "How do I rent land?"),
        ("How do I\nrent   land?", "How do I rent land?"),
        ("word " * 40, ("word " * 29).strip() + "…"),
    ],
    ids=["short", "one-line", "long-cut-at-a-word"],
)
def test_agency_title(question, expected):
    assert agency_title(question) == expected
    assert len(agency_title(question)) <= 150


def _agency_passage(text: str, title: str = "How do I rent land?", date: str | None = "2026-11-29") -> Passage:
    return Passage(
        doc_id=6,
        title=title,
        date=date,
        source="agency-answer:3",
        url=None,
        page=None,
        text=text,
        score=1.0,
        chunk_id=40,
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            agency_text("How do I rent land?", "Apply to the agency.\n\nIt takes a month."),
            "Apply to the agency.\n\nIt takes a month.",
        ),
        ("It takes a month.", "It takes a month."),
        ("How do I rent land?", "How do I rent land?"),
    ],
    ids=["question-then-answer", "continuation-chunk", "question-alone"],
)
def test_agency_reply_drops_the_stored_question(text, expected):
    assert agency_reply(_agency_passage(text)) == expected


def test_with_agency_reply_only_for_agency_passages():
    stored = agency_text("How do I rent land?", "Apply to the agency.")
    extracted = Answer("Renting land?", "en", True, "How do I rent land?", [_agency_passage(stored)], 1.0)
    assert with_agency_reply(extracted).answer == "Apply to the agency."
    document = Passage(2, "Parks", "2014-04-08", "/k/parks.md", None, None, "There are 10 parks.", 1.0, 5)
    plain = Answer("Parks?", "en", True, "There are 10 parks.", [document], 1.0)
    assert with_agency_reply(plain) is plain
    unanswered = Answer("Cake?", "en", False, "", [], 0.1)
    assert with_agency_reply(unanswered) is unanswered


@pytest.mark.parametrize(
    "language, label",
    [
        ("en", "💬 <b>Agency answer, 2026-11-29</b> — How do I rent &lt;land&gt;?"),
        ("ru", "💬 <b>Ответ агентства, 2026-11-29</b> — How do I rent &lt;land&gt;?"),
    ],
    ids=["english", "russian"],
)
def test_agency_answer_cited_with_its_label_and_date(language, label):
    block = passage_blocks([_agency_passage("x", title="How do I rent <land>?")], language=language)[0]
    assert block.prefix.startswith(f"<b>[1]</b> {label}\n")
    assert "agency-answer" not in block.render()


def test_agency_answer_in_the_terminal():
    answer = Answer("Renting land?", "en", True, "Apply.", [_agency_passage("How do I rent land?\n\nApply.")], 1.0)
    assert "[1] Agency answer, 2026-11-29 — How do I rent land?" in render_text(answer)
    assert "agency-answer:" not in render_text(answer)


@pytest.mark.parametrize(
    "pattern, data, groups",
    [
        (ASK_AGENCY_DATA, ask_agency_data(17), ("17",)),
        (ADD_KNOWLEDGE_DATA, add_knowledge_data(4), ("4",)),
        (ASK_AGENCY_DATA, "esc:-1", None),
        (ASK_AGENCY_DATA, "esc:17\n", None),
        (ASK_AGENCY_DATA, "esc:" + "9" * 30, None),
        (ADD_KNOWLEDGE_DATA, "kb:4:1", None),
        (ADD_KNOWLEDGE_DATA, "kb:x", None),
    ],
    ids=["ask", "add", "negative", "trailing-newline", "huge", "extra-part", "non-number"],
)
def test_callback_data_patterns(pattern, data, groups):
    match = pattern.match(data)
    assert (match.groups() if match else None) == groups


def test_local_time_in_the_staff_time_zone():
    assert local_time("2026-11-29T09:05:00+00:00", "Europe/Moscow") == "2026-11-29 12:05 (Europe/Moscow)"
    assert local_time("2026-11-29T09:05:00+00:00", "UTC") == "2026-11-29 09:05 (UTC)"


@pytest.mark.parametrize(
    "delivered, total, language, expected",
    [
        (1, 1, "en", "✅ Sent to 1 investor."),
        (2, 2, "en", "✅ Sent to 2 investors."),
        (1, 2, "en", "Sent to 1 of 2: the others could not be reached"),
        (1, 1, "ru", "✅ Отправлено: 1 инвестору."),
        (5, 5, "ru", "✅ Отправлено: 5 инвесторам."),
    ],
    ids=["one", "two", "partly", "ru-one", "ru-five"],
)
def test_delivery_text(delivered, total, language, expected):
    assert delivery_text(delivered, total, language).startswith(expected)


# --- storage -----------------------------------------------------------------------------------------


@pytest.fixture
def log(store):
    return QuestionLog(store, "salt")


@pytest.fixture
def escalations(log):
    return Escalations(log)


def _ask(log: QuestionLog, question: str, user: int, answered: bool = False, now: dt.datetime = NOW) -> int:
    language = "ru" if re.search("[а-яё]", question.lower()) else "en"
    answer = Answer(question, language, answered, "An answer." if answered else "", [], 0.1)
    qid = log.record(answer, channel="telegram", latency_ms=5, user_id=user, chat_type="private")
    log.store.db.execute("UPDATE questions SET asked_at = ? WHERE id = ?", [now.isoformat(), qid])
    return qid


def _chat_ids(store: Store) -> list:
    return [r[0] for r in store.db.execute("SELECT chat_id FROM escalation_askers ORDER BY id").fetchall()]


def test_escalate_creates_then_joins_the_same_question(log, escalations):
    first = escalations.escalate(_ask(log, "What is the electricity tariff?", ALICE), ALICE, ALICE_CHAT, NOW)
    assert first.outcome is EscalateOutcome.CREATED and first.language == "en"
    escalation = first.escalation
    assert (escalation.question, escalation.askers, escalation.status) == (
        "What is the electricity tariff?",
        1,
        Status.WAITING,
    )
    assert escalation.asked_at == NOW.isoformat() and escalation.escalated_at == NOW.isoformat()
    again = escalations.escalate(_ask(log, "what is the ELECTRICITY tariff", BOB), BOB, BOB_CHAT, NOW)
    assert again.outcome is EscalateOutcome.JOINED and again.escalation.id == escalation.id
    assert again.escalation.askers == 2 and escalations.waiting_count() == 1
    other = escalations.escalate(_ask(log, "What is the gas tariff?", BOB), BOB, BOB_CHAT, NOW)
    assert other.outcome is EscalateOutcome.CREATED and escalations.waiting_count() == 2


def test_escalate_refuses_what_it_must(log, escalations):
    mine = _ask(log, "What is the electricity tariff?", ALICE)
    answered = _ask(log, "How many parks?", ALICE, answered=True)
    assert escalations.escalate(mine, BOB, BOB_CHAT).outcome is EscalateOutcome.NOT_YOURS
    assert escalations.escalate(mine + 100, ALICE, ALICE_CHAT).outcome is EscalateOutcome.MISSING
    assert escalations.escalate(answered, ALICE, ALICE_CHAT).outcome is EscalateOutcome.ANSWERED
    assert escalations.waiting_count() == 0 and _chat_ids(log.store) == []
    assert escalations.escalate(mine, ALICE, ALICE_CHAT).outcome is EscalateOutcome.CREATED
    assert escalations.escalate(mine, ALICE, ALICE_CHAT).outcome is EscalateOutcome.ALREADY
    # The same investor asking again in other words is still the one waiting question.
    repeat = _ask(log, "What is the electricity tariff", ALICE)
    assert escalations.escalate(repeat, ALICE, ALICE_CHAT).outcome is EscalateOutcome.ALREADY
    assert escalations.get(1).askers == 1


def test_three_waiting_questions_at_most(log, escalations):
    questions = [_ask(log, f"Question about topic {word}?", ALICE) for word in ("alpha", "beta", "gamma", "delta")]
    outcomes = [escalations.escalate(q, ALICE, ALICE_CHAT).outcome for q in questions]
    assert outcomes == [EscalateOutcome.CREATED] * 3 + [EscalateOutcome.LIMIT]
    assert escalations.waiting_for_user(ALICE) == 3 and escalations.waiting_for_user(BOB) == 0
    # Joining someone else's waiting question counts too.
    bobs = _ask(log, "Question about topic alpha?", BOB)
    assert escalations.escalate(bobs, BOB, BOB_CHAT).outcome is EscalateOutcome.JOINED
    # An answer frees a place.
    escalations.answer(1, "Alpha is fine.")
    assert escalations.waiting_for_user(ALICE) == 2
    assert escalations.escalate(questions[3], ALICE, ALICE_CHAT).outcome is EscalateOutcome.CREATED


def test_answer_goes_to_every_asker_once_and_deletes_their_chat_ids(log, escalations):
    escalations.escalate(_ask(log, "What is the electricity tariff?", ALICE), ALICE, ALICE_CHAT, NOW)
    escalations.escalate(_ask(log, "WHAT is the electricity tariff", BOB), BOB, BOB_CHAT, NOW)
    escalations.escalate(_ask(log, "Какой тариф на газ?", CAROL), CAROL, CAROL_CHAT, NOW)
    answered_at = NOW + dt.timedelta(hours=3)
    reply = escalations.answer(1, "4.2 roubles per kWh.", answered_at)
    assert reply.outcome is ReplyOutcome.DELIVER
    assert reply.recipients == [
        Recipient(ALICE_CHAT, "en", "What is the electricity tariff?"),
        Recipient(BOB_CHAT, "en", "WHAT is the electricity tariff"),  # each quoted in their own words
    ]
    assert reply.escalation.status is Status.ANSWERED and reply.escalation.answered_at == answered_at.isoformat()
    assert _chat_ids(log.store) == [None, None, CAROL_CHAT]  # only the one still waiting keeps its chat
    again = escalations.answer(1, "A second answer.")
    assert again.outcome is ReplyOutcome.ALREADY_ANSWERED and again.recipients == []
    assert escalations.get(1).answer == "4.2 roubles per kWh."
    assert escalations.answer(99, "?").outcome is ReplyOutcome.MISSING
    escalations.record_delivery(1, 2)
    assert escalations.get(1).delivered == 2


def test_expiry_closes_old_escalations_and_deletes_chat_ids(log, escalations):
    escalations.escalate(_ask(log, "What is the electricity tariff?", ALICE), ALICE, ALICE_CHAT, NOW)
    later = NOW + dt.timedelta(days=10)
    escalations.escalate(_ask(log, "What is the gas tariff?", BOB, now=later), BOB, BOB_CHAT, later)
    assert escalations.expire(NOW + dt.timedelta(days=13)) == []
    expired = escalations.expire(NOW + dt.timedelta(days=14, minutes=1))
    assert expired == [Recipient(ALICE_CHAT, "en", "What is the electricity tariff?")]
    assert escalations.get(1).status is Status.EXPIRED and escalations.get(2).status is Status.WAITING
    assert _chat_ids(log.store) == [None, BOB_CHAT]
    assert escalations.answer(1, "Too late.").outcome is ReplyOutcome.EXPIRED
    assert escalations.expire(NOW + dt.timedelta(days=14, minutes=2)) == []  # told once
    # The same question asked again is a new escalation.
    fresh = escalations.escalate(_ask(log, "What is the electricity tariff?", ALICE), ALICE, ALICE_CHAT)
    assert fresh.outcome is EscalateOutcome.CREATED and fresh.escalation.id == 3


def test_expiry_follows_the_setting(log):
    short = Escalations(log, days=2)
    short.escalate(_ask(log, "What is the electricity tariff?", ALICE), ALICE, ALICE_CHAT, NOW)
    assert short.expire(NOW + dt.timedelta(days=2, minutes=1)) != []


def test_log_retention_also_removes_old_closed_escalations(log, escalations):
    log.retention_days = 30
    escalations.escalate(_ask(log, "What is the electricity tariff?", ALICE), ALICE, ALICE_CHAT, NOW)
    escalations.answer(1, "4.2 roubles.", NOW)
    escalations.escalate(_ask(log, "What is the gas tariff?", BOB), BOB, BOB_CHAT, NOW + dt.timedelta(days=25))
    escalations.expire(NOW + dt.timedelta(days=31))
    assert escalations.get(1) is None and escalations.get(2).status is Status.WAITING
    assert log.store.db.execute("SELECT COUNT(*) FROM escalation_askers").fetchone()[0] == 1


def test_chat_ids_leave_the_database_file(data_dir, log, escalations):
    """Deleted means gone from the file too, not only from query results (SQLite's secure_delete)."""
    store = log.store
    store.db.execute("PRAGMA secure_delete = 0")  # as SQLite is built by default (Debian's build turns it on)
    escalations.escalate(_ask(log, "What is the electricity tariff?", ALICE), ALICE, ALICE_CHAT, NOW)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = ALICE_CHAT.to_bytes(6, "big")  # how SQLite stores an integer of this size
    assert stored in store.path.read_bytes()  # the check can see it while it is kept
    escalations.answer(1, "4.2 roubles.")
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert stored not in store.path.read_bytes()
    assert store.db.execute("PRAGMA secure_delete").fetchone()[0] == 0  # the connection's setting is restored


def test_questions_log_purge_keeps_the_escalation(log, escalations):
    qid = _ask(log, "What is the electricity tariff?", ALICE)
    escalations.escalate(qid, ALICE, ALICE_CHAT, NOW)
    log.purge_before((NOW + dt.timedelta(days=1)).isoformat())
    assert log.question(qid) is None
    reply = escalations.answer(1, "4.2 roubles.")
    assert reply.recipients == [Recipient(ALICE_CHAT, "en", "What is the electricity tariff?")]


def test_waiting_escalations_survive_a_restart(data_dir):
    store = Store.in_dir(data_dir)
    log = QuestionLog(store, "salt")
    escalations = Escalations(log)
    escalations.escalate(_ask(log, "What is the electricity tariff?", ALICE), ALICE, ALICE_CHAT, NOW)
    escalations.record_staff_messages(1, [(42, 700), (43, 701)])
    store.close()
    again = Store.in_dir(data_dir)
    try:
        reopened = Escalations(QuestionLog(again, "salt"))
        assert reopened.by_staff_message(43, 701).id == 1 and reopened.by_staff_message(43, 700) is None
        assert [e.question for e in reopened.waiting()] == ["What is the electricity tariff?"]
        assert reopened.answer(1, "4.2 roubles.").recipients[0].chat_id == ALICE_CHAT
        assert reopened.staff_messages(1) == [(42, 700), (43, 701)]
    finally:
        again.close()


def test_escalated_questions_for_the_cli(log, escalations):
    _ask(log, "How many parks?", ALICE, answered=True)
    qid = _ask(log, "What is the electricity tariff?", ALICE)
    _ask(log, "Where to buy a cake?", BOB)
    escalations.escalate(qid, ALICE, ALICE_CHAT)
    assert [r["id"] for r in escalations.escalated_questions()] == [qid]
    assert escalations.escalated_questions(since=(NOW + dt.timedelta(days=1)).isoformat()) == []


# --- agency answers in the knowledge base ---------------------------------------------------------------


@pytest.fixture
def engine(data_dir, store):
    engine = Engine.open(EngineConfig(data_dir=data_dir, model=None), store)
    assert not engine.ingest([KNOWLEDGE]).failed
    return engine


QUESTION = "What is the electricity tariff for residents of industrial parks?"
STAFF_ANSWER = "Residents of the industrial parks pay 4.2 roubles per kWh. The tariff is fixed until 2028."
PARAPHRASE = "How much do industrial park residents pay for electricity?"


def test_agency_answer_becomes_knowledge_that_answers_a_paraphrase(engine, log, escalations):
    assert not engine.answer(PARAPHRASE).answered
    escalations.escalate(_ask(log, QUESTION, ALICE), ALICE, ALICE_CHAT, NOW)
    assert escalations.add_to_knowledge(engine, 1, "2026-11-29").outcome is KnowledgeOutcome.NOT_ANSWERED
    escalations.answer(1, STAFF_ANSWER)
    added = escalations.add_to_knowledge(engine, 1, "2026-11-29")
    assert added.outcome is KnowledgeOutcome.ADDED and added.title == QUESTION
    document = engine.find_document(str(added.doc_id))
    assert (document.source, document.date, document.language) == ("agency-answer:1", "2026-11-29", "en")
    again = escalations.add_to_knowledge(engine, 1, "2026-11-30")
    assert (again.outcome, again.doc_id) == (KnowledgeOutcome.ALREADY, added.doc_id)
    answer = with_agency_reply(engine.answer(PARAPHRASE))
    assert answer.answered and answer.passages[0].source == "agency-answer:1"
    assert answer.answer == STAFF_ANSWER  # the staff's words, not the stored question
    listed = escalations.agency_answers()
    assert [(a.doc_id, a.title, a.date, a.escalation_id, a.answer) for a in listed] == [
        (added.doc_id, QUESTION, "2026-11-29", 1, STAFF_ANSWER)
    ]
    assert answers_text(listed, "en") == (
        f"Agency answers in the knowledge base (/remove ID removes one):\n#{added.doc_id} 2026-11-29 — {QUESTION}"
    )
    engine.remove(str(added.doc_id))
    assert escalations.agency_answers() == [] and not engine.answer(PARAPHRASE).answered
    assert answers_text([], "ru").startswith("Ответов агентства пока нет.")


# --- wording -----------------------------------------------------------------------------------------------


def _escalation(escalations, log, question="What is the <b>tariff</b>?") -> object:
    return escalations.escalate(_ask(log, question, ALICE), ALICE, ALICE_CHAT, NOW).escalation


@pytest.mark.parametrize(
    "language, expected",
    [
        (
            "en",
            [
                "<b>❓ Question for the agency #1</b>",
                "<blockquote>What is the &lt;b&gt;tariff&lt;/b&gt;?</blockquote>",
                "Language: English\nAsked: 2026-11-29 15:00 (Europe/Moscow)\nInvestors waiting: 1",
                "Reply to this message to answer",
                "The closest passages found",
                "📄 <b>Parks</b>",
            ],
        ),
        (
            "ru",
            [
                "<b>❓ Вопрос в агентство №1</b>",
                "Язык: английский\nЗадан: 2026-11-29 15:00 (Europe/Moscow)",
                "Ответьте на это сообщение",
                "Ближайшие найденные фрагменты",
            ],
        ),
    ],
    ids=["english", "russian"],
)
def test_staff_question_message(escalations, log, language, expected):
    passage = Passage(2, "Parks", "2014-04-08", "/k/parks.md", None, None, "There are 10 parks.", 1.0, 5)
    html = "\n\n".join(pack(staff_question_blocks(_escalation(escalations, log), [passage], language, "Europe/Moscow")))
    for part in expected:
        assert part in html


def test_staff_question_message_without_passages_and_split_under_the_limit(escalations, log):
    escalation = _escalation(escalations, log, "What is the tariff? " * 300)
    nothing = pack(staff_question_blocks(escalation, [], "en", "UTC"))
    assert "The documents hold nothing close to it." in nothing[-1]
    assert len(nothing) > 1 and all(len(m) <= TELEGRAM_LIMIT for m in nothing)
    pending = pack(staff_question_blocks(escalation, None, "en", "UTC"))  # /pending: no passages section
    assert "Reply to this message to answer" in pending[-1] and "closest passages" not in "".join(pending)


@pytest.mark.parametrize(
    "language, title",
    [("en", "<b>The agency's answer to your question</b>"), ("ru", "<b>Ответ агентства на ваш вопрос</b>")],
    ids=["english", "russian"],
)
def test_investor_answer_quotes_the_question_and_keeps_staff_text(language, title):
    recipient = Recipient(ALICE_CHAT, language, "Tariff <for> me?")
    html = "\n\n".join(pack(investor_answer_blocks(recipient, "Pay 4.2 <roubles> & relax.\nCall us.")))
    assert (
        html
        == f"{title}\n<blockquote>Tariff &lt;for&gt; me?</blockquote>\n\nPay 4.2 &lt;roubles&gt; &amp; relax.\nCall us."
    )


def test_digest_lists_waiting_questions(log, escalations):
    from bot.telegram.jobs import digest_text

    _escalation(escalations, log, "What is the electricity tariff?")
    english = digest_text(log, "en", now=NOW, pending=escalations.waiting())
    assert (
        "Waiting for a staff answer (1; /pending to answer them):\n• #1 What is the electricity tariff? — "
        "since 2026-11-29, 1 waiting" in english
    )
    russian = digest_text(log, "ru", now=NOW, pending=escalations.waiting())
    assert "Ждут ответа сотрудников (1; ответить — через /pending):\n• №1 What is the electricity tariff?" in russian
    assert "Waiting" not in digest_text(log, "en", now=NOW)


# --- settings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, message",
    [
        (
            {"INVESTBOT_STAFF_CHAT": "staff-group"},
            "INVESTBOT_STAFF_CHAT='staff-group' is not a numeric Telegram chat id",
        ),
        ({"INVESTBOT_ESCALATION_DAYS": "0"}, "INVESTBOT_ESCALATION_DAYS=0 must be a number of days from 1 to 365"),
        ({"INVESTBOT_ESCALATION_DAYS": "two"}, "INVESTBOT_ESCALATION_DAYS='two' is not a valid int"),
    ],
    ids=["staff-chat", "days-range", "days-type"],
)
def test_bad_escalation_settings_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env(env)


def test_escalation_settings():
    settings = Settings.from_env(
        {"INVESTBOT_STAFF_CHAT": "-1001234567890", "INVESTBOT_ESCALATION_DAYS": "7", "INVESTBOT_ADMINS": "5,3"}
    )
    assert (settings.staff_chat, settings.escalation_days, settings.staff_chats) == (
        -1001234567890,
        7,
        [-1001234567890],
    )
    assert Settings.from_env({"INVESTBOT_ADMINS": "5,3"}).staff_chats == [3, 5]  # no group: every admin
    assert Settings().staff_chats == [] and Settings().escalation_days == 14


# --- the command line and the review page -----------------------------------------------------------------------


@pytest.fixture
def with_agency_answer(engine, log, escalations):
    qid = _ask(log, QUESTION, ALICE)
    escalations.escalate(qid, ALICE, ALICE_CHAT, NOW)
    escalations.answer(1, STAFF_ANSWER, NOW + dt.timedelta(hours=2, minutes=5))
    escalations.add_to_knowledge(engine, 1, "2026-11-29")
    escalations.escalate(_ask(log, "What is the gas tariff?", BOB), BOB, BOB_CHAT, NOW)
    log.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return qid


def test_cli_answers_and_escalated_questions(data_dir, monkeypatch, with_agency_answer):
    from bot.cli.main import cli

    monkeypatch.setenv("INVESTBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INVESTBOT_MODEL", "none")
    monkeypatch.setenv("INVESTBOT_LOG_SALT", "salt")
    runner = CliRunner()
    result = runner.invoke(cli, ["answers", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert (row["id"], row["title"], row["date"], row["source"], row["answer"]) == (
        6,
        QUESTION,
        "2026-11-29",
        "agency-answer:1",
        STAFF_ANSWER,
    )
    table = runner.invoke(cli, ["answers"])
    assert f"   6  2026-11-29  en  {QUESTION}" in table.output and STAFF_ANSWER in table.output
    escalated = runner.invoke(cli, ["questions", "--escalated", "--format", "json"])
    assert escalated.exit_code == 0, escalated.output
    assert [r["question"] for r in json.loads(escalated.output)] == ["What is the gas tariff?", QUESTION]
    newest = runner.invoke(cli, ["questions", "--escalated", "--limit", "1", "--format", "json"])
    assert [r["question"] for r in json.loads(newest.output)] == ["What is the gas tariff?"]
    removed = runner.invoke(cli, ["remove", "6"])
    assert removed.exit_code == 0 and "No agency answers yet" in runner.invoke(cli, ["answers"]).output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_datasette_escalated_questions_page(store, tmp_path, with_agency_answer):
    from bot.questions.datasette import QUERIES, start_review

    port = _free_port()
    process = start_review(store.path, port, tmp_path)
    try:
        base = f"http://127.0.0.1:{port}/{store.path.stem}"
        deadline = time.monotonic() + 120  # for a server that never starts; generous for a loaded machine
        while time.monotonic() < deadline:
            try:
                if _get(f"http://127.0.0.1:{port}/-/versions.json")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        status, body = _get(f"{base}/escalated_questions.json?_shape=array")
        assert status == 200, body[:300]
        rows = json.loads(body)
        assert [(r["question"], r["status"], r["time_to_answer"], r["knowledge_document"]) for r in rows] == [
            ("What is the gas tariff?", "waiting", None, None),
            (QUESTION, "answered", "2 h 05 min", 6),
        ]
        assert rows[1]["asked"] == NOW.isoformat() and rows[1]["investors"] == 1
        status, page = _get(f"{base}/escalated_questions")
        assert status == 200 and QUERIES["escalated_questions"]["title"].encode() in page
        # Who waits, with the chat id the answer goes to, is on no page.
        assert _get(f"{base}/escalation_askers.json")[0] == 403
        assert str(BOB_CHAT).encode() not in _get(f"{base}/escalated_questions.json")[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("message_text", "number"),
    [
        pytest.param("❓ Question for the agency #12\nLanguage: English", 12, id="english-title"),
        pytest.param("❓ Вопрос в агентство №7\nЯзык: русский", 7, id="russian-title"),
        pytest.param("  ❓ Question for the agency #3", 3, id="leading-space"),
        pytest.param("Reply to: ❓ Question for the agency #3", None, id="not-at-the-start"),
        pytest.param("hello #3", None, id="other-message"),
        pytest.param("", None, id="empty"),
    ],
)
def test_staff_message_names_its_escalation(message_text, number):
    """A reply that beats the recording of the staff message's id still finds its question by the title."""
    from bot.telegram.escalations import escalation_number

    assert escalation_number(message_text) == number
