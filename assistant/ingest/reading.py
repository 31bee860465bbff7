"""Corpus reading: a folder of .txt/.md/.html files, or a JSONL file of documents.

Every document keeps its full decoded text so offsets index the original file. HTML markup,
scripts and styles are blanked to spaces (newlines for block tags) instead of removed, so
``text`` has exactly the length of the decoded file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import UserInputError
from assistant.ingest.dates import find_date, parse_date
from assistant.ingest.pdf_text import PdfText, read_pdf
from assistant.ingest.titles import document_title
from assistant.models import Document

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".pdf": "pdf"}
MAX_FILE_BYTES = 10 * 1024 * 1024  # like uploads; 50 MB of text took ~3 min and 1.4 GB with the fake embedder

_BLOCK_TAGS = (
    "p|div|br|h[1-6]|li|ul|ol|tr|td|th|table|section|article|header|footer|nav|aside|"
    "blockquote|pre|hr|title|dt|dd|figcaption|figure|main|form"
)
# an element never closed (a truncated page) hides the rest of the document, as in a browser
_HIDDEN_ELEMENT = re.compile(r"<(script|style|noscript|template|svg)\b.*?(?:</\1\s*>|\Z)", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"<[/!?]?[a-zA-Z][^<>]*>|<!--|-->")
_BLOCK_TAG = re.compile(rf"</?({_BLOCK_TAGS})\b", re.I)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class CorpusReadResult:
    """Documents read plus warnings for files that were skipped."""

    documents: list[Document] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def decode_bytes(data: bytes, name: str) -> str:
    """Decode a text file: UTF-8 (BOM allowed), UTF-16 with a BOM, else Windows-1252.

    Raises UserInputError for binary content (NUL bytes or many control characters).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UserInputError(f"{name}: invalid UTF-16 text ({exc.reason})") from exc
    if b"\x00" in data:
        raise UserInputError(f"{name}: looks binary (contains NUL bytes), skipped")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        log.warning("%s: not valid UTF-8, decoded as Windows-1252", name)
    controls = sum(1 for ch in text[:20000] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(text[:20000]) // 100):
        raise UserInputError(f"{name}: looks binary (control characters), skipped")
    return text


def mask_html(html: str) -> str:
    """Blank markup to spaces, keeping length: scripts/styles/comments/tags become whitespace.

    Block-level tags become a newline followed by spaces so paragraphs stay separate.
    """
    chars = list(html)

    def blank(start: int, end: int, newline: bool) -> None:
        for i in range(start, end):
            chars[i] = " "
        if newline and end > start:
            chars[start] = "\n"

    for match in _HIDDEN_ELEMENT.finditer(html):
        blank(match.start(), match.end(), True)
    for match in _COMMENT.finditer(html):
        blank(match.start(), match.end(), False)
    masked = "".join(chars)
    for match in _TAG.finditer(masked):
        blank(match.start(), match.end(), bool(_BLOCK_TAG.match(match.group(0))))
    return "".join(chars)


def make_document(doc_id: str, raw: str, source_format: str, mtime: float | None = None,
                  pdf: PdfText | None = None) -> Document:
    """Build a Document from decoded text; HTML is masked, everything else kept as is. Its title
    comes from ``titles.document_title`` and its date from ``find_date`` (``mtime``, the file's
    time, is the last resort); ``pdf`` is the PDF reader's metadata for a PDF."""
    # a lone surrogate (a JSON "\\ud800" escape) cannot be written as UTF-8: U+FFFD keeps every offset
    raw = _LONE_SURROGATE.sub("\ufffd", raw)
    text = mask_html(raw) if source_format == "html" else raw
    dated = find_date(raw, text, source_format, mtime, pdf_date=pdf.date if pdf else None)
    return Document(
        doc_id=doc_id,
        title=document_title(doc_id, raw, text, source_format, pdf.title if pdf else None,
                             pdf.first_page_end if pdf else None),
        text=text,
        sha256=sha256_text(raw),
        source_format=source_format,  # type: ignore[arg-type]
        date=dated.date if dated else None,
        date_source=dated.source if dated else None,
    )


def read_file(path: Path, doc_id: str) -> Document:
    """Read one supported file into a Document; raises UserInputError with a one-line reason."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UserInputError(f"{doc_id}: unsupported file type {suffix or '(none)'}, skipped")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UserInputError(f"{doc_id}: {size} bytes is over the {MAX_FILE_BYTES // (1024 * 1024)} MB limit "
                                 "for one document, skipped (split it into smaller files)")
        if suffix == ".pdf":  # read in a child process, with limits; the file stays a PDF
            reading = read_pdf(path, doc_id)
            return make_document(doc_id, reading.text, "pdf", mtime=path.stat().st_mtime, pdf=reading)
        data = path.read_bytes()
    except OSError as exc:
        raise UserInputError(f"{doc_id}: cannot read ({exc.strerror or exc}), skipped") from exc
    text = decode_bytes(data, doc_id)
    if not text.strip():
        raise UserInputError(f"{doc_id}: empty document, skipped")
    return make_document(doc_id, text, SUPPORTED_SUFFIXES[suffix], mtime=path.stat().st_mtime)


def link_outside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (inside ``folder``) is, or lies under, a symbolic link whose target leaves
    ``folder`` or lands in a hidden part of it (such as the trash)."""
    real_folder = folder.resolve()
    try:
        real = path.resolve(strict=True).relative_to(real_folder)
    except (OSError, RuntimeError, ValueError):  # a broken link, a loop, or a target outside
        return True
    return any(part.startswith(".") for part in real.parts)


def read_folder(folder: Path) -> CorpusReadResult:
    """Read every supported file under ``folder`` (recursively, hidden files such as the trash
    skipped). Symbolic links are followed only while their target stays inside ``folder``."""
    if not folder.exists():
        raise UserInputError(f"corpus folder not found: {folder}")
    if not folder.is_dir():
        raise UserInputError(f"corpus is not a folder: {folder}")
    result = CorpusReadResult()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if link_outside(path, folder):
            result.warnings.append(f"{rel.as_posix()}: a link that leads outside the corpus folder (or nowhere), skipped")
            continue
        if not path.is_file():
            continue
        doc_id = rel.as_posix()
        if _LONE_SURROGATE.search(doc_id):  # a file name that is not valid UTF-8 cannot be stored or cited
            shown = doc_id.encode("utf-8", "backslashreplace").decode("utf-8")
            result.warnings.append(f"{shown}: the file name is not valid UTF-8 (rename the file), skipped")
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            result.warnings.append(f"{doc_id}: unsupported file type, skipped")
            continue
        try:
            result.documents.append(read_file(path, doc_id))
        except UserInputError as exc:
            result.warnings.append(str(exc))
    return result


def jsonl_lines(path: Path, what: str) -> list[tuple[int, str]]:
    """(line number, line) of the non-blank lines of a UTF-8 JSONL file; UserInputError naming
    ``what`` the file is when it cannot be read."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"cannot read {what} {path}: {exc}") from exc
    return [(number, line) for number, line in enumerate(lines, 1) if line.strip()]


def read_jsonl(path: Path) -> CorpusReadResult:
    """Read a JSONL corpus: one ``{"doc_id", "text", "title"?}`` object per line."""
    result = CorpusReadResult()
    for number, line in jsonl_lines(path, "corpus file"):
        try:
            row = json.loads(line)
            doc_id, text = _LONE_SURROGATE.sub("\ufffd", str(row["doc_id"])), str(row["text"])
        except (ValueError, KeyError, TypeError):
            result.warnings.append(f"{path.name} line {number}: not a JSON object with doc_id and text, skipped")
            continue
        if not text.strip():
            result.warnings.append(f"{path.name} line {number}: empty text, skipped")
            continue
        if len(text) > MAX_FILE_BYTES:
            result.warnings.append(f"{path.name} line {number}: {doc_id} has {len(text)} characters, over the "
                                   f"{MAX_FILE_BYTES // (1024 * 1024)} MB limit for one document, skipped")
            continue
        doc = make_document(doc_id, text, "jsonl")
        if row.get("title"):
            doc = doc.model_copy(update={"title": _LONE_SURROGATE.sub("\ufffd", str(row["title"]))})
        if row.get("date") and parse_date(str(row["date"])):
            doc = doc.model_copy(update={"date": parse_date(str(row["date"])), "date_source": "meta"})
        result.documents.append(doc)
    return result


def read_corpus(source: Path) -> CorpusReadResult:
    """Read a corpus folder or JSONL file. Raises UserInputError when nothing usable is found."""
    if source.is_file() and source.suffix.lower() == ".jsonl":
        result = read_jsonl(source)
    elif source.is_file():
        result = CorpusReadResult()
        result.documents.append(read_file(source, source.name))
    else:
        result = read_folder(source)
    seen: set[str] = set()
    for doc in result.documents:
        if doc.doc_id in seen:
            raise UserInputError(f"duplicate document id {doc.doc_id} in {source}")
        seen.add(doc.doc_id)
    if not result.documents:
        detail = f" ({'; '.join(result.warnings[:3])})" if result.warnings else ""
        raise UserInputError(f"no readable .txt, .md or .html documents in {source}{detail}")
    return result
