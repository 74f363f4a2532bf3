"""Generated answers (index.generation): the grounding check's normalisation tables, and the whole call against a
stand-in OpenAI-compatible server (tests/llmserver.py): accepted and rejected answers, the one deadline, the one
retry, broken and malformed replies, streaming drafts, the follow-up rewrite, the daily budget."""

from __future__ import annotations

import socket
import threading
import time
from decimal import Decimal

import pytest

from index.generation import (
    NOT_COVERED,
    DailyBudget,
    LLMConfig,
    Passage,
    RejectReason,
    build_messages,
    chat,
    check_answer,
    draft_display,
    generate_answer,
    rewrite_followup,
    strip_citations,
)
from index.generation.budget import MemoryStorage
from index.generation.check import Evidence, figure_supported, figures, months, name_supported, names
from index.generation.config import LLMError
from index.generation.evaluate import measure_answer, summarize
from tests.llmserver import LLMServer, completion, raw, status, streamed

PASSAGES = (
    Passage(
        "Kaluga Region has 12 industrial parks with a total area of 2,500 hectares. Resident companies pay a "
        "property tax rate of 0% for the first five years.",
        title="Industrial parks of Kaluga Region",
        date="2023-05-17",
        page=4,
    ),
    Passage(
        "The Lyudinovo site of the Kaluga special economic zone opened in March 2019. Investment in the site "
        "reached 1.5 billion rubles.",
        title="SEZ Kaluga",
        date="2022-11-02",
    ),
    Passage("The agency supports investors through a single window.", title="Support"),
)
QUESTION_RU = "Сколько индустриальных парков в Калужской области и когда открылась площадка в Людиново?"
GROUNDED_RU = (
    "В Калужской области 12 индустриальных парков общей площадью 2 500 га [1]. "
    "Площадка ОЭЗ «Калуга» в Людиново открылась в марте 2019 года [2]. "
    "Инвестиции в площадку составили 1,5 млрд рублей [2]."
)
MARGIN = 3.0  # seconds over the timeout a timed-out call may take on a loaded machine: a bound, not a benchmark


@pytest.fixture
def server():
    with LLMServer() as s:
        yield s


def config_for(server: LLMServer, **kw) -> LLMConfig:
    return LLMConfig(**{"url": server.url, "model": "test-model", "api_key": "sk-test", "timeout": 5.0, **kw})


# --- the check: tables -------------------------------------------------------------------------------------------


def value_of(text: str) -> set[Decimal]:
    return {v for f in figures(text) for v in f.values()}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("1000", "1000", id="plain"),
        pytest.param("1 000", "1000", id="space-thousands"),
        pytest.param("1\u00a0000", "1000", id="nbsp-thousands"),
        pytest.param("1,000", "1000", id="comma-thousands"),
        pytest.param("1,000,000", "1000000", id="comma-millions"),
        pytest.param("2,5", "2.5", id="decimal-comma"),
        pytest.param("2.5", "2.5", id="decimal-point"),
        pytest.param("1.234,5", "1234.5", id="european"),
        pytest.param("1,5 млн", "1500000", id="ru-million"),
        pytest.param("1.5 million", "1500000", id="en-million"),
        pytest.param("3 млрд", "3000000000", id="ru-billion"),
        pytest.param("3 bn", "3000000000", id="en-bn"),
        pytest.param("15 тыс.", "15000", id="ru-thousand"),
        pytest.param("ten", "10", id="en-word"),
        pytest.param("десять", "10", id="ru-word"),
        pytest.param("десяти", "10", id="ru-word-genitive"),
        pytest.param("twenty-five", "25", id="en-compound"),
        pytest.param("двадцать пять", "25", id="ru-compound"),
    ],
)
def test_figure_values(text, value):
    assert Decimal(value) in value_of(text)


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        pytest.param("15%", "percent", id="percent-sign"),
        pytest.param("15 процентов", "percent", id="ru-percent"),
        pytest.param("15 per cent", "percent", id="en-per-cent"),
        pytest.param("100 руб.", "rouble", id="ru-rub"),
        pytest.param("100 rubles", "rouble", id="en-rubles"),
        pytest.param("100 ₽", "rouble", id="rouble-sign"),
        pytest.param("1,5 млрд рублей", "rouble", id="rouble-after-scale"),
        pytest.param("$5 million", "dollar", id="dollar-before"),
        pytest.param("500 га", "area", id="ru-ha"),
        pytest.param("500 hectares", "area", id="en-hectares"),
        pytest.param("30 км", "km", id="ru-km"),
        pytest.param("30 km", "km", id="en-km"),
        pytest.param("25 МВт", "power", id="ru-mw"),
    ],
)
def test_figure_units(text, unit):
    assert [f.unit for f in figures(text)] == [unit]


