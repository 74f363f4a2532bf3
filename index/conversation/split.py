"""The questions inside a long message: "Добрый день! Мы — компания …, рассматриваем … Сколько парков …? И какие
льготы даёт ОЭЗ?" holds two questions and an introduction that retrieval should not see.

Investors write letters, not queries: a greeting, who they are, what they plan, then one or more questions,
sometimes as a numbered list. Searching the whole letter dilutes it with the introduction's words; searching
each question separately answers each. A sentence is a question when it ends with "?", opens with a question
word, or is a request ("Расскажите о …", "Подскажите …", "Tell me about …", "Please send …"). Greetings and
politeness in front of a question are removed; a later question that leans on an earlier one in the same
message ("… в Калужской области? И сколько из них работают?") is resolved against it (followup.resolve).
"""

from __future__ import annotations

import re

from index.conversation.followup import is_followup, resolve
from index.conversation.smalltalk import classify, message_language, strip_greeting
from index.text.tokens import split_sentences

__all__ = ["questions_in"]

_LIST_ITEM_RE = re.compile(r"^\s*(?:\d{1,2}[.)]|[a-zа-я][)]|[-•*·–—])\s+", re.IGNORECASE)
_QUESTION_START_RE = re.compile(
    r"""^(?:
        what|which|how|where|when|who|whom|whose|why|is|are|was|were|do|does|did|can|could|will|would|should|has
        |have|may|must|shall
        | сколько|как(?:ой|ая|ое|ие|их|им|ую|ом|ого|ов|ова|ово|овы)?|где|когда|кто|кого|кому|что|чем|чего|почему
        |зачем|откуда|куда|можно|существует|существуют|есть\s+ли|нужно\s+ли|возможно\s+ли|правда\s+ли
    )(?![^\W_])""",
    re.IGNORECASE | re.VERBOSE,
)
_REQUEST_RE = re.compile(
    r"""^(?:(?:please|пожалуйста)[\s,]+)?(?:
        tell|send|show|describe|explain|list|give|provide|share|advise|recommend|suggest|help|i\s+need|we\s+need
        |i(?:'d|\s+would)\s+like\s+to\s+know|i\s+want\s+to\s+know|we(?:'d|\s+would)\s+like\s+to\s+know
        |could\s+you|can\s+you|would\s+you|please\s+\w+
        | расскаж\w*|подскаж\w*|скаж\w*|пришл\w*|отправ\w*|направ\w*|дайте|дай|покаж\w*|опиш\w*|объясн\w*|перечисл\w*
        |назов\w*|уточн\w*|сообщ\w*|помог\w*|посовету\w*|порекоменду\w*|нужн[аоы]?\s+информаци\w*|хоч\w*\s+узнать
        |хотел\w*\s+бы\s+узнать|интересу\w*|не\s+могли\s+бы
    )(?![^\W_])""",
    re.IGNORECASE | re.VERBOSE,
)
_LEADING_CONJUNCTION_RE = re.compile(r"^(?:and|also|а\s+также|а|и|также)[\s,]+(?=\S)", re.IGNORECASE)


def _sentences(message: str) -> list[str]:
    """Sentences of the message, list items each on their own, split after every "?" whatever follows."""
    lines: list[str] = []
    for line in message.splitlines():
        if _LIST_ITEM_RE.match(line):
            lines.append("")  # a list item is its own paragraph
            lines.append(_LIST_ITEM_RE.sub("", line, count=1))
        else:
            lines.append(line)
    out: list[str] = []
    for sentence in split_sentences("\n".join(lines)):
        out.extend(part for part in re.split(r"(?<=\?)\s+", sentence) if part.strip())
    return out


def _is_question(sentence: str) -> bool:
    text = sentence.strip()
    core = strip_greeting(text)
    return (
        text.endswith("?")
        or bool(_REQUEST_RE.match(text))
        or bool(_QUESTION_START_RE.match(core))
        or bool(_REQUEST_RE.match(core))
    )


def _clean(sentence: str) -> str:
    text = strip_greeting(sentence.strip())
    text = _LEADING_CONJUNCTION_RE.sub("", text)
    return text[:1].upper() + text[1:]


def questions_in(message: str, limit: int = 3) -> list[str]:
    """Up to `limit` questions of `message`, in order, without the introduction around them.

    Each comes without greetings and politeness in front ("Подскажите, пожалуйста, сколько …" -> "Сколько …")
    and without a leading "И / А / And"; one that leans on an earlier question of the message is rewritten
    to stand alone. A message with no question-like sentence comes back whole (without its greeting), since
    it is itself the question ("налоговые льготы резидентам"); small talk alone gives an empty list.
    """
    found: list[str] = []
    for sentence in _sentences(message):
        if classify(sentence) is not None or not _is_question(sentence):
            continue
        question = _clean(sentence)
        if not question:
            continue
        if found and is_followup(question, message_language(question, "ru")):
            question = resolve(question, found[-1]).question
        if question not in found:
            found.append(question)
        if len(found) >= limit:
            break
    if found:
        return found
    whole = " ".join(strip_greeting(message).split())
    return [whole] if whole and classify(message) is None else []
