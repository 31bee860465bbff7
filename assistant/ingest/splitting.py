"""Sentence segmentation and chunking with exact character offsets.

Sentences never cross a block (line, paragraph, list item or heading). A boundary is a
``.``, ``!``, ``?`` or ``…`` (with closing quotes, brackets and reference marks such as
``[1][3]`` attached) followed by white space and a capital, digit, quote or bracket, unless
the word before it is a known abbreviation or a single initial (``Dr.``, ``e.g.``, ``U.S.``,
``J. A.``). Decimals (``4.7``) never match because no space follows the dot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.ingest.cleaning import label_blocks
from assistant.models import Block, Chunk, ChunkingSettings, Document, Sentence
from assistant.patterns import REFERENCE_MARK

ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft vs etc al e.g i.e cf approx fig figs no nos vol pp ed eds
    inc ltd co corp dept univ est jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u
    ph.d m.d b.sc m.sc d.c a.m p.m ca resp ref refs eq eqs sec chap gen gov rev sgt col lt capt
    op cit ibid viz""".split()
)

_BOUNDARY = re.compile(
    r"""(?:[.!?]+|…)            # terminal punctuation
        ["”’')\]]*              # closing quotes or brackets
        (?:""" + REFERENCE_MARK.pattern + r""")*   # reference marks like [1][3-5]
        (?=\s+["“‘'(\[]?[A-Z0-9•\-*])  # white space, then a likely sentence start
    """,
    re.VERBOSE,
)
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")
_BULLET_PREFIX = re.compile(r"^\s*(?:[-*•‣◦▪●–]|\d{1,3}[.)])\s+")
_TERMINAL_END = re.compile(r"(?:[.!?]|…)[\"”’')\]]*(?:" + REFERENCE_MARK.pattern + r")*$")
_TRUNCATED_END = re.compile(r"(?:\.\.\.|…)[\"”’')\]]*$")
_ALPHA_WORD = re.compile(r"[^\W\d_]{2,}")


def _is_abbreviation(text: str, dot_index: int) -> bool:
    """True when the '.' at ``dot_index`` ends an abbreviation or an initial."""
    match = _WORD_BEFORE.search(text[max(0, dot_index - 12) : dot_index + 1])
    if not match:
        return False
    word = match.group(1)
    if len(word) == 1 and word.isupper():
        return True  # an initial: "J. A. Bueren"
    return word.lower().rstrip(".") in ABBREVIATIONS


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]`` (one block), trimmed of white space."""
    spans = []
    cursor = start
    block = text[start:end]
    marker = _BULLET_PREFIX.match(block)  # "1. item": the list number's dot is no boundary
    for match in _BOUNDARY.finditer(block):
        if marker and match.start() < marker.end():
            continue
        stop = start + match.end()
        punct = block[match.start()]
        if punct == "." and _is_abbreviation(text, start + match.start()):
            continue
        spans.append((cursor, stop))
        cursor = stop
    spans.append((cursor, end))
    trimmed = []
    for s, e in spans:
        piece = text[s:e]
        lead = len(piece) - len(piece.lstrip())
        s, e = s + lead, s + len(piece.rstrip())
        bullet = _BULLET_PREFIX.match(text[s:e])
        if bullet:
            s += bullet.end()
        if e > s:
            trimmed.append((s, e))
    return trimmed


def is_answerable(sentence: str, bullet: bool) -> bool:
    """Whether a sentence may be quoted as an answer: a complete statement, not a heading,
    question, lead-in ending in ':' or a truncated fragment ending in '...'."""
    words = _ALPHA_WORD.findall(sentence)
    if len(words) < 4 or _TRUNCATED_END.search(sentence):
        return False
    stripped = sentence.rstrip()
    if stripped.endswith("?") or stripped.endswith(":"):
        return False
    letters = sum(ch.isalpha() for ch in sentence)
    if letters < 0.5 * len(stripped):
        return False
    return bool(_TERMINAL_END.search(stripped)) or (bullet and len(words) >= 5)


def split_document(document: Document, blocks: list[Block] | None = None) -> list[Sentence]:
    """All sentences of the document's content blocks, in order, with their section heading."""
    text = document.text
    if blocks is None:
        blocks = label_blocks(text)
    sentences: list[Sentence] = []
    heading = ""
    for block in blocks:
        if block.kind == "heading":
            heading = " ".join(text[block.start : block.end].split()).lstrip("#").strip()
            continue
        if block.kind != "content":
            continue
        for s, e in sentence_spans(text, block.start, block.end):
            sentences.append(
                Sentence(
                    doc_id=document.doc_id,
                    start=s,
                    end=e,
                    text=text[s:e],
                    heading=heading,
                    answerable=is_answerable(text[s:e], block.bullet),
                    position=len(sentences),
                )
            )
    return sentences


def _runs(document: Document, sentences: list[Sentence]) -> Iterable[list[Sentence]]:
    """Groups of consecutive sentences with only white space between them (same section)."""
    run: list[Sentence] = []
    for sentence in sentences:
        if run:
            gap = document.text[run[-1].end : sentence.start]
            if gap.strip() and not _BULLET_PREFIX.match(gap.lstrip("\r\n")) or sentence.heading != run[-1].heading:
                yield run
                run = []
        run.append(sentence)
    if run:
        yield run


def chunk_sentences(document: Document, sentences: list[Sentence], settings: ChunkingSettings) -> list[Chunk]:
    """Windows of whole sentences of at most ``max_words`` words (a longer sentence stands
    alone), overlapping by ``overlap_sentences``; never across a heading or a skipped block.

    ``sentences`` must carry their final ``sentence_id``.
    """
    chunks: list[Chunk] = []
    for run in _runs(document, sentences):
        i = 0
        while i < len(run):
            j, count = i, 0
            while j < len(run):
                n = len(run[j].text.split())
                if j > i and count + n > settings.max_words:
                    break
                count += n
                j += 1
            window = run[i:j]
            start, end = window[0].start, window[-1].end
            chunks.append(
                Chunk(
                    chunk_id=f"{document.doc_id}#{len(chunks)}",
                    doc_id=document.doc_id,
                    start=start,
                    end=end,
                    text=document.text[start:end],
                    heading=window[0].heading,
                    sentence_ids=[s.sentence_id for s in window],
                )
            )
            if j >= len(run):
                break
            i = max(i + 1, j - settings.overlap_sentences)
    return chunks
