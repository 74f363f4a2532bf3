"""PDF: text page by page (citations name the page), the title only if it is a real one."""

from __future__ import annotations

import io
import re

import pypdf
from pypdf.errors import DependencyError

from index.readers.common import Page, ReadError, is_junk_title

_HYPHEN_BREAK_RE = re.compile(r"(\w)[-\u00ad]\n[ \t]*(?=[a-zа-яё])")

_NEEDS_CRYPTOGRAPHY = "encrypted PDF (AES; decrypting it needs the 'cryptography' package)"


def read(data: bytes) -> tuple[list[Page], dict]:
    if b"%PDF-" not in data[:1024]:
        raise ReadError("not a PDF file (no %PDF header)")
    # pypdf quietly reads what it can of a cut-off file; we would rather say so than index half.
    if b"%%EOF" not in data[-16384:]:
        raise ReadError("not a valid PDF (truncated or damaged)")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except DependencyError:
        raise ReadError(_NEEDS_CRYPTOGRAPHY) from None
    except Exception:
        raise ReadError("not a valid PDF (truncated or damaged)") from None
    if encrypted:
        _decrypt_with_empty_password(reader)
    try:
        page_count = len(reader.pages)
    except Exception:
        raise ReadError("not a valid PDF (truncated or damaged)") from None
    if page_count == 0:
        raise ReadError("no text found (the PDF has no pages)")

    pages: list[Page] = []
    failures = 0
    for number in range(1, page_count + 1):
        try:
            raw = reader.pages[number - 1].extract_text() or ""
        except DependencyError:
            raise ReadError(_NEEDS_CRYPTOGRAPHY) from None
        except Exception:  # one broken page should not cost the whole document
            failures += 1
            continue
        text = _clean_pdf_text(raw)
        if text:
            pages.append(Page(number, text))
    if not pages:
        if failures:
            raise ReadError("not a valid PDF (truncated or damaged)")
        raise ReadError("no text found (scanned PDF? OCR is not supported)")
    return pages, _pdf_meta(reader)


def _decrypt_with_empty_password(reader: pypdf.PdfReader) -> None:
    """Many public PDFs are 'encrypted' only to forbid editing and open without a password."""
    try:
        result = reader.decrypt("")
    except DependencyError:
        raise ReadError(_NEEDS_CRYPTOGRAPHY) from None
    except Exception:
        raise ReadError("encrypted PDF (password protected)") from None
    if result == pypdf.PasswordType.NOT_DECRYPTED:
        raise ReadError("encrypted PDF (password protected)")


def _clean_pdf_text(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _HYPHEN_BREAK_RE.sub(r"\1", text)  # words split across lines: "invest-\nment"
    text = text.replace("\u00ad", "")
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def _pdf_meta(reader: pypdf.PdfReader) -> dict:
    """Only the title: PDF dates are file creation dates, not the date of the document."""
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return {}
    if not isinstance(title, str):
        return {}
    title = " ".join(title.replace("\x00", "").split())
    return {"title": title} if title and not is_junk_title(title) else {}