@pytest.mark.parametrize(
    ("claim", "evidence", "supported"),
    [
        pytest.param("1 000", "1,000", True, id="thousands-separators"),
        pytest.param("1,5 млн", "1 500 000", True, id="scale-word-vs-digits"),
        pytest.param("1,5 млрд рублей", "1.5 billion rubles", True, id="ru-en-billion"),
        pytest.param("1,5 млрд", "1.5 million", False, id="wrong-scale"),
        pytest.param("1,5 млн рублей", "Investment, mln rubles: 1.5", True, id="scale-in-table-heading"),
        pytest.param("10 парков", "ten parks", True, id="word-in-evidence"),
        pytest.param("ten parks", "10 parks", True, id="word-in-claim"),
        pytest.param("11 парков", "10 parks", False, id="other-number"),
        pytest.param("15 %", "15 percent", True, id="percent-forms"),
        pytest.param("15 км", "15 hectares", False, id="wrong-unit"),
        pytest.param("500 га", "Area, ha: 500", True, id="unit-in-heading"),
        pytest.param("в 2019 году", "in 2019", True, id="year-word"),
        pytest.param("2,5", "2.5", True, id="decimal-comma-vs-point"),
        pytest.param("2,500", "2 500", True, id="ambiguous-comma"),
    ],
)
def test_figure_supported(claim, evidence, supported):
    ev = Evidence.of(evidence)
    assert all(figure_supported(f, ev) for f in figures(claim)) is supported


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("15.03.2023", {3}, id="dotted-date"),
        pytest.param("2023-03-15", {3}, id="iso-date"),
        pytest.param("in March 2019", {3}, id="en-month"),
        pytest.param("в марте 2019", {3}, id="ru-month-prepositional"),
        pytest.param("с 1 мая", {5}, id="ru-may-genitive"),
        pytest.param("we may open", set(), id="en-may-verb"),
    ],
)
def test_months(text, expected):
    assert months(text) == expected


@pytest.mark.parametrize(
    ("name", "evidence", "supported"),
    [
        pytest.param("Калуга", "Kaluga Region", True, id="ru-en-translit"),
        pytest.param("Калужской", "Kaluga Region", True, id="ru-adjective-case"),
        pytest.param("Калужская", "Калужской области", True, id="ru-case-endings"),
        pytest.param("Людиново", "the Lyudinovo site", True, id="lyudinovo"),
        pytest.param("Людинове", "the Lyudinovo site", True, id="lyudinovo-locative"),
        pytest.param("Kaluga", "в Калужской области", True, id="en-ru-adjective"),
        pytest.param("ОЭЗ", "special economic zone (SEZ)", True, id="acronym-glossary"),
        pytest.param("Region", "Калужская область", True, id="glossary-word"),
        pytest.param("Тульской", "Kaluga Region", False, id="other-region"),
        pytest.param("Obninsk", "Калуга и Людиново", False, id="other-town"),
        pytest.param("Тульской", "a total area", False, id="short-skeleton-not-any-word"),
        pytest.param("Тула", "Tula Region", True, id="short-skeleton-same-name"),
    ],
)
def test_name_supported(name, evidence, supported):
    assert name_supported(name, Evidence.of(evidence)) is supported


@pytest.mark.parametrize(
    ("sentence", "language", "expected"),
    [
        pytest.param("Парки есть в Калужской области.", "ru", ["Калужской"], id="mid-sentence"),
        pytest.param("Kaluga has parks.", "en", [], id="first-word-skipped"),
        pytest.param("ОЭЗ работает с 2012 года.", "ru", ["ОЭЗ"], id="first-word-acronym"),
        pytest.param("Kaluga — регион парков.", "ru", ["Kaluga"], id="first-word-other-script"),
        pytest.param("It opened in March.", "en", [], id="month-not-name"),
    ],
)
def test_names(sentence, language, expected):
    assert names(sentence, language) == expected


