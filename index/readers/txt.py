"""Plain text (.txt, .text): decoded, one page."""

from __future__ import annotations

from index.readers.common import Page, single_page
from index.readers.encoding import decode_bytes


def read(data: bytes) -> tuple[list[Page], dict]:
    return single_page(decode_bytes(data)), {}
