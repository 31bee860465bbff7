"""Parsing a text that cites the collection into claims with the documents they cite.

Accepted inputs:
- our answer contract (``ask --json``), whose citations name documents per marker;
- Markdown or plain text with ``[n]`` markers and a reference list at the end
  (``[1] 002_8327220291109cc9.txt`` or ``[1]: a document title``);
- markers that name a document directly (``[002_8327220291109cc9.txt]``).
A quoted passage (``"..." [2]``) is kept as a quote so it can be checked verbatim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from assistant.errors import UserInputError
from assistant.ingest.lines import split_blocks
from assistant.ingest.reading import mask_html
from assistant.ingest.splitting import sentence_spans

MAX_INPUT_CHARS = 500_000
_REFERENCE_LINE = re.compile(r"^\s*\[(\d{1,4})\]:?\s+(\S.*?)\s*$")
_REFERENCE_HEADING = re.compile(r"^\s*(#+\s*)?\**(references|sources|bibliography|citations)\**:?\s*$", re.I)
_MARKER = re.compile(r"\[(\d{1,4}(?:\s*[,;–-]\s*\d{1,4})*|[^\[\]\n]{1,200}?\.(?:txt|md|markdown|html?|jsonl))\]")
_QUOTE = re.compile(r"[\"“]([^\"“”]{12,}?)[\"”]")
# An answer's own "The documents don't say: <part>." (a part it abstained on) claims nothing to check.
_NOT_COVERED = re.compile(r"^The documents don['’]t say\b")
_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")


@dataclass
class RawClaim:
    """A claim found in the input: its text (markers removed), position and cited references."""

    text: str
    start: int
    end: int
    markers: list[str] = field(default_factory=list)
    quote: str | None = None


@dataclass
class ParsedInput:
    """Claims, the body they came from, and the reference list mapping markers to documents."""

    body: str
    claims: list[RawClaim]
    references: dict[str, str]
    errors: list[str] = field(default_factory=list)


def _expand_marker(inner: str) -> list[str]:
    """'1, 3-5' -> ['1', '3', '4', '5']; a document name stays whole."""
    if not re.fullmatch(r"[\d\s,;–-]+", inner):
        return [inner.strip()]
    out: list[str] = []
    for part in re.split(r"[,;]", inner):
        bounds = [b.strip() for b in re.split(r"[–-]", part) if b.strip()]
        if len(bounds) == 2 and int(bounds[1]) - int(bounds[0]) < 50:
            out += [str(n) for n in range(int(bounds[0]), int(bounds[1]) + 1)]
        elif bounds:
            out.append(bounds[0])
    return out


def split_references(text: str) -> tuple[str, dict[str, str]]:
    """Separate a trailing reference list (``[n] target`` lines) from the body."""
    lines = text.splitlines(keepends=True)
    references: dict[str, str] = {}
    cut = len(lines)
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if not line.strip():
            cut = i
            continue
        match = _REFERENCE_LINE.match(line)
        if match:
            references.setdefault(match.group(1), match.group(2))
            cut = i
            continue
        if references and _REFERENCE_HEADING.match(line):
            cut = i
        break
    return "".join(lines[:cut]), references


def claims_from_body(body: str) -> list[RawClaim]:
    """Sentences of the body; a sentence whose markers sit in the middle splits into clauses."""
    claims: list[RawClaim] = []
    for block_start, block_end, _ in split_blocks(body):
        for start, end in _attach_leading_markers(body, sentence_spans(body, block_start, block_end)):
            sentence = body[start:end]
            cursor = 0
            pending: list[tuple[int, int, list[str]]] = []
            for match in _MARKER.finditer(sentence):
                pending.append((cursor, match.start(), _expand_marker(match.group(1))))
                cursor = match.end()
            tail = sentence[cursor:]
            if not pending:
                claims.append(_make_claim(body, start, end, []))
                continue
            if tail.strip(" .;:!?\"”)") and len(tail.split()) >= 3:
                pending.append((cursor, len(sentence), []))
            else:
                last = pending[-1]
                pending[-1] = (last[0], len(sentence), last[2])
            merged: list[tuple[int, int, list[str]]] = []
            for seg_start, seg_end, markers in pending:
                words = len(_MARKER.sub(" ", sentence[seg_start:seg_end]).split())
                if merged and (words < 3 or not merged[-1][2] and not markers):
                    prev = merged[-1]
                    merged[-1] = (prev[0], seg_end, prev[2] + markers)
                else:
                    merged.append((seg_start, seg_end, markers))
            for seg_start, seg_end, markers in merged:
                claims.append(_make_claim(body, start + seg_start, start + seg_end, markers))
    return [c for c in claims if c.text and not _NOT_COVERED.match(c.text)]


_LEADING_MARKERS = re.compile(r"^(?:\s*" + _MARKER.pattern + r")+")


def _attach_leading_markers(body: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """'First. [1] Second. [2]' splits before each marker; give markers back to the sentence
    they follow."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        match = _LEADING_MARKERS.match(body[start:end])
        if match and out:
            prev_start, _ = out[-1]
            out[-1] = (prev_start, start + match.end())
            start += match.end()
            start += len(body[start:end]) - len(body[start:end].lstrip())
        if end > start:
            out.append((start, end))
    return out


