"""The chats' memory for follow-ups (bot/conversation.py), the merging of overlapping passages and the
translated reasons: pure functions and a clock the test moves."""

from __future__ import annotations

import threading

import pytest

from bot.conversation import Conversations, Languages, Turn
from bot.messages import reason_text
from bot.telegram.formatting import answer_blocks, merge_passages, merge_texts, pack
from index import Answer, Passage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_last_turn_is_kept_per_chat():
    memory = Conversations()
    memory.add(1, "How many parks?", "Ten.", ["There are 10 parks."])
    memory.add(2, "Сколько парков?")
    assert memory.last(1) == Turn("How many parks?", "Ten.", ("There are 10 parks.",))
    assert memory.last(2) == Turn("Сколько парков?", "", ())
    assert memory.last(3) is None


def test_turns_expire_after_a_quiet_while():
    clock = Clock()
    memory = Conversations(quiet_s=60, clock=clock)
    memory.add(1, "q1")
    clock.now += 59
    assert memory.last(1) is not None
    clock.now += 61
    assert memory.last(1) is None and len(memory) == 0
    memory.add(1, "q2")  # a quiet chat starts afresh
    assert [t.question for t in memory.history(1)] == ["q2"]


def test_turns_and_chats_are_bounded():
    memory = Conversations(turns=2, chats=3)
    for n in range(5):
        memory.add(1, f"q{n}")
    assert [t.question for t in memory.history(1)] == ["q3", "q4"]
    for chat in range(2, 6):
        memory.add(chat, "q")
    assert len(memory) == 3 and memory.last(1) is None and memory.last(5) is not None


def test_forget_starts_a_chat_over():
    memory = Conversations()
    memory.add(1, "q")
    assert memory.forget(1) is True and memory.last(1) is None and memory.forget(1) is False


def test_passage_texts_are_cut_to_a_bound():
    turn = Conversations().add(1, "q", "a", ["x" * 10_000])
    assert len(turn.passages[0]) < 10_000


def test_memory_is_safe_across_threads():
    memory = Conversations(chats=50)

    def work(base: int) -> None:
        for n in range(500):
            memory.add(base + n % 80, f"q{n}")
            memory.last(base + n % 80)

    threads = [threading.Thread(target=work, args=(i * 100,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(memory) == 50


def test_languages_remembered_and_bounded():
    languages = Languages(size=2)
    languages.note(1, "ru")
    languages.note(2, "en")
    languages.note(1, "en")
    languages.note(3, "ru")
    assert (languages.get(1), languages.get(2), languages.get(3)) == ("en", None, "ru")


# --- nothing twice ----------------------------------------------------------------------------------


def passage(text: str, doc_id: int = 1, chunk_id: int = 1) -> Passage:
    return Passage(doc_id, "Forum", "2014-04-08", "/srv/a.md", None, None, text, 1.0, chunk_id, "en")


@pytest.mark.parametrize(
    ("first", "second", "merged"),
    [
        ("A one. B two.", "B two. C three.", "A one. B two. C three."),
        ("B two. C three.", "A one. B two.", "A one. B two. C three."),
        ("A one. B two. C three.", "B two.", "A one. B two. C three."),
        ("B two.", "A one.\nB two.\nC three.", "A one.\nB two.\nC three."),
        ("A one. B two.", "C three. D four.", None),
    ],
    ids=["tail-head", "head-tail", "contains", "contained", "apart"],
)
def test_merge_texts(first, second, merged):
    assert merge_texts(first, second) == merged


def test_overlapping_passages_of_one_document_become_one():
    passages = [passage("A one. B two.", 1, 1), passage("Other doc.", 2, 5), passage("B two. C three.", 1, 2)]
    merged = merge_passages(passages)
    assert [p.text for p in merged] == ["A one. B two. C three.", "Other doc."]


def test_the_answer_is_bold_inside_its_passage_not_above_it():
    answer = Answer("q", "en", True, "B two.", (passage("A one. B two."), passage("B two. C three.", chunk_id=2)))
    (html,) = pack(answer_blocks(answer))
    assert html.count("B two.") == 1 and "<b>B two.</b>" in html and html.startswith("<b>[1]</b>")


def test_an_answer_not_in_its_passages_keeps_its_header():
    answer = Answer("q", "en", True, "Generated words.", (passage("A one."),))
    (html,) = pack(answer_blocks(answer))
    assert html.startswith("<b>Generated words.</b>")


def test_understood_line_and_other_language_note():
    answer = Answer("q", "ru", True, "A one.", (passage("A one."),))
    (html,) = pack(answer_blocks(answer, "Сколько парков?"))
    assert html.startswith("<i>Понял вопрос как: Сколько парков?</i>")
    assert "<i>В документе на английском:</i>" in html and "a.md" not in html


# --- reasons in the reader's language -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "ru"),
    [
        ("not a valid PDF (truncated or damaged)", "это не корректный PDF (файл обрезан или повреждён)"),
        (
            "http://10.0.0.1/: refused as a private address: 10.0.0.1 (private)",
            "http://10.0.0.1/: адрес отклонён как внутренний: 10.0.0.1 (private)",
        ),
        ("no text found (empty file)", "текст не найден (пустой файл)"),
        ("something new", "something new"),
    ],
    ids=["pdf", "private-address", "empty", "unknown-kept"],
)
def test_reasons_translated(reason, ru):
    assert reason_text(reason, "ru") == ru
    assert reason_text(reason, "en") == reason
