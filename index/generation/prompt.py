"""The chat messages a generated answer is asked with: numbered passages, the question, the recent chat.

Only the question, the recent turns' text and the passages are sent: no user id, name or chat id ever reaches the
model's server (the message builders take no such argument). The instruction asks for the question's language,
facts only from the passages, a [n] after every claim, and a fixed token (NOT_COVERED) when the passages do not
answer: check.py holds the reply to each of these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NOT_COVERED = "NOT_COVERED"

Turn = tuple[str, str]  # (question, answer) of an earlier exchange in the chat, oldest first

_LANGUAGE_NAMES = {"ru": "Russian", "en": "English"}


@dataclass(frozen=True)
class Passage:
    """One retrieved passage as the model sees it (numbered [1]..[n] in the order given)."""

    text: str
    title: str = ""
    date: str = ""  # as the document gives it, e.g. "2023-05-17"
    page: int | None = None

    def evidence(self) -> str:
        """Everything the model was shown of this passage: a claim may rest on its title or date too."""
        page = f" {self.page}" if self.page is not None else ""
        return f"{self.title}\n{self.date}{page}\n{self.text}"


def language_name(language: str) -> str:
    if language not in _LANGUAGE_NAMES:
        raise ValueError(f"unsupported language {language!r}: expected one of {sorted(_LANGUAGE_NAMES)}")
    return _LANGUAGE_NAMES[language]


def system_prompt(language: str, max_sentences: int = 6) -> str:
    name = language_name(language)
    return (
        "You answer investors' questions using only the numbered passages from the documents of a regional "
        "investment agency.\n"
        "Rules:\n"
        "1. Use only facts stated in the passages. Add nothing from your own knowledge.\n"
        "2. End every sentence with the number of the passage it comes from in square brackets, before the full "
        "stop, like [1] or [2][3]. Every sentence needs one.\n"
        "3. Give numbers, dates, amounts, units and names exactly as the passages give them; translate words, "
        "never change a figure.\n"
        f"4. Answer in {name}, whatever the language of the passages.\n"
        f"5. If the passages do not answer the question, reply exactly {NOT_COVERED} and nothing else.\n"
        f"6. Be brief: at most {max_sentences} sentences, no introduction, no closing remarks, no markdown.\n"
        "Earlier questions and answers of the chat are context only, never a source."
    )


def format_passages(passages: Sequence[Passage]) -> str:
    blocks = []
    for number, passage in enumerate(passages, start=1):
        meta = [f"Title: {passage.title}"] if passage.title else []
        if passage.date:
            meta.append(f"Date: {passage.date}")
        if passage.page is not None:
            meta.append(f"Page: {passage.page}")
        head = f"[{number}] " + " | ".join(meta) if meta else f"[{number}]"
        blocks.append(f"{head}\n{passage.text.strip()}")
    return "\n\n".join(blocks)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def format_turns(turns: Sequence[Turn], max_turns: int = 3, max_chars: int = 600) -> str:
    recent = list(turns)[-max_turns:] if max_turns > 0 else []
    return "\n".join(f"Q: {_shorten(q, max_chars)}\nA: {_shorten(a, max_chars)}" for q, a in recent)


def build_messages(
    question: str,
    language: str,
    passages: Sequence[Passage],
    turns: Sequence[Turn] = (),
    *,
    max_turns: int = 3,
    max_turn_chars: int = 600,
    max_sentences: int = 6,
) -> list[dict[str, str]]:
    """The messages for an answer: the rules (system), then passages, earlier turns and the question (user)."""
    parts = [f"Passages:\n\n{format_passages(passages)}"]
    history = format_turns(turns, max_turns, max_turn_chars)
    if history:
        parts.append(f"Earlier in this chat (context only, not a source):\n{history}")
    parts.append(f"Question: {question.strip()}\n\nAnswer in {language_name(language)}, citing passages as [n].")
    return [
        {"role": "system", "content": system_prompt(language, max_sentences)},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def build_rewrite_messages(
    question: str, language: str, turns: Sequence[Turn], *, max_turns: int = 3, max_turn_chars: int = 600
) -> list[dict[str, str]]:
    """The messages that turn a follow-up ("and in 2022?") into a stand-alone question."""
    name = language_name(language)
    system = (
        "Rewrite the user's last question as one short stand-alone question that can be understood without the "
        f"chat, taking names, places and topics from the earlier questions and answers. Write it in {name}. "
        "Do not answer it. Reply with the question only, on one line. If it already stands alone, repeat it."
    )
    history = format_turns(turns, max_turns, max_turn_chars)
    user = f"Chat so far:\n{history}\n\nLast question: {question.strip()}" if history else question.strip()
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