@pytest.mark.parametrize(
    ("answer", "display", "cited"),
    [
        pytest.param("Есть 12 парков [1].", "Есть 12 парков.", (1,), id="one"),
        pytest.param(
            "Есть 12 парков [1][3]. Площадь 2 500 га [2].", "Есть 12 парков. Площадь 2 500 га.", (1, 3, 2), id="several"
        ),
        pytest.param("Есть 12 парков [1, 2].", "Есть 12 парков.", (1, 2), id="group"),
        pytest.param("Есть 12 парков [1-3].", "Есть 12 парков.", (1, 2, 3), id="range"),
        pytest.param("Есть 12 парков. [2]", "Есть 12 парков.", (2,), id="after-stop"),
    ],
)
def test_strip_citations(answer, display, cited):
    assert strip_citations(answer) == (display, cited)


@pytest.mark.parametrize(
    ("partial", "shown"),
    [
        pytest.param("NOT_", "", id="could-be-not-covered"),
        pytest.param("NOT_COVERED", "", id="not-covered"),
        pytest.param("В области 12 парков [", "В области 12 парков", id="half-marker"),
        pytest.param("В области 12 парков [1", "В области 12 парков", id="half-number"),
        pytest.param("В области 12 парков [1]. Площадь", "В области 12 парков. Площадь", id="marker-stripped"),
    ],
)
def test_draft_display(partial, shown):
    assert draft_display(partial) == shown


@pytest.mark.parametrize(
    ("answer", "language", "reason"),
    [
        pytest.param(GROUNDED_RU, "ru", None, id="grounded-ru-over-en"),
        pytest.param(
            "Kaluga Region has 12 industrial parks [1]. They cover 2,500 hectares [1].", "en", None, id="grounded-en"
        ),
        pytest.param("1. В области 12 парков [1].\n2. Площадь 2 500 га [1].", "ru", None, id="numbered-list"),
        pytest.param("Коротко:\n- В области 12 парков [1].", "ru", None, id="list-lead-in"),
        pytest.param(
            "В Калужской области 14 индустриальных парков [1].", "ru", RejectReason.UNSUPPORTED_NUMBER, id="number"
        ),
        pytest.param("Инвестиции составили 1,5 млн рублей [2].", "ru", RejectReason.UNSUPPORTED_NUMBER, id="scale"),
        pytest.param("Площадка открылась в апреле 2019 года [2].", "ru", RejectReason.UNSUPPORTED_NUMBER, id="month"),
        pytest.param("Площадка открылась в 2019 году [1].", "ru", RejectReason.UNSUPPORTED_NUMBER, id="other-passage"),
        pytest.param("Парки есть в Тульской области [1].", "ru", RejectReason.UNSUPPORTED_NAME, id="name"),
        pytest.param("В области 12 парков [7].", "ru", RejectReason.BAD_CITATION, id="cites-7-of-3"),
        pytest.param("В области 12 парков [0].", "ru", RejectReason.BAD_CITATION, id="cites-0"),
        pytest.param("В области 12 парков [1]. Их площадь 2 500 га.", "ru", RejectReason.NO_CITATION, id="uncited"),
        pytest.param("Kaluga Region has 12 industrial parks [1].", "ru", RejectReason.WRONG_LANGUAGE, id="en-for-ru"),
        pytest.param("В Калужской области 12 парков [1].", "en", RejectReason.WRONG_LANGUAGE, id="ru-for-en"),
        pytest.param(NOT_COVERED, "ru", RejectReason.NOT_COVERED, id="not-covered"),
        pytest.param("  ", "ru", RejectReason.EMPTY, id="empty"),
        pytest.param("The tax is not covered here [1].", "en", None, id="not-covered-as-words"),
    ],
)
def test_check_answer(answer, language, reason):
    result = check_answer(answer, PASSAGES, language)
    assert (result.ok, result.reason) == (reason is None, reason), result.detail


# --- the call ----------------------------------------------------------------------------------------------------