def _make_claim(body: str, start: int, end: int, markers: list[str]) -> RawClaim:
    raw = body[start:end]
    markers = markers or [m for match in _MARKER.finditer(raw) for m in _expand_marker(match.group(1))]
    text = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(_MARKER.sub(" ", raw).split())).strip(" ,;")
    quote = None
    match = _QUOTE.search(text)
    if match and len(match.group(1).split()) >= 4:
        quote = match.group(1).strip()
    return RawClaim(text=text, start=start, end=end, markers=list(dict.fromkeys(markers)), quote=quote)


def resolve_reference(target: str, documents: Mapping[str, str]) -> str | None:
    """The document id a reference names: its id (or path ending in it) or its title."""
    cleaned = target.strip().strip("<>`*\"'“”").strip()
    if cleaned in documents:
        return cleaned
    for doc_id in documents:
        if cleaned.endswith("/" + doc_id) or cleaned.split()[0:1] == [doc_id]:
            return doc_id
    wanted = " ".join(re.findall(r"\w+", cleaned.lower()))
    for doc_id, title in documents.items():
        normalized = " ".join(re.findall(r"\w+", title.lower()))
        if normalized and (wanted == normalized or wanted.startswith(normalized)):
            return doc_id
    for doc_id in documents:
        if doc_id in cleaned:
            return doc_id
    return None


def parse_input(text: str, documents: Mapping[str, str]) -> ParsedInput:
    """Claims and resolved references of a pasted text; ``documents`` maps id -> title.

    Raises UserInputError for empty or oversized input.
    """
    if not text or not text.strip():
        raise UserInputError("nothing to check: the text is empty")
    if len(text) > MAX_INPUT_CHARS:
        raise UserInputError(f"the text is {len(text):,} characters long; the limit is {MAX_INPUT_CHARS:,}")
    errors: list[str] = []
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            contract = json.loads(stripped)
        except ValueError:
            contract = None
        except RecursionError as exc:
            raise UserInputError("the answer JSON is nested too deeply to read") from exc
        if isinstance(contract, dict) and "text" in contract and "citations" in contract:
            problem = contract_problem(contract)
            if problem:
                raise UserInputError(f"malformed answer JSON: {problem}")
            return _parse_contract(contract, documents)
    if _HTML_TAG.search(text):
        text = mask_html(text)
    body, raw_refs = split_references(text)
    references: dict[str, str] = {}
    for marker, target in raw_refs.items():
        doc_id = resolve_reference(target, documents)
        if doc_id is None:
            errors.append(f"reference [{marker}] names an unknown document: {target[:100]}")
        else:
            references[marker] = doc_id
    claims = claims_from_body(body)
    for claim in claims:
        for marker in claim.markers:
            if marker.isdigit() and marker not in references and marker not in raw_refs:
                message = (f"marker [{marker}] points to nothing (no reference [{marker}] in the list)" if raw_refs
                           else f"marker [{marker}] has no reference list to point to")
                if message not in errors:
                    errors.append(message)
            elif not marker.isdigit() and marker not in documents:
                if resolve_reference(marker, documents) is None:
                    errors.append(f"marker [{marker}] names an unknown document")
    return ParsedInput(body=body, claims=claims, references=references, errors=errors)


def contract_problem(contract: dict) -> str | None:
    """What makes an answer contract unusable for checking (naming the field), or None.

    ``text`` must be a string, ``citations`` a list (or null) of objects whose ``marker`` is a
    whole number (or its digits) and whose ``doc`` is a string."""
    if not isinstance(contract.get("text"), str):
        return f"field 'text' must be a string, not {_json_type(contract.get('text'))}"
    citations = contract.get("citations")
    if citations is None:
        return None
    if not isinstance(citations, list):
        return f"field 'citations' must be a list, not {_json_type(citations)}"
    for i, citation in enumerate(citations):
        if not isinstance(citation, dict):
            return f"field 'citations[{i}]' must be an object, not {_json_type(citation)}"
        marker = citation.get("marker")
        if isinstance(marker, bool) or not (isinstance(marker, int) or (isinstance(marker, str) and marker.isdigit())):
            return f"field 'citations[{i}].marker' must be a whole number, not {_json_type(marker)}"
        if not isinstance(citation.get("doc"), str):
            return f"field 'citations[{i}].doc' must be a string, not {_json_type(citation.get('doc'))}"
    return None


def _json_type(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
             dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _parse_contract(contract: dict, documents: Mapping[str, str]) -> ParsedInput:
    references = {}
    errors = []
    for citation in contract.get("citations") or []:
        marker, doc = str(citation.get("marker")), str(citation.get("doc"))
        if doc in documents:
            references[marker] = doc
        else:
            errors.append(f"citation [{marker}] names an unknown document: {doc}")
    body = str(contract.get("text") or "")
    if not body.strip():
        raise UserInputError("nothing to check: the answer has no text")
    return ParsedInput(body=body, claims=claims_from_body(body), references=references, errors=errors)
