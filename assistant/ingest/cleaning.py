"""Cleaning: label each block of a document as content, heading or boilerplate.

Nothing is removed from the text (offsets never shift); boilerplate blocks are simply never
chunked or cited. The method is general and has no list of phrases from any site:

1. per block, the jusText features (length, stop-word density, link-like or copyright
   marks) give an initial class: good, near-good, short or bad;
2. jusText's context rules revise short and near-good blocks by their neighbours;
3. lines repeated within a document or across documents (logos, menus, teasers) are bad;
4. the main text is the run of blocks with the largest net amount of good text (as in
   Body Text Extraction); good blocks far from it (teasers, footers, sidebars) are dropped
   unless they form a substantial run of their own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from assistant.ingest.lines import (
    BULLET,
    DATE_ONLY,
    MARKDOWN_HEADING,
    TERMINAL,
    is_heading_like,
    normalize_line,
    split_blocks,
    split_lines,
)
from assistant.lexical import STOP_WORDS, stem, stop_word_density, words
from assistant.models import Block
from assistant.patterns import REFERENCE_MARK

LENGTH_LOW = 70
LENGTH_HIGH = 200
STOPWORDS_LOW = 0.15
STOPWORDS_HIGH = 0.22
MIN_TOPICAL_OVERLAP = 0.5
MAX_HEADING_DISTANCE = 200
MIN_SECONDARY_REGION = 400

_CODE_SYMBOLS = re.compile(r"[{}<>=|\\\"]|(?!" + REFERENCE_MARK.pattern + r")\[|-->|->")  # "[" outside a reference mark
_COPYRIGHT = re.compile(r"©|&copy;|\(c\)\s*\d{4}", re.I)


def capitalised_share(text: str) -> float:
    """Share of alphabetic word tokens that start with a capital letter."""
    tokens = re.findall(r"[^\W\d_][\w'’-]*", text)
    if not tokens:
        return 0.0
    return sum(1 for t in tokens if t[0].isupper()) / len(tokens)


def _initial_class(text: str, repeated: bool) -> str:
    """jusText's context-free class of one block: good, neargood, short or bad.

    Technical prose has fewer stop words than news, so the stop-word thresholds are lower
    than jusText's and paired with the share of capitalised words, which separates prose
    from menus, bylines, reference entries and product lists.
    """
    if repeated or _COPYRIGHT.search(text) or DATE_ONLY.match(text):
        return "bad"
    tokens = words(text)
    letters = sum(ch.isalpha() for ch in text)
    visible = sum(not ch.isspace() for ch in text)
    if not tokens or letters < 0.5 * visible:
        return "bad"
    if len(_CODE_SYMBOLS.findall(text)) >= 2 and len(tokens) < 12:
        return "bad"
    if len(text) < LENGTH_LOW:
        return "short"
    density = stop_word_density(text)
    capitals = capitalised_share(text)
    # Long sentences full of names (affiliations, titles) are still prose.
    max_capitals = 0.7 if len(text) > LENGTH_HIGH and TERMINAL.search(text) else 0.4
    if density >= STOPWORDS_HIGH and capitals < max_capitals:
        return "good" if len(text) > LENGTH_HIGH else "neargood"
    if density >= STOPWORDS_LOW and capitals < 0.35:
        return "neargood"
    return "bad"


def _neighbour(classes: list[str], i: int, step: int, ignore_neargood: bool) -> str:
    j = i + step
    while 0 <= j < len(classes):
        if classes[j] in ("good", "bad"):
            return classes[j]
        if classes[j] == "neargood" and not ignore_neargood:
            return "neargood"
        j += step
    return "bad"


def revise_classes(initial: list[str], texts: list[str], heading_like: list[bool]) -> list[str]:
    """jusText's context rules: short/near-good blocks take the class their neighbours suggest."""
    classes = list(initial)
    for i, cls in enumerate(classes):
        if heading_like[i] and cls == "short":
            distance, j = 0, i + 1
            while j < len(classes) and distance <= MAX_HEADING_DISTANCE:
                if classes[j] == "good":
                    classes[i] = "neargood"
                    break
                distance += len(texts[j])
                j += 1
    revised = list(classes)
    for i, cls in enumerate(classes):
        if cls != "short":
            continue
        prev, nxt = _neighbour(classes, i, -1, True), _neighbour(classes, i, 1, True)
        if prev == nxt:
            revised[i] = prev
        elif (prev == "bad" and _neighbour(classes, i, -1, False) == "neargood") or (
            nxt == "bad" and _neighbour(classes, i, 1, False) == "neargood"
        ):
            revised[i] = "good"
        else:
            revised[i] = "bad"
    for i, cls in enumerate(classes):
        if cls == "neargood":
            pair = (_neighbour(classes, i, -1, True), _neighbour(classes, i, 1, True))
            revised[i] = "bad" if pair == ("bad", "bad") else "good"
    return revised


def _block_weight(length: int, initial: str, final: str) -> float:
    if initial == "short":
        return -min(20.0 + length / 2, 60.0)
    if final == "good":
        return float(length) if initial == "good" else 0.5 * length
    return -float(min(length, 200))


def topical_overlap(text: str, vocabulary: set[str]) -> float:
    """Share of a block's content words that occur in ``vocabulary``."""
    content = [stem(w) for w in words(text) if w not in STOP_WORDS and not w.isdigit()]
    if not content:
        return 0.0
    return sum(1 for w in content if w in vocabulary) / len(content)


