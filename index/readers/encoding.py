"""Bytes of unknown encoding to text, getting Russian legacy encodings right.

Old agency documents are cp1251 or koi8-r without any declaration, and generic detectors mix these
up on short texts, which would silently index gibberish; hence a Russian-specific check on top of
charset-normalizer. Shared by every text-based format (txt, Markdown, HTML).
"""

from __future__ import annotations

import codecs
import unicodedata

import charset_normalizer

from index.readers.common import ReadError

BOMS = (  # UTF-32 first: its LE BOM starts with the UTF-16 LE BOM
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Russian single-byte encodings in order of how common they are in the agency's archives;
# the order breaks ties (texts without capitals decode identically in cp1251 and mac-cyrillic).
_CYRILLIC_CANDIDATES = ("cp1251", "koi8_r", "mac_cyrillic", "cp866", "iso8859_5")
_CYRILLIC_FAMILY = frozenset({*_CYRILLIC_CANDIDATES, "koi8_u", "cp855", "cp1125", "ptcp154", "kz1048", "mac_ukraine"})
# How much more often than chance (1/33) each letter occurs in Russian prose, as log(33·p),
# floored so that rare but legitimate letters (ё, ъ, ф) cost no more than a stray symbol.
# fmt: off
_LETTER_LOG_ODDS = {
    "о": 1.29, "е": 1.03, "а": 0.97, "и": 0.89, "н": 0.79, "т": 0.73, "с": 0.59, "р": 0.45,
    "в": 0.40, "л": 0.37, "к": 0.14, "м": 0.06, "д": -0.02, "п": -0.08, "у": -0.15, "я": -0.41,
    "ы": -0.47, "ь": -0.55, "г": -0.58, "з": -0.61, "б": -0.65, "ч": -0.74, "й": -0.92, "х": -1.14,
    "ж": -1.17, "ш": -1.42, "ю": -1.56, "ц": -1.84, "щ": -2.13, "э": -2.25, "ф": -2.46, "ъ": -2.5,
    "ё": -2.5,
}
# fmt: on
_SYMBOL_COST = -3.0  # a box-drawing character or foreign letter where Russian text has letters
# Non-ASCII characters that ordinary Russian text contains besides letters; neither reward nor
# penalty, because wrong decodings produce them too.
_NEUTRAL = frozenset("«»—–…№“”„‘’•°§·\u00a0\u00ad")
_SCORE_SAMPLE = 64 * 1024
# Below this, a "Russian" reading of text that charset-normalizer placed elsewhere is not trusted.
_MIN_RUSSIAN_SCORE = 0.0


def decode_bytes(data: bytes) -> str:
    """Bytes of unknown encoding to text, getting Russian legacy encodings right.

    Old agency documents are cp1251 or koi8-r without any declaration, and generic detectors mix
    these up on short texts, which would silently index gibberish; hence the Russian-specific
    check on top of charset-normalizer.
    """
    text = _decode(data)
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    reject_binary(text)
    return text


def _decode(data: bytes) -> str:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                raise ReadError(f"broken {encoding.upper()} text (invalid byte sequence)") from None
    utf16 = _sniff_utf16(data)
    if utf16:
        try:
            return data.decode(utf16)
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return _mostly_utf8(data) or _guess_legacy(data)


def _mostly_utf8(data: bytes) -> str | None:
    """A UTF-8 file with a few broken bytes (cut mid-character, one pasted cp1251 word) is still
    UTF-8; guessing a legacy encoding for it would garble every Russian letter in it."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    valid = len(text) - len(text.encode("ascii", errors="ignore")) - broken  # non-ASCII letters
    return text if valid >= 20 * broken else None


def _sniff_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM is valid UTF-8 when mostly ASCII (every other byte NUL), so catch it
    before the UTF-8 attempt would turn it into NUL-riddled 'binary'."""
    sample = data[:4096]
    if len(sample) < 4 or len(data) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0), odd.count(0)
    if zeros_odd >= max(2, len(odd) // 10) and zeros_even == 0:
        return "utf-16-le"
    if zeros_even >= max(2, len(even) // 10) and zeros_odd == 0:
        return "utf-16-be"
    return None


def _guess_legacy(data: bytes) -> str:
    try:
        best = charset_normalizer.from_bytes(data).best()
    except Exception:  # the detector is heuristic code; a crash in it must not lose the file
        best = None
    detected = str(best) if best is not None else None
    detected_encoding = _codec_name(best.encoding) if best is not None else None

    russian = _best_russian_decoding(data)
    if russian is None:
        return detected if detected is not None else data.decode("utf-8", errors="replace")
    encoding, score = russian
    if detected is None:
        if score >= _MIN_RUSSIAN_SCORE:
            return data.decode(encoding)
        return data.decode("utf-8", errors="replace")  # replacement characters mark it as binary
    if detected_encoding == encoding:
        return detected
    detected_score = _russian_score(detected[:_SCORE_SAMPLE])
    if detected_encoding in _CYRILLIC_FAMILY or _has_cyrillic(detected[:_SCORE_SAMPLE]):
        return data.decode(encoding) if score > detected_score else detected
    # charset-normalizer saw some non-Cyrillic script; only a clearly Russian reading overrides it
    if score >= _MIN_RUSSIAN_SCORE and score > detected_score:
        return data.decode(encoding)
    return detected


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name.replace("-", "_")
    except LookupError:
        return encoding


def _best_russian_decoding(data: bytes) -> tuple[str, float] | None:
    """The Russian single-byte encoding whose reading of the text looks most like Russian."""
    sample = data[:_SCORE_SAMPLE]
    if not any(byte >= 0x80 for byte in sample):
        return None
    best: tuple[str, float] | None = None
    for encoding in _CYRILLIC_CANDIDATES:
        try:
            data.decode(encoding)  # must decode as a whole, not only the sample
        except UnicodeDecodeError:
            continue
        score = _russian_score(sample.decode(encoding))
        if best is None or score > best[1]:
            best = (encoding, score)
    return best


def _russian_score(text: str) -> float:
    """How Russian-like the non-ASCII characters of a decoding are: about 0.4 for real Russian,
    below zero for wrong decodings.

    A wrong single-byte decoding of Russian shuffles letters (frequent ones become rare ones),
    flips case (koi8-r and cp1251 swap the lower- and upper-case ranges: "иНВЕСТИЦИИ") or turns
    letters into symbols and box drawing. Letter frequencies catch the first, the case pattern
    inside words the second, a flat cost per foreign symbol the third.
    """
    total = 0
    score = 0.0
    prev = " "
    for i, char in enumerate(text):
        if char < "\x80":
            prev = char
            continue
        total += 1
        lower = char.lower()
        if lower in _LETTER_LOG_ODDS:
            odds = _LETTER_LOG_ODDS[lower]
            nxt = text[i + 1] if i + 1 < len(text) else " "
            if _is_latin_letter(prev) or _is_latin_letter(nxt):
                score += _SYMBOL_COST  # "RИsumИ": Russian words never mix in Latin letters
            elif char == lower:
                score += odds
            elif prev.lower() in _LETTER_LOG_ODDS and prev == prev.lower():
                score += _SYMBOL_COST  # a capital inside a lower-case word
            elif nxt in _LETTER_LOG_ODDS:
                score += max(odds, 0.0) + 0.5  # a capitalised word: any letter may start one
            else:
                score += odds  # all capitals (ИНН, ЭКОНОМИКА) or a one-letter word
        elif char not in _NEUTRAL and not char.isspace():
            score += _SYMBOL_COST
        prev = char
    return score / total if total else 0.0


def _is_latin_letter(char: str) -> bool:
    return ("a" <= char <= "z") or ("A" <= char <= "Z")


def _has_cyrillic(text: str) -> bool:
    return any("\u0400" <= char <= "\u04ff" for char in text)


def reject_binary(text: str) -> None:
    """Images or archives renamed to .txt decode to control characters; indexing them would
    flood search with junk tokens."""
    sample = text[:_SCORE_SAMPLE]
    if not sample:
        return
    bad = sum(
        1 for char in sample if char == "\ufffd" or (unicodedata.category(char) == "Cc" and char not in "\t\n\r\f\v")
    )
    if bad > max(2, len(sample) // 100):
        raise ReadError("binary data, not text")