def test_grounded_russian_answer_over_english_passages_is_accepted(server):
    server.script(completion(GROUNDED_RU, usage={"prompt_tokens": 321, "completion_tokens": 45}))
    turns = [("Какие льготы есть?", "Ставка налога на имущество 0 %.")]
    answer = generate_answer(config_for(server), QUESTION_RU, "ru", PASSAGES, turns)
    assert answer.accepted, answer.detail
    assert answer.reject_reason is None
    assert "[" not in answer.text and answer.text.startswith("В Калужской области 12")
    assert answer.cited == (0, 1)
    assert (answer.prompt_tokens, answer.completion_tokens, answer.usage_estimated) == (321, 45, False)
    assert answer.model == "stand-in-1"
    assert answer.raw_text == GROUNDED_RU
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    body = request.body
    assert body["model"] == "test-model" and body["stream"] is False
    assert set(body) == {"model", "messages", "max_tokens", "temperature", "stream"}  # nothing about the user
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    prompt = body["messages"][1]["content"]
    assert "[1] Title: Industrial parks of Kaluga Region | Date: 2023-05-17 | Page: 4" in prompt
    assert "[3] Title: Support" in prompt and PASSAGES[1].text in prompt
    assert QUESTION_RU in prompt and "Какие льготы есть?" in prompt
    assert "Russian" in body["messages"][0]["content"] and NOT_COVERED in body["messages"][0]["content"]


def test_prompt_keeps_only_recent_turns_and_sends_no_ids():
    turns = [(f"вопрос {i}", f"ответ {i}") for i in range(6)]
    messages = build_messages("А в 2022?", "ru", PASSAGES[:1], turns, max_turns=2)
    text = "\n".join(m["content"] for m in messages)
    assert "вопрос 5" in text and "вопрос 4" in text and "вопрос 3" not in text
    assert all(set(m) == {"role", "content"} for m in messages)


def test_number_the_passages_lack_is_rejected(server):
    server.script(completion("В Калужской области 14 индустриальных парков [1]."))
    answer = generate_answer(config_for(server), QUESTION_RU, "ru", PASSAGES)
    assert (answer.accepted, answer.reject_reason) == (False, RejectReason.UNSUPPORTED_NUMBER)
    assert answer.text == "" and answer.cited == ()
    assert "14" in answer.detail


def test_citing_a_passage_not_given_is_rejected(server):
    server.script(completion("В Калужской области 12 индустриальных парков [7]."))
    answer = generate_answer(config_for(server), QUESTION_RU, "ru", PASSAGES)
    assert answer.reject_reason is RejectReason.BAD_CITATION


def test_not_covered_token_is_rejected_with_its_reason(server):
    server.script(completion(NOT_COVERED))
    answer = generate_answer(config_for(server), "Какая погода в Калуге?", "ru", PASSAGES)
    assert (answer.accepted, answer.reject_reason) == (False, RejectReason.NOT_COVERED)


def test_slow_server_costs_only_the_timeout(server):
    server.script(completion(GROUNDED_RU, delay=30))
    started = time.monotonic()
    answer = generate_answer(config_for(server, timeout=0.5), QUESTION_RU, "ru", PASSAGES)
    assert answer.reject_reason is RejectReason.TIMEOUT
    assert time.monotonic() - started < 0.5 + MARGIN


def test_trickling_stream_costs_only_the_timeout(server):
    """Each chunk comes well within any per-read timeout; the whole answer never does."""
    server.script(streamed(["В ", "области "], chunk_delay=0.1, repeat_forever=True))
    started = time.monotonic()
    answer = generate_answer(config_for(server, timeout=1.0), QUESTION_RU, "ru", PASSAGES, stream=True)
    assert answer.reject_reason is RejectReason.TIMEOUT
    assert time.monotonic() - started < 1.0 + MARGIN
    assert server.chunks_sent >= 2


def test_429_then_success(server):
    server.script(status(429, Retry_After="0"), completion(GROUNDED_RU))
    answer = generate_answer(config_for(server), QUESTION_RU, "ru", PASSAGES)
    assert answer.accepted, answer.detail
    assert len(server.requests) == 2


def test_429_with_a_long_retry_after_fails_at_once(server):
    server.script(status(429, Retry_After="3600"), completion(GROUNDED_RU))
    answer = generate_answer(config_for(server), QUESTION_RU, "ru", PASSAGES)
    assert answer.reject_reason is RejectReason.RATE_LIMITED
    assert len(server.requests) == 1


