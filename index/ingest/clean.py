"""Pure text cleaning: scraped pages and extracted files carry menus, footers, sponsor lists and
code leftovers that must never reach an answer, while every sentence of real prose must survive
verbatim (answers quote it, and citations point at it).

The rules are line based and deliberately conservative in the body of a document: a short line
in the middle of prose is usually a heading or a speaker attribution, so only lines that are
boilerplate by their wording, by repetition, or by their position after the last paragraph go.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Collection

# Lines of at most this many words are "short": candidates for cross-document boilerplate and
# for the in-document repetition rule. Longer lines are prose and too specific to repeat.
SHORT_LINE_WORDS = 8
# A trailing footer line ("Investment digest", "By Olga Blinova") has at most this many words.
FOOTER_WORDS = 5
# A navigation or sponsor list item ("Official media partner") has at most this many words.
LIST_ITEM_WORDS = 6
# Short lines repeated this often inside one document are a menu or a sponsor wall, not text.
REPEATS_IN_DOCUMENT = 3
# A heading that introduces a dropped list has at most this many words ("Forum operator").
LIST_HEADING_WORDS = 5
# A line this long mentioning cookies is still a notice; longer ones would be real text.
COOKIE_NOTICE_WORDS = 60

_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e]")
_LINE_BREAK_RE = re.compile("\r\n|[\r\u2028\u2029\x0b\x0c\x85]")
# Every Unicode space separator except the plain space, plus tabs.
_SPACE_RE = re.compile("[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]|&nbsp;")
_SPACES_RE = re.compile(" {2,}")
_BLANK_RUN_RE = re.compile(r"\n{3,}")

# Bullets: glyphs always; dashes, asterisks and pluses only when a space follows, so that "-5%"
# or "**bold**" are not lists. U+F0B7 and friends are Symbol-font bullets from PDF and DOCX.
_BULLET_RE = re.compile(r"^(?:[•·▪●◦‣⁃∙○■□►▸➢✓✔\uf0b7\uf0a7\uf076\uf0d8\uf0fc]+\s*|[-–—*+]\s+)")
# Sentence or clause end: such a line is prose (or an enumeration item), not a fragment.
_CLAUSE_END_RE = re.compile(r"[.!?…;,][\"'”»)\]]*$")

_BOILERPLATE_KEYS = frozenset(
    {
        # English
        "back",
        "next",
        "previous",
        "prev",
        "more",
        "read more",
        "read full article",
        "continue reading",
        "read also",
        "all news",
        "more news",
        "other news",
        "news feed",
        "share",
        "share this",
        "share this article",
        "print",
        "print version",
        "printer friendly version",
        "subscribe",
        "subscribe to newsletter",
        "subscribe to news",
        "back to top",
        "to top",
        "tags",
        "tweet",
        # Russian
        "назад",
        "далее",
        "читать далее",
        "читать полностью",
        "читать также",
        "читайте также",
        "подробнее",
        "поделиться",
        "версия для печати",
        "распечатать",
        "печать",
        "подписаться",
        "подписаться на новости",
        "подписаться на рассылку",
        "все новости",
        "другие новости",
        "лента новостей",
        "наверх",
        "теги",
        "метки",
    }
)
_BOILERPLATE_RES = (
    # "Previous Article", "Next Article", "Previous ArticleNext Article" (links glued together).
    re.compile(r"(?:(?:previous|prev|next)\s*(?:article|post|news|page|story)?\s*)+"),
    re.compile(r"(?:(?:предыдущая|следующая)\s*(?:статья|новость|страница)?\s*)+"),
    re.compile(
        r"(?:back|return|go back)\s+to\s+(?:the\s+)?"
        r"(?:news(?:\s+(?:feed|list))?|list|all news|top|home(?:page)?)"
    ),
    re.compile(
        r"(?:назад|вернуться|обратно)\s+(?:к|в)\s+"
        r"(?:списку(?:\s+новостей)?|новостям|ленте(?:\s+новостей)?|началу|раздел\w*(?:\s+новост\w*)?)"
    ),
    re.compile(
        r"(?:share|поделиться)(?:\s+(?:this|article|page|on|in|в|новостью|статьей))*"
        r"(?:\s+(?:facebook|twitter|x|vk|vkontakte|вконтакте|telegram|whatsapp|linkedin|одноклассники|ok"
        r"|email|e mail|почта))+"
    ),
)
_COOKIE_RE = re.compile(r"\bcookies?\b|\bкуки\b|cookie-файл", re.IGNORECASE)
_CODE_RE = re.compile(
    r"<\?(?:php|=)?|\?>"  # PHP open and close tags
    r"|\b[A-Za-z_][A-Za-z0-9_]*\([^()]*\);"  # a statement: return_links();
    r"|^(?:</?[A-Za-z][^>]*>\s*)+$"  # a line of HTML tags
    r"|\{\{|\}\}|\{%|%\}"  # template tags
    r"|\{$|^\}"  # block braces: prose never ends with "{" or starts with "}"
)
_CODE_CHARS = frozenset("{}()[];<>=$\\")
_CODE_CHARS_RE = re.compile(r"[{}()\[\];<>=$\\]")
_ALNUM_RE = re.compile(r"[^\W_]")

# Wiki and HTML markup left in a line of prose (a dump, a copied page). Stripped from the line, never the prose
# around it: "[[Module:{{{1}}}|{{{1}}}]]  Лях, мн. ч. ля́хи …" keeps "Лях, мн. ч. ля́хи …".
_MARKUP_HINT_RE = re.compile(r"\{\{|\}\}|\[\[|\]\]|<[A-Za-z/!]|''|__[A-Z]+__")
_TEMPLATE_RE = re.compile(r"\{\{[^{}]*\}\}")  # innermost first: {{{1}}} and nested templates go in a few passes
# [[File:…]], [[Category:…]], [[Module:…]]: links that are not words of the text.
_NAMESPACED_LINK_RE = re.compile(
    r"\[\[\s*(?:file|image|category|module|template|media|файл|изображение|категория|модуль|шаблон)\s*:[^\[\]]*\]\]",
    re.IGNORECASE,
)
_LINK_RE = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]|]*)\]\]")  # [[target|label]] -> label, [[target]] -> target
_REF_RE = re.compile(r"<ref\b[^<>]*/>|<ref\b[^<>]*>.*?</ref\s*>", re.IGNORECASE)
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->")
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_WIKI_EMPHASIS_RE = re.compile(r"'{2,}")
_MAGIC_WORD_RE = re.compile(r"__[A-Z]+__")
_STRAY_BRACKETS_RE = re.compile(r"\{\{|\}\}|\[\[|\]\]")
_SPACE_BEFORE_MARK_RE = re.compile(r"\s+([,.;:!?])")
# Stress marks of dictionary Russian ("ля́хи"): they split a word in two for search.
_STRESS_RE = re.compile("(?<=[а-яёА-ЯЁ])[\u0300\u0301]")


def _normalize(text: str) -> str:
    """One form for spaces and line breaks, so that every later rule sees plain lines."""
    text = _LINE_BREAK_RE.sub("\n", text)
    text = _ZERO_WIDTH_RE.sub("", text)
    text = _STRESS_RE.sub("", text)
    text = _SPACE_RE.sub(" ", text)
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(lines)


def strip_markup(line: str) -> str:
    """A line without wiki templates, link targets, <ref> notes, HTML tags and comments, its spacing tidied.

    Lines without any markup come back unchanged (the common case, decided by one regex search).
    """
    if not _MARKUP_HINT_RE.search(line):
        return line
    text = _REF_RE.sub("", _HTML_COMMENT_RE.sub("", line))
    for _ in range(5):  # nested templates: {{a|{{b}}}} needs two passes, {{{1}}} one
        text, n = _TEMPLATE_RE.subn("", text)
        if not n:
            break
    text = _NAMESPACED_LINK_RE.sub("", text)
    text = _LINK_RE.sub(r"\1", text)
    text = _HTML_TAG_RE.sub(" ", text)
    text = _MAGIC_WORD_RE.sub("", _WIKI_EMPHASIS_RE.sub("", text))
    text = _STRAY_BRACKETS_RE.sub("", text)
    return _SPACE_BEFORE_MARK_RE.sub(r"\1", " ".join(text.split()))


def _without_markup(line: str) -> str:
    """The prose of a line that carries markup; a line that is nothing but markup or code stays as it is, so the
    code and boilerplate rules drop it whole (and count it as site furniture)."""
    stripped = strip_markup(line)
    if stripped == line or not _ALNUM_RE.search(stripped) or _is_code(stripped):
        return line
    return stripped


def line_key(line: str) -> str:
    """Comparable form of a line: the same menu item must count as one across documents whatever
    its case, spacing, bullet or trailing punctuation."""
    key = unicodedata.normalize("NFKC", _ZERO_WIDTH_RE.sub("", line)).casefold().replace("ё", "е")
    key = " ".join(key.split())
    start, end = 0, len(key)
    while start < end and not key[start].isalnum():
        start += 1
    while end > start and not key[end - 1].isalnum():
        end -= 1
    return key[start:end]


def _words(line: str) -> int:
    return len(line.split())


def boilerplate_candidates(text: str) -> set[str]:
    """Keys of the short lines of one text; only short lines can be site furniture, and long
    lines would make the cross-document counts large for nothing."""
    return {
        key
        for line in _normalize(text).split("\n")
        if line and _words(line) <= SHORT_LINE_WORDS and (key := line_key(line))
    }


def _strip_bullet(line: str) -> str:
    return _BULLET_RE.sub("", line, count=1)


def _is_bullet(line: str) -> bool:
    return bool(_BULLET_RE.match(line))


def _is_fragment(line: str, max_words: int) -> bool:
    """A few words with no sentence or clause end: a label, menu item or byline, not prose."""
    body = _strip_bullet(line)
    return _words(body) <= max_words and not _CLAUSE_END_RE.search(body)


def _is_code(line: str) -> bool:
    if not _CODE_CHARS_RE.search(line):
        return False  # prose, the common case: no code character at all
    if _CODE_RE.search(line):
        return True
    code = len(_CODE_CHARS_RE.findall(line))  # regex counting: this runs on every line ingested
    return code >= 2 and code > len(_ALNUM_RE.findall(line))


def _is_boilerplate(line: str, key: str) -> bool:
    """Boilerplate by its own wording, whatever the document around it."""
    if not key:  # nothing alphanumeric: empty bullets, separators, "();", "?>"
        return True
    bare = " ".join(re.sub(r"[^\w\s]", " ", key).split())
    if bare in _BOILERPLATE_KEYS or any(r.fullmatch(bare) for r in _BOILERPLATE_RES):
        return True
    if _COOKIE_RE.search(line) and _words(line) <= COOKIE_NOTICE_WORDS:
        return True
    return _is_code(line)


def clean_text(text: str, repeated_lines: Collection[str] = frozenset()) -> str:
    """Normalised text without boilerplate; kept lines are never rewritten, only whitespace is
    normalised, so that quotes and citations match the source.

    repeated_lines: line keys (see line_key) seen in many documents of the collection, i.e. the
    site's menus and footers; such lines are dropped wherever they appear.
    """
    lines = [_without_markup(line) for line in _normalize(text).split("\n")]
    keys = [line_key(line) for line in lines]
    nonblank = [i for i, line in enumerate(lines) if line]
    drop = [False] * len(lines)
    # Lines that are boilerplate in themselves: they also condemn lists next to them.
    furniture = [False] * len(lines)

    short_counts = Counter(keys[i] for i in nonblank if keys[i] and _words(lines[i]) <= SHORT_LINE_WORDS)
    for i in nonblank:
        key = keys[i]
        if (
            _is_boilerplate(lines[i], key)
            or key in repeated_lines
            or (short_counts[key] >= REPEATS_IN_DOCUMENT and _words(lines[i]) <= SHORT_LINE_WORDS)
        ):
            drop[i] = furniture[i] = True

    def is_prose(i: int) -> bool:
        return not drop[i] and not _is_bullet(lines[i]) and not _is_fragment(lines[i], FOOTER_WORDS)

    _drop_navigation_lists(lines, keys, nonblank, drop, furniture, is_prose)

    # A line repeated right after itself (a title printed twice) is kept once; this runs after
    # the removals above, which can bring two copies together.
    previous = None
    for i in nonblank:
        if drop[i]:
            continue
        if previous is not None and keys[i] == keys[previous]:
            drop[i] = True
        else:
            previous = i

    _drop_trailing_footer(lines, nonblank, drop, is_prose)

    kept = [line for i, line in enumerate(lines) if not drop[i]]
    return _BLANK_RUN_RE.sub("\n\n", "\n".join(kept)).strip("\n")


def _list_runs(lines: list[str], drop: list[bool]) -> list[list[int]]:
    """Runs of list items among the lines still shown (blank lines between items allowed). A
    lower-case fragment right under an item continues it ("• LUKOIL Group Companies" / "in the
    Perm Region"). Dropped lines are transparent, as they will be in the output."""
    runs: list[list[int]] = []
    current: list[int] = []
    last = None  # the previous line still shown, blank or not
    for i, line in enumerate(lines):
        if drop[i]:
            continue
        if line:
            continues = (
                bool(current) and last == current[-1] and line[0].islower() and _is_fragment(line, LIST_ITEM_WORDS)
            )
            if _is_bullet(line) or continues:
                current.append(i)
            elif current:
                runs.append(current)
                current = []
        last = i
    if current:
        runs.append(current)
    return runs


def _drop_navigation_lists(lines, keys, nonblank, drop, furniture, is_prose) -> None:
    """Drop lists of short fragments that are site furniture, with the heading introducing them.

    A list of short fragments is furniture when it repeats an item (sponsor walls) or when the
    stretch of non-prose lines around it holds boilerplate ("Back to news feed", code leftovers,
    site-wide repeated lines). Lists in the body with no such evidence are kept: a PDF page or a
    DOCX often lists parks, sectors or advantages in exactly the same shape, and that is content.
    The heading goes with a dropped list only when it is a short fragment directly above it
    ("Organizers", "Partners"): it introduces nothing else.
    """
    # Stretches of non-prose lines between two prose lines, and whether each holds boilerplate.
    # Dropping lists and headings never changes which lines are prose, so this is computed once.
    stretch: dict[int, int] = {}
    has_furniture: list[bool] = [False]
    for i in nonblank:
        if is_prose(i):
            has_furniture.append(False)
            continue
        stretch[i] = len(has_furniture) - 1
        has_furniture[-1] = has_furniture[-1] or furniture[i]
    for run in _list_runs(lines, drop):
        items = [i for i in run if _is_bullet(lines[i])]
        if len(items) < 2 or not all(_is_fragment(lines[i], LIST_ITEM_WORDS) for i in run):
            continue
        if max(Counter(keys[i] for i in items).values()) < 2 and not has_furniture[stretch[run[0]]]:
            continue
        before = next((j for j in range(run[0] - 1, -1, -1) if not drop[j]), None)
        for i in run:
            drop[i] = True
        if (
            before is not None
            and lines[before]
            and not _is_bullet(lines[before])
            and _is_fragment(lines[before], LIST_HEADING_WORDS)
        ):
            drop[before] = True


def _drop_trailing_footer(lines, nonblank, drop, is_prose) -> None:
    """After the last prose line, short fragments are a footer ("Investment digest", a byline).

    List items stop the walk: a list ending a page is content unless the list rule condemned it.
    A text with no prose at all (a title page, a contact card) is left alone.
    """
    if not any(is_prose(i) for i in nonblank):
        return
    for i in reversed(nonblank):
        if drop[i]:
            continue
        if is_prose(i) or _is_bullet(lines[i]):
            return
        drop[i] = True
