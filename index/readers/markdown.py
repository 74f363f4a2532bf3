"""Markdown (.md, .markdown): front matter as metadata, markup stripped, words kept."""

from __future__ import annotations

import datetime as dt
import re

import yaml

from index.readers.common import (
    TABLE_RULE_RE,
    Page,
    ReadError,
    language_code,
    single_page,
    table_row,
)
from index.readers.encoding import decode_bytes

_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_RULE_RE = re.compile(r"^\s{0,3}([-*_=])(?:\s*\1){2,}\s*$")
_LINK_DEF_RE = re.compile(r"""^\s{0,3}\[[^\]^][^\]]*\]:\s+<?\S+>?(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*$""")
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_IMAGE_RE = re.compile(r"!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])")
_LINK_RE = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\[[^\]]*\])")
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_EMPHASIS_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_CODE_RE = re.compile(r"(`+)(.+?)\1")


def read(data: bytes) -> tuple[list[Page], dict]:
    text = decode_bytes(data)
    meta, body = _split_front_matter(text)
    body, first_heading = _strip_markdown(body)
    if "title" not in meta and first_heading:
        meta["title"] = first_heading
    return single_page(body), meta


def _split_front_matter(text: str) -> tuple[dict, str]:
    """Front matter carries the document's own title, date and link, which citations need."""
    lines = text.split("\n", 1)
    # Like pandoc: '---' followed by a blank line is a horizontal rule, not front matter.
    if lines[0].rstrip() != "---" or len(lines) < 2 or not lines[1].partition("\n")[0].strip():
        return {}, text
    rest = lines[1]
    end = _FRONT_MATTER_END.search(rest)
    if end is None:
        raise ReadError("invalid front matter: no closing '---' line")
    raw, body = rest[: end.start()], rest[end.end() :]
    try:
        loaded = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ReadError(f"invalid front matter: {_yaml_problem(exc)}") from None
    if loaded is None:
        return {}, body
    if not isinstance(loaded, dict):
        raise ReadError("invalid front matter: expected 'key: value' lines")
    meta = {}
    for key, meta_key in (
        ("title", "title"),
        ("date", "date"),
        ("source", "url"),
        ("url", "url"),
        ("region", "region"),
        ("language", "language"),
    ):
        if key not in loaded or loaded[key] is None or meta_key in meta:
            continue
        value = loaded[key]
        if isinstance(value, (list, dict)):
            raise ReadError(f"invalid front matter: '{key}' should be a single value")
        value = _meta_string(value)
        if value:
            meta[meta_key] = language_code(value) if meta_key == "language" else value
    return meta, body


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line from PyYAML's multi-line message, with a line number inside the front matter."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{problem} (front matter line {mark.line + 1})"
    return problem


def _meta_string(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    return " ".join(str(value).split())


def _strip_markdown(body: str) -> tuple[str, str | None]:
    """Markup symbols are noise for search and for quoted answers; the words stay."""
    body = _COMMENT_RE.sub("", body)
    out: list[str] = []
    first_heading = None
    in_fence = False
    for line in body.split("\n"):
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            out.append(line)
            continue
        if _RULE_RE.match(line) or _LINK_DEF_RE.match(line) or TABLE_RULE_RE.match(line.strip()):
            continue
        stripped = line.strip()
        if len(stripped) > 1 and stripped.startswith("|") and stripped.endswith("|"):
            line = table_row(stripped)
        heading = _HEADING_RE.match(line)
        if heading:
            line = heading.group(2)
        line = re.sub(r"^(\s{0,3}>\s?)+", "", line)
        line = _IMAGE_RE.sub("", line)
        line = _LINK_RE.sub(r"\1", line)
        line = _AUTOLINK_RE.sub(r"\1", line)
        line = _CODE_RE.sub(r"\2", line)
        line = _EMPHASIS_RE.sub(r"\2", line)
        line = _EMPHASIS_RE.sub(r"\2", line)  # nested: **bold __and__ more**
        line = line.replace("**", "")  # bold spanning lines leaves unpaired markers
        if heading and heading.group(1) == "#" and first_heading is None and line.strip():
            first_heading = line.strip()
        out.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)), first_heading