def test_500s_fail_after_one_retry(server):
    server.script(status(500), status(502), completion(GROUNDED_RU))
    config = config_for(server)
    with pytest.raises(LLMError) as caught:
        chat(config, build_messages(QUESTION_RU, "ru", PASSAGES))
    assert caught.value.reason is RejectReason.HTTP_ERROR and "502" in caught.value.detail
    assert len(server.requests) == 2
    server.script(status(503), status(503))
    answer = generate_answer(config, QUESTION_RU, "ru", PASSAGES)
    assert answer.reject_reason is RejectReason.HTTP_ERROR and len(server.requests) == 4


def test_a_4xx_is_not_retried(server):
    server.script(status(401, '{"error": {"message": "bad key"}}'), completion(GROUNDED_RU))
    answer = generate_answer(config_for(server), QUESTION_RU, "ru", PASSAGES)
    assert answer.reject_reason is RejectReason.HTTP_ERROR and "bad key" in answer.detail
    assert len(server.requests) == 1


def test_broken_stream_is_an_error(server):
    server.script(streamed(["В Калужской ", "области ", "12 парков [1]."], cut_after=2))
    drafts: list[str] = []
    answer = generate_answer(config_for(server), QUESTION_RU, "ru", PASSAGES, on_delta=drafts.append)
    assert answer.reject_reason is RejectReason.BROKEN_STREAM
    assert drafts  # the part that came was shown as a draft: the caller must replace it


def test_stream_without_end_is_broken(server):
    server.script(raw(b'data: {"choices": [{"delta": {"content": "12 [1]."}}]}\n\n', "text/event-stream"))
    answer = generate_answer(config_for(server), QUESTION_RU, "ru", PASSAGES, stream=True)
    assert answer.reject_reason is RejectReason.BROKEN_STREAM


@pytest.mark.parametrize(
    ("reply", "stream"),
    [
        pytest.param(raw(b'{"choices": [{"message": '), False, id="truncated-json"),
        pytest.param(raw(b'{"choices": []}'), False, id="no-choices"),
        pytest.param(raw(b"<html>gateway</html>", "text/html"), False, id="html"),
        pytest.param(raw(b"data: {not json}\n\n", "text/event-stream"), True, id="sse-chunk-not-json"),
    ],
)
def test_malformed_reply_is_a_bad_response(server, reply, stream):
    server.script(reply)
    answer = generate_answer(config_for(server), QUESTION_RU, "ru", PASSAGES, stream=stream)
    assert answer.reject_reason is RejectReason.BAD_RESPONSE


def test_unreachable_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: the connection is refused
        config = LLMConfig(url=f"http://127.0.0.1:{port}/v1", model="m", timeout=5.0)
        answer = generate_answer(config, QUESTION_RU, "ru", PASSAGES)
    assert answer.reject_reason is RejectReason.UNREACHABLE


def test_streaming_delivers_deltas_progressively(server):
    """The server holds the rest of the stream until the first draft has reached the caller."""
    gate = threading.Event()
    pieces = ["В Калужской области ", "12 индустриальных парков [1", "]. Площадь 2 500 га [1]."]
    server.script(streamed(pieces, usage={"prompt_tokens": 200, "completion_tokens": 20}, gate=gate))
    drafts: list[tuple[str, int]] = []

    def on_delta(draft: str) -> None:
        drafts.append((draft, server.chunks_sent))
        gate.set()

    answer = generate_answer(config_for(server), QUESTION_RU, "ru", PASSAGES, on_delta=on_delta)
    assert answer.accepted, answer.detail
    assert drafts[0] == ("В Калужской области", 1)  # seen while the server had sent one chunk only
    assert (
        [d for d, _ in drafts][-1] == answer.text == "В Калужской области 12 индустриальных парков. Площадь 2 500 га."
    )
    assert all("[" not in d for d, _ in drafts)
    assert (answer.prompt_tokens, answer.completion_tokens, answer.usage_estimated) == (200, 20, False)
    body = server.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_usage_is_estimated_when_the_server_sends_none(server):
    server.script(completion(GROUNDED_RU))
    answer = generate_answer(config_for(server), QUESTION_RU, "ru", PASSAGES)
    assert answer.usage_estimated
    assert answer.prompt_tokens > 100 and answer.completion_tokens == -(-len(GROUNDED_RU) // 3)


# --- follow-ups --------------------------------------------------------------------------------------------------

TURNS = [("Сколько индустриальных парков в Калужской области?", "В Калужской области 12 индустриальных парков.")]


def test_rewrite_followup(server):
    server.script(completion("Вопрос: «Какова площадь индустриальных парков Калужской области?»\n"))
    result = rewrite_followup(config_for(server), "А их площадь?", TURNS)
    assert result.rewritten and result.reason is None
    assert result.question == "Какова площадь индустриальных парков Калужской области?"
    prompt = server.requests[0].body["messages"][1]["content"]
    assert "А их площадь?" in prompt and TURNS[0][0] in prompt


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        pytest.param(status(500), RejectReason.HTTP_ERROR, id="server-error"),
        pytest.param(completion(""), RejectReason.EMPTY, id="empty"),
        pytest.param(completion("What is the area of the parks?"), RejectReason.WRONG_LANGUAGE, id="language"),
    ],
)
def test_rewrite_failure_returns_the_question_unchanged(server, reply, reason):
    server.script(reply)
    result = rewrite_followup(config_for(server), "А их площадь?", TURNS)
    assert (result.question, result.rewritten, result.reason) == ("А их площадь?", False, reason)