def _max_run(weights: list[float], lo: int, hi: int) -> tuple[float, int, int]:
    """Largest-sum contiguous run within ``weights[lo:hi]`` (Kadane): (sum, start, end)."""
    best, best_span = 0.0, (lo, lo)
    total, start = 0.0, lo
    for i in range(lo, hi):
        if total <= 0:
            total, start = 0.0, i
        total += weights[i]
        if total > best:
            best, best_span = total, (start, i + 1)
    return best, best_span[0], best_span[1]


def main_regions(weights: list[float]) -> list[tuple[int, int]]:
    """The largest net-good run of blocks, plus other runs of substantial size on either side."""
    regions: list[tuple[int, int]] = []
    pending = [(0, len(weights))]
    main_score = None
    while pending:
        lo, hi = pending.pop()
        if hi <= lo:
            continue
        score, start, end = _max_run(weights, lo, hi)
        threshold = MIN_SECONDARY_REGION if main_score is not None else 0.0
        if score <= threshold or end <= start:
            continue
        if main_score is None:
            main_score = score
        regions.append((start, end))
        pending.extend([(lo, start), (end, hi)])
    return sorted(regions)


def label_blocks(text: str, repeated_lines: Iterable[str] = ()) -> list[Block]:
    """Split ``text`` into blocks and label each content, heading or boilerplate."""
    spans = split_blocks(text)
    if not spans:
        return []
    texts = [text[s:e] for s, e, _ in spans]
    normalized = [normalize_line(t) for t in texts]
    counts = Counter(normalized)
    external = set(repeated_lines)
    repeated = [
        bool(n) and ((counts[n] > 1 and len(t) < LENGTH_HIGH) or n in external)
        for n, t in zip(normalized, texts)
    ]
    heading_like = [is_heading_like(t) and not r for t, r in zip(texts, repeated)]
    initial = [_initial_class(t, r) for t, r in zip(texts, repeated)]
    # A list is judged as a whole: three short prose items make a paragraph, a menu does not.
    i = 0
    while i < len(spans):
        if not spans[i][2]:
            i += 1
            continue
        j = i
        while j < len(spans) and spans[j][2]:
            j += 1
        if j - i >= 2:
            group = _initial_class(" ".join(BULLET.sub("", texts[k]) for k in range(i, j)), False)
            for k in range(i, j):
                if initial[k] == "short" or (initial[k] != "bad" and group == "good"):
                    initial[k] = group if not repeated[k] else "bad"
        i = j
    final = revise_classes(initial, texts, heading_like)
    weights = [_block_weight(len(t), i, f) for t, i, f in zip(texts, initial, final)]
    inside = [False] * len(spans)
    for start, end in main_regions(weights):
        for i in range(start, end):
            inside[i] = True
    vocabulary = {stem(w) for i, t in enumerate(texts) if inside[i] and final[i] == "good" for w in words(t)}
    for i, text_i in enumerate(texts):
        # Good prose outside the main run (a standfirst, a closing paragraph) is kept when it
        # is about what the main text is about; teasers, promotions and disclaimers are not.
        if not inside[i] and final[i] == "good" and initial[i] in ("good", "neargood"):
            inside[i] = topical_overlap(text_i, vocabulary) >= MIN_TOPICAL_OVERLAP
    if not any(inside[i] and final[i] == "good" for i in range(len(spans))):
        # A short note has no long paragraph for the context rules to anchor on: keep every
        # block that reads as a sentence (ends like one, has a few words, is not chrome).
        final = ["good" if initial[i] != "bad" and TERMINAL.search(t) and len(words(t)) >= 4 else final[i]
                 for i, t in enumerate(texts)]
        inside = [f == "good" for f in final]
    blocks = []
    for i, (start, end, bullet) in enumerate(spans):
        kind = "boilerplate"
        if heading_like[i] and initial[i] in ("short", "neargood") and _followed_by_content(i, final, inside):
            kind = "heading"
        elif inside[i] and final[i] == "good":
            kind = "content"
        blocks.append(Block(start=start, end=end, kind=kind, bullet=bullet))
    return blocks


def _followed_by_content(i: int, final: list[str], inside: list[bool]) -> bool:
    for j in range(i + 1, min(i + 4, len(final))):
        if final[j] == "good" and inside[j]:
            return True
    return False


def repeated_across_documents(texts: Iterable[str], min_documents: int = 2) -> set[str]:
    """Normalised short lines that occur in at least ``min_documents`` different documents."""
    counts: Counter[str] = Counter()
    for text in texts:
        lines = {normalize_line(text[s:e]) for s, e in split_lines(text) if e - s < LENGTH_HIGH}
        counts.update(line for line in lines if line)
    return {line for line, n in counts.items() if n >= min_documents}


def find_title(text: str, fallback: str = "") -> str:
    """The document's title: its first heading-like line whose words recur in the body.

    Looks at the lines before the first long paragraph; prefers a line whose content words
    appear elsewhere in the text (a site menu's words usually do not).
    """
    lines = split_lines(text)
    body_terms = Counter(words(text))
    candidates = []
    for start, end in lines[:15]:
        line = text[start:end]
        if len(line) >= LENGTH_HIGH:
            break
        line = MARKDOWN_HEADING.sub("", line).strip()
        if not is_heading_like(line) or BULLET.match(line):
            continue
        content = [w for w in words(line) if w not in STOP_WORDS and not w.isdigit()]
        if not content:
            continue
        recurring = sum(1 for w in content if body_terms[w] > 1) / len(content)
        candidates.append((recurring, line))
    for recurring, line in candidates:
        if recurring >= 0.5:
            return line
    if candidates:
        return max(candidates, key=lambda c: c[0])[1]
    for start, end in lines:
        return text[start:end][:120]
    return fallback
