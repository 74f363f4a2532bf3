"""Telegram HTML for answers, split into messages under Telegram's 4096-character limit.

Every user or document string is escaped here and only here. A message is built from blocks
(an HTML prefix, plain text, an HTML suffix); when a block is too long its plain text is split
at paragraph, line, sentence or word boundaries and each piece is wrapped in the same tags, so
no split ever falls inside a tag or an entity.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.messages import agency_label, is_agency_answer, text, where
from index import Answer, Passage

TELEGRAM_LIMIT = 4096


def escape(plain: str) -> str:
    """Plain text (a message from bot/messages.py with user or document values in it) made safe to send:
    every message goes out with parse_mode HTML, so a file name like "a<b>.txt" must not be read as a tag."""
    return html.escape(plain, quote=False)


@dataclass(frozen=True)
class Block:
    prefix: str  # trusted HTML
    body: str  # plain text, escaped when rendered
    suffix: str = ""  # trusted HTML

    def render(self) -> str:
        return self.prefix + escape(self.body) + self.suffix


def source_html(passage: Passage, language: str = "en") -> str:
    """📄 Title — date — link or file, p. N; an agency answer: 💬 Agency answer, date — its question."""
    title = html.escape(passage.title, quote=False)
    if is_agency_answer(passage):
        return f"💬 <b>{escape(agency_label(passage, language))}</b> — {title}"
    parts = [f"<b>{title}</b>"]
    if passage.date:
        parts.append(html.escape(passage.date, quote=False))
    place = where(passage)
    if passage.url:
        label = html.escape(place, quote=False)
        place_html = f'<a href="{html.escape(passage.url, quote=True)}">{label}</a>'
    else:
        place_html = html.escape(place, quote=False)
    if passage.page:
        place_html += f", p. {passage.page}"
    parts.append(place_html)
    return "📄 " + " — ".join(parts)


def passage_blocks(passages: Sequence[Passage], first_number: int = 1, language: str = "en") -> list[Block]:
    """Each passage numbered, under its source (labelled in `language`), in an expandable quote."""
    blocks = []
    for n, passage in enumerate(passages, start=first_number):
        # Expandable: long passages stay one tap away instead of filling the screen.
        blocks.append(
            Block(
                f"<b>[{n}]</b> {source_html(passage, language)}\n<blockquote expandable>", passage.text, "</blockquote>"
            )
        )
    return blocks


def answer_blocks(answer: Answer) -> list[Block]:
    """The answering sentences first, then the quoted passages with their sources."""
    if not answer.answered:
        return [Block("", text("not_found", answer.language))]
    return [Block("<b>", answer.answer, "</b>"), *passage_blocks(answer.passages, language=answer.language)]


def pack(blocks: Sequence[Block], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Join blocks with blank lines into as few messages as fit under `limit` characters."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in _fit(block, limit):
            rendered = piece.render()
            if not current:
                current = rendered
            elif len(current) + 2 + len(rendered) <= limit:
                current += "\n\n" + rendered
            else:
                messages.append(current)
                current = rendered
    if current:
        messages.append(current)
    return messages


_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?…])\s+"), re.compile(r"\s+"))


def _fit(block: Block, limit: int) -> list[Block]:
    """The block, or its text cut into pieces that each render within `limit`."""
    if len(block.render()) <= limit:
        return [block]
    room = limit - len(block.prefix) - len(block.suffix)
    if room <= 0:
        raise ValueError("block tags alone exceed the message limit")
    pieces = _split_text(block.body, lambda t: len(escape(t)) <= room)
    return [Block(block.prefix, p, block.suffix) for p in pieces]


def _split_text(body: str, fits: Callable[[str], bool], level: int = 0) -> list[str]:
    """Greedy split at the coarsest boundary that works; a hard cut only for unbroken text."""
    if fits(body):
        return [body]
    if level == len(_BOUNDARIES):
        # One unbreakable run: cut by characters (plain text, so no escape is ever halved).
        cuts: list[str] = []
        start = 0
        while start < len(body):
            end = len(body)
            while not fits(body[start:end]):
                end = start + max(1, (end - start) * 3 // 4)
            cuts.append(body[start:end])
            start = end
        return cuts
    separator = _BOUNDARIES[level]
    parts = [p for p in separator.split(body) if p.strip()]
    if len(parts) <= 1:
        return _split_text(body, fits, level + 1)
    joiner = "\n\n" if level == 0 else "\n" if level == 1 else " "
    out: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{joiner}{part}" if current else part
        if fits(candidate):
            current = candidate
            continue
        if current:
            out.append(current)
        if fits(part):
            current = part
        else:
            out.extend(_split_text(part, fits, level + 1))
            current = ""
    if current:
        out.append(current)
    return out
