"""Word documents (.docx): paragraphs and tables in body order; zip bombs refused before unpacking."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from index.readers.common import MiB, Page, ReadError, is_junk_title, language_code, single_page

# A .docx is a zip of XML; real ones unpack to a few MB. Beyond these, it is an attack or junk.
_DOCX_MAX_UNPACKED = 200 * MiB
_DOCX_MAX_MEMBERS = 10_000
_DOCX_MAX_RATIO = 100  # XML compresses ~5-20x; hundreds-x is a crafted archive
_DOCX_RATIO_MIN_SIZE = 10 * MiB  # small members may compress absurdly well without harm


def read(data: bytes) -> tuple[list[Page], dict]:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError("not a valid DOCX file (it is an old binary .doc; save it as .docx)")
    _check_docx_archive(data)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = [text for text in _docx_blocks(document.element.body, document) if text]
        props = document.core_properties
        title, language = props.title, props.language
    except ReadError:
        raise
    except Exception:
        raise ReadError("not a valid DOCX file") from None
    meta = {}
    if title and title.strip() and not is_junk_title(title):
        meta["title"] = " ".join(title.split())
    if language and language.strip():
        meta["language"] = language_code(language.strip())
    return single_page("\n\n".join(blocks)), meta


def _check_docx_archive(data: bytes) -> None:
    """python-docx unpacks parts into memory; refuse archives that would explode while doing so."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise ReadError("not a valid DOCX file") from None
    if "word/document.xml" not in {member.filename for member in members}:
        raise ReadError("not a valid DOCX file (no word/document.xml inside)")
    total = sum(member.file_size for member in members)
    too_compressed = any(
        member.file_size > _DOCX_RATIO_MIN_SIZE and member.file_size > _DOCX_MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if len(members) > _DOCX_MAX_MEMBERS or total > _DOCX_MAX_UNPACKED or too_compressed:
        raise ReadError("DOCX archive too large when unpacked (zip bomb?)")


def _docx_blocks(container, parent):
    """Body order matters (a table belongs under its heading), and content controls (w:sdt) hide
    paragraphs from python-docx's own iteration, so walk the XML children directly."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, parent).text.strip()
        elif child.tag == qn("w:tbl"):
            yield _docx_table_text(Table(child, parent))
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _docx_blocks(content, parent)


def _docx_table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a merged cell is reported once per grid column it spans
                continue
            previous = cell._tc
            cells.append(" ".join(_docx_cell_text(cell).split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _docx_cell_text(cell) -> str:
    parts = []
    for item in cell.iter_inner_content():
        parts.append(item.text if isinstance(item, Paragraph) else _docx_table_text(item))
    return " ".join(parts)
