"""A document's title: what the document says its title is, else a readable file name.

In order: the HTML ``<title>``, a PDF's metadata title, a Markdown ``#`` heading, the first
heading-like line (``cleaning.find_title``; for a PDF only its first page is searched), else the
file name without folders, extension and content hash (``002_8327220291109cc9.txt`` -> ``002``).
"""

from __future__ import annotations

import html
import re
from pathlib import PurePosixPath

from assistant.ingest.cleaning import find_title

MAX_TITLE_CHARS = 200
_HTML_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_MARKDOWN_H1 = re.compile(r"^ {0,3}#[ \t]+(.+?)[ \t#]*$", re.M)
_HASH = re.compile(r"(?:^|[_\-. ])(?=[a-f]*\d)[0-9a-f]{12,64}(?=$|[_\-. ])", re.I)
_SEPARATORS = re.compile(r"[_\s]+")
# a PDF metadata title that only names the file or the program that wrote it
_PLACEHOLDER = re.compile(r"^(untitled|microsoft word\b.*|.*\.(docx?|pdf|tex|odt|rtf))$", re.I)


def clean_title(value: str | None) -> str | None:
    """Whitespace collapsed and cut to 200 characters; None when nothing is left."""
    value = " ".join((value or "").split())
    return value[:MAX_TITLE_CHARS] or None


def file_name_title(doc_id: str) -> str:
    """A title from a file name: no folders or extension, no hash, separators as spaces."""
    stem = PurePosixPath(doc_id).stem or doc_id
    readable = clean_title(_SEPARATORS.sub(" ", _HASH.sub("", stem)).strip(" -.")) or clean_title(stem)
    return readable or doc_id


def html_title(raw: str) -> str | None:
    """The text of an HTML document's ``<title>`` element (entities decoded), or None."""
    match = _HTML_TITLE.search(raw[:200_000])
    return clean_title(html.unescape(re.sub(r"<[^>]*>", " ", match.group(1)))) if match else None


def markdown_title(text: str) -> str | None:
    """The first level-one ``# heading`` of a Markdown text, or None."""
    match = _MARKDOWN_H1.search(text[:200_000])
    return clean_title(match.group(1)) if match else None


def pdf_title(metadata_title: str | None) -> str | None:
    """A PDF's metadata title unless it is empty or a placeholder ("Untitled", "report.docx")."""
    title = clean_title(metadata_title)
    return None if title is None or _PLACEHOLDER.match(title) else title


def document_title(doc_id: str, raw: str, text: str, source_format: str, metadata_title: str | None = None,
                   first_page_end: int | None = None) -> str:
    """The title of a document from its raw and indexed text (see the module docstring)."""
    found = None
    if source_format == "html":
        found = html_title(raw)
    elif source_format == "pdf":
        found = pdf_title(metadata_title)
        text = text[:first_page_end] if first_page_end else text
    elif source_format == "md":
        found = markdown_title(text)
    fallback = file_name_title(doc_id)
    return found or clean_title(find_title(text, fallback=fallback)) or fallback
