"""User-facing wording in both languages, and the plain-text rendering of answers for the terminal."""

from __future__ import annotations

from index.answer import Answer, Passage

NOT_FOUND = {
    "en": "I could not find this in the agency's documents.",
    "ru": "Я не нашёл ответа на этот вопрос в документах агентства.",
}


def not_found(language: str) -> str:
    return NOT_FOUND.get(language, NOT_FOUND["en"])


def source_line(passage: Passage) -> str:
    """Title — date — link or file (and page): everything a reader needs to check the answer."""
    parts = [passage.title]
    if passage.date:
        parts.append(passage.date)
    where = passage.url or passage.source
    if passage.page:
        where += f", p. {passage.page}"
    parts.append(where)
    return " — ".join(parts)


def render_text(answer: Answer) -> str:
    if not answer.answered:
        return not_found(answer.language)
    lines = [answer.answer, ""]
    for n, passage in enumerate(answer.passages, start=1):
        lines.append(f"[{n}] {source_line(passage)}")
        for paragraph in passage.text.split("\n\n"):
            lines.append(f"    {paragraph}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
