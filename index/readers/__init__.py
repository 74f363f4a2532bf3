"""Turn the agency's files (txt, md, html, pdf, docx) into plain text with page numbers.

This registry is the one place that maps file types to readers; each format has its own module
(txt, markdown, html, pdf, docx; encoding detection is shared), imported only when a file of that
format is read, because docx, pypdf and trafilatura take a while to import. Readers never let a
library exception escape: every problem with a file is a ReadError with a short reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from index.readers.common import META_KEYS, FileTooLarge, MiB, Page, ParsedDocument, ReadError
from index.readers.encoding import decode_bytes

__all__ = [
    "FORMATS",
    "SUPPORTED_FORMATS",
    "FileTooLarge",
    "Page",
    "ParsedDocument",
    "ReadError",
    "decode_bytes",
    "is_supported",
    "read_data",
    "read_document",
]

SUPPORTED_FORMATS: dict[str, str] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}

# Format -> the module (in this package) whose read(data) -> (pages, meta) reads it.
FORMATS: dict[str, str] = {"txt": "txt", "md": "markdown", "html": "html", "pdf": "pdf", "docx": "docx"}

DEFAULT_MAX_BYTES = 50 * MiB


def is_supported(path: Path) -> bool:
    """Lets directory walkers skip foreign files silently instead of reporting each one."""
    return Path(path).suffix.lower() in SUPPORTED_FORMATS


def read_document(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDocument:
    """Read one file into text, its format told by its extension; any problem is a ReadError."""
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = SUPPORTED_FORMATS.get(suffix)
    if fmt is None:
        choices = ", ".join(sorted(SUPPORTED_FORMATS))
        what = f"unsupported file type '{suffix}'" if suffix else "no file extension"
        raise ReadError(f"{what} (supported: {choices})")
    return _parse(_read_bytes(path, max_bytes), fmt, path)


def read_data(data: bytes, fmt: str, name: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDocument:
    """Read bytes whose format is known from elsewhere (a web page's content type, say).

    fmt is a format ("html") or an extension (".htm"); name becomes the document's path, which
    citations and error lines show.
    """
    key = fmt.strip().lower()
    key = SUPPORTED_FORMATS.get(key if key.startswith(".") else f".{key}", key)
    if key not in FORMATS:
        raise ReadError(f"unsupported format '{fmt}' (supported: {', '.join(sorted(FORMATS))})")
    if len(data) > max_bytes:
        raise FileTooLarge(f"file is {_human_size(len(data))}, over the {_human_size(max_bytes, limit=True)} limit")
    return _parse(data, key, Path(name))


def _parse(data: bytes, fmt: str, path: Path) -> ParsedDocument:
    if not data:
        raise ReadError("no text found (empty file)")
    pages, meta = _reader(fmt)(data)
    meta = {key: value for key, value in meta.items() if key in META_KEYS and value}
    return ParsedDocument(path=path, format=fmt, pages=pages, meta=meta)


def _reader(fmt: str) -> Callable[[bytes], tuple[list[Page], dict]]:
    return importlib.import_module(f"{__name__}.{FORMATS[fmt]}").read


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """Refuse oversized files before reading them, so one huge file cannot exhaust memory."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ReadError("not a regular file")
        if size > max_bytes:
            raise FileTooLarge(f"file is {_human_size(size)}, over the {_human_size(max_bytes, limit=True)} limit")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since stat()
    except FileNotFoundError:
        raise ReadError("file not found") from None
    except PermissionError:
        raise ReadError("permission denied") from None
    except IsADirectoryError:
        raise ReadError("not a regular file") from None
    except OSError as exc:
        raise ReadError(f"cannot read file ({exc.strerror or exc.__class__.__name__})") from None
    if len(data) > max_bytes:
        raise FileTooLarge(f"file is over the {_human_size(max_bytes, limit=True)} limit")
    return data


def _human_size(n: int, *, limit: bool = False) -> str:
    """Limits read better without a decimal ('50 MB'); actual sizes need one ('60.0 MB')."""
    for unit, scale in (("MB", MiB), ("KB", 1024)):
        if n >= scale:
            value = n / scale
            return f"{value:g} {unit}" if limit and value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"
