"""Telegram HTML for answers, split into messages under Telegram's 4096-character limit.

Every user or document string is escaped here and only here. A message is built from blocks
(an HTML prefix, plain text, an HTML suffix); when a block is too long its plain text is split
at paragraph, line, sentence or word boundaries and each piece is wrapped in the same tags, so
no split ever falls inside a tag or an entity.

Nothing is shown twice: passages of one document that overlap (neighbouring chunks share a sentence)
are merged into one, and the sentence that answers is shown in bold inside its passage (which is then
not folded away) rather than repeated above it. The bold header line above the passages stays only when
the answer is not found word for word in a shown passage (e.g. a generated answer).
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.messages import agency_label, agency_reply, date_text, is_agency_answer, text
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
    bold: tuple[str, ...] = ()  # parts of body shown in bold (each at its first occurrence)

    def render(self) -> str:
        body = escape(self.body)
        for part in self.bold:
            body = body.replace(escape(part), f"<b>{escape(part)}</b>", 1)
        return self.prefix + body + self.suffix


def source_html(passage: Passage, language: str = "en") -> str:
    """📄 Title — date — p. N — link; an agency answer: 💬 Agency answer, date — its question. Never a file
    name or a server path: a document is named by its title."""
    title = escape(passage.title)
    if is_agency_answer(passage):
        return f"💬 <b>{escape(agency_label(passage, language))}</b> — {title}"
    parts = [f"<b>{title}</b>", escape(date_text(passage.date, language))]
    if passage.page:
        parts.append(escape(text("page", language, page=passage.page)))
    if passage.url:
        parts.append(f'<a href="{html.escape(passage.url, quote=True)}">{escape(passage.url)}</a>')
    return "📄 " + " — ".join(parts)


def passage_blocks(
    passages: Sequence[Passage], first_number: int = 1, language: str = "en", highlight: Sequence[str] = ()
) -> list[Block]:
    """Each passage numbered, under its source (labelled in `language`; a document in the other language says
    so), quoted. A passage holding a `highlight` sentence shows it in bold and is quoted open; the others are
    expandable, so long passages stay one tap away instead of filling the screen."""
    blocks = []
    for n, passage in enumerate(passages, start=first_number):
        body = _shown_text(passage)
        bold = tuple(found for sentence in highlight if (found := find_in(body, sentence)))
        note = ""
        if passage.language in ("en", "ru") and passage.language != language and not is_agency_answer(passage):
            note = "\n<i>" + escape(text(f"in_document_{passage.language}", language)) + "</i>"
        quote = "<blockquote>" if bold else "<blockquote expandable>"
        head = f"<b>[{n}]</b> {source_html(passage, language)}{note}\n{quote}"
        blocks.append(Block(head, body, "</blockquote>", bold))
    return blocks


def _shown_text(passage: Passage) -> str:
    """What a passage quotes: an agency answer without the question it repeats (its source line names it)."""
    return agency_reply(passage) if is_agency_answer(passage) else passage.text


def answer_blocks(answer: Answer, understood: str | None = None) -> list[Block]:
    """How the question was understood (when it was rewritten), then the passages with the answering sentences
    in bold; the answer above them only when it cannot be shown inside them."""
    head = [Block("<i>", text("understood_as", answer.language, question=understood), "</i>")] if understood else []
    if not answer.answered:
        return [*head, Block("", text("not_found", answer.language))]
    passages = merge_passages(answer.passages)
    whole = any(find_in(_shown_text(p), answer.answer) for p in passages)
    sentences = [answer.answer] if whole else answer_sentences(answer.answer)
    shown = all(any(find_in(_shown_text(p), s) for p in passages) for s in sentences) if sentences else False
    top = [] if shown else [Block("<b>", answer.answer, "</b>")]
    return [*head, *top, *passage_blocks(passages, language=answer.language, highlight=sentences)]


# --- nothing twice ------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def answer_sentences(answer: str) -> list[str]:
    """The sentences of an answer, as they may be found in its passages."""
    return [s.strip() for s in _SENTENCE_END.split(answer) if s.strip()]


def find_in(passage: str, sentence: str) -> str | None:
    """`sentence` as it stands in `passage` (spaces and line breaks may differ), or None."""
    if not sentence.strip():
        return None
    if sentence in passage:
        return sentence
    pattern = r"\s+".join(re.escape(word) for word in sentence.split())
    match = re.search(pattern, passage)
    return match.group(0) if match else None


def _sentences(text_: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text_) if s.strip()]


def _key(sentence: str) -> str:
    return " ".join(sentence.split())


def merge_texts(first: str, second: str) -> str | None:
    """Two passages of one document as one text when they overlap (one holds the other, or one ends with
    what the other begins with, as neighbouring chunks do); None when they share no sentence."""
    if _key(second) in _key(first):
        return first
    if _key(first) in _key(second):
        return second
    a, b = _sentences(first), _sentences(second)
    keys_a, keys_b = [_key(x) for x in a], [_key(x) for x in b]
    for k in range(min(len(a), len(b)), 0, -1):
        if keys_a[-k:] == keys_b[:k]:
            return first.rstrip() + _tail(second, b, k)
        if keys_b[-k:] == keys_a[:k]:
            return second.rstrip() + _tail(first, a, k)
    return None


def _tail(whole: str, sentences: list[str], skip: int) -> str:
    """What follows the first `skip` sentences of `whole`, with the break that preceded it."""
    position = 0
    for sentence in sentences[:skip]:
        position = whole.index(sentence, position) + len(sentence)
    rest = whole[position:]
    return rest if rest[:1].isspace() else " " + rest


def merge_passages(passages: Sequence[Passage]) -> list[Passage]:
    """Passages of one document that overlap become one (at the place of the first, with the best score)."""
    merged: list[Passage] = []
    for passage in passages:
        for i, kept in enumerate(merged):
            if kept.doc_id != passage.doc_id:
                continue
            joined = merge_texts(kept.text, passage.text)
            if joined is not None:
                merged[i] = dataclasses.replace(kept, text=joined, score=max(kept.score, passage.score))
                break
        else:
            merged.append(passage)
    return merged


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
    room = limit - len(block.prefix) - len(block.suffix) - 7 * len(block.bold)  # room for <b></b>
    if room <= 0:
        raise ValueError("block tags alone exceed the message limit")
    pieces = _split_text(block.body, lambda t: len(escape(t)) <= room)
    return [Block(block.prefix, p, block.suffix, tuple(b for b in block.bold if b in p)) for p in pieces]


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