def test_rewrite_without_turns_asks_nothing(server):
    result = rewrite_followup(config_for(server), "Сколько парков?", [])
    assert (result.question, result.rewritten, result.reason) == ("Сколько парков?", False, None)
    assert server.requests == []


# --- budget ------------------------------------------------------------------------------------------------------


def test_budget_refuses_once_spent_and_sends_nothing(server):
    server.script(completion(GROUNDED_RU, usage={"prompt_tokens": 900, "completion_tokens": 150}))
    budget = DailyBudget(1000)
    config = config_for(server)
    assert generate_answer(config, QUESTION_RU, "ru", PASSAGES, budget=budget).accepted
    assert budget.used() == 1050 and budget.remaining() == 0
    refused = generate_answer(config, QUESTION_RU, "ru", PASSAGES, budget=budget)
    assert refused.reject_reason is RejectReason.BUDGET
    assert rewrite_followup(config, "А их площадь?", TURNS, budget=budget).reason is RejectReason.BUDGET
    assert len(server.requests) == 1


def test_budget_starts_afresh_each_utc_day():
    day = ["2025-01-01"]
    budget = DailyBudget(100, MemoryStorage(), today=lambda: day[0])
    budget.spend(150)
    with pytest.raises(LLMError) as caught:
        budget.check()
    assert caught.value.reason is RejectReason.BUDGET
    day[0] = "2025-01-02"
    budget.check()
    assert budget.used() == 0


def test_budget_counts_every_spend_from_many_threads():
    budget = DailyBudget(10**9)
    threads = [threading.Thread(target=lambda: [budget.spend(1) for _ in range(500)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert budget.used() == 4000


def test_no_limit_never_refuses():
    budget = DailyBudget(0)
    budget.spend(10**9)
    budget.check()
    assert budget.remaining() is None


# --- evaluation helpers ------------------------------------------------------------------------------------------


def test_measure_answer():
    good = measure_answer(QUESTION_RU, "ru", PASSAGES, GROUNDED_RU)
    assert (good.language_correct, good.citations_valid, good.grounded, good.accepted) == (True, True, True, True)
    bad_cite = measure_answer(QUESTION_RU, "ru", PASSAGES, "В области 12 парков [9].")
    assert (bad_cite.language_correct, bad_cite.citations_valid, bad_cite.grounded) == (True, False, False)
    wrong_number = measure_answer(QUESTION_RU, "ru", PASSAGES, "В области 13 парков [1].")
    assert (wrong_number.citations_valid, wrong_number.grounded) == (True, False)
    english = measure_answer(QUESTION_RU, "ru", PASSAGES, "There are 12 parks [1].")
    assert not english.language_correct
    summary = summarize([good, bad_cite, wrong_number, english, measure_answer("q", "ru", PASSAGES, NOT_COVERED)])
    assert summary.answers == 5 and summary.not_covered == 0.2 and summary.accepted == 0.2
    assert summary.language_correct == 0.75
