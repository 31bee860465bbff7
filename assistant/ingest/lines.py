"""Lines and blocks of a document's text, as character spans, and which lines look like headings.

The units that ``cleaning`` labels and ``splitting`` never crosses; also used to find claims in
a pasted text (``check.citation_input``).
"""

from __future__ import annotations

import re

from assistant.lexical import STOP_WORDS, words
from assistant.patterns import REFERENCE_MARK

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")

BULLET = re.compile(r"^\s*(?:[-*•‣◦▪●–]|\d{1,3}[.)])\s+")

MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")

TERMINAL = re.compile(r"[.!?…:;]['\"”’)\]]*(?:" + REFERENCE_MARK.pattern + r")*\s*$")

DATE_ONLY = re.compile(r"^[\W\d]*(?:\w+\s+){0,3}\d{1,4}[\W\d]*$")



def normalize_line(text: str) -> str:
    """Lower-case words of a line joined by single spaces (for repetition counts)."""
    return " ".join(words(text))



def split_lines(text: str) -> list[tuple[int, int]]:
    """Spans of non-blank lines, trimmed of surrounding whitespace."""
    spans = []
    for match in _LINE.finditer(text):
        line = match.group(0)
        if not line:
            break
        stripped = line.strip()
        if not stripped:
            continue
        start = match.start() + (len(line) - len(line.lstrip()))
        spans.append((start, start + len(stripped)))
    return spans



def _is_hard_wrapped(text: str, lines: list[tuple[int, int]]) -> bool:
    lengths = [end - start for start, end in lines]
    if len(lengths) < 8:
        return False
    long_lines = [n for n in lengths if n >= 40]
    return len(long_lines) >= 0.5 * len(lengths) and max(lengths) <= 100



def split_blocks(text: str) -> list[tuple[int, int, bool]]:
    """Blocks as ``(start, end, is_bullet)``: one per line, or per paragraph in hard-wrapped text.

    In hard-wrapped text (every line at most 100 characters), consecutive lines join into one
    block unless the next starts a list item or heading or the previous one ends a sentence
    and is short.
    """
    lines = split_lines(text)
    wrapped = _is_hard_wrapped(text, lines)
    blocks: list[list[int]] = []
    for start, end in lines:
        line = text[start:end]
        bullet = bool(BULLET.match(line))
        if blocks and wrapped and not bullet and not MARKDOWN_HEADING.match(line):
            prev_start, prev_end, _ = blocks[-1]
            gap = text[prev_end:start]
            prev_line_len = prev_end - text.rfind("\n", 0, prev_end) - 1
            if gap.count("\n") == 1 and prev_line_len >= 40 and not MARKDOWN_HEADING.match(text[prev_start:prev_end]):
                blocks[-1][1] = end
                continue
        blocks.append([start, end, bullet])
    return [(s, e, bool(b)) for s, e, b in blocks]



def is_heading_like(text: str) -> bool:
    """A short line without sentence-final punctuation, most of whose words are capitalised or
    that is a Markdown heading."""
    if MARKDOWN_HEADING.match(text):
        return True
    tokens = re.findall(r"[^\W\d_][\w'’-]*", text)
    if not tokens or len(tokens) > 14 or len(text) > 120:
        return False
    if TERMINAL.search(text) and not text.rstrip().endswith("?"):
        return False
    if BULLET.match(text) or DATE_ONLY.match(text):
        return False
    content = [t for t in tokens if t.lower() not in STOP_WORDS]
    if not content:
        return False
    capitalised = sum(1 for t in content if t[0].isupper())
    return capitalised / len(content) >= 0.5 or len(tokens) <= 10
