"""PDF text extraction in a child process with a time and memory limit.

Encrypted, broken or hostile PDFs (decompression bombs) must never take the server down, so
parsing happens in ``python -m assistant.ingest.pdf_text FILE``, which writes JSON to stdout: the
text, the metadata title and creation date, and the end of the first page's text.
"""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import UserInputError

TIME_LIMIT_S = 30
MEMORY_LIMIT_BYTES = 1 << 30
MAX_TEXT_CHARS = 20_000_000


@dataclass(frozen=True)
class PdfText:
    """What the PDF reader found: the text (pages separated by blank lines), the metadata title and
    creation date when set, and where the first page's text ends."""

    text: str
    title: str | None = None
    date: str | None = None
    first_page_end: int = 0


_CACHE: OrderedDict[str, PdfText] = OrderedDict()  # sha256 of the file -> its reading
CACHE_SIZE = 256


def read_pdf(path: Path, name: str | None = None) -> PdfText:
    """Read a PDF in the child process (once per content: readings are cached by the file's
    hash, since the corpus is re-read on every staleness check); UserInputError with a reason."""
    data = path.read_bytes()
    key = hashlib.sha256(data).hexdigest()
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    reading = _read_in_child(path, name or path.name)
    _CACHE[key] = reading
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return reading


def extract_pdf_text(path: Path, name: str | None = None) -> str:
    """Text of a PDF, pages separated by blank lines; UserInputError with a reason otherwise.
    ``name`` is the file name shown in messages (default: the path's name)."""
    return read_pdf(path, name).text


def _read_in_child(path: Path, name: str) -> PdfText:
    try:
        result = subprocess.run([sys.executable, "-m", "assistant.ingest.pdf_text", str(path)], capture_output=True,
                                timeout=TIME_LIMIT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise UserInputError(f"{name}: PDF took longer than {TIME_LIMIT_S}s to read, rejected") from exc
    if result.returncode != 0:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = reason[-1] if reason else "the reader ran out of memory or crashed"
        raise UserInputError(f"{name}: cannot read PDF ({detail[:200]})")
    try:
        found = json.loads(result.stdout.decode("utf-8", "replace"))
    except ValueError as exc:
        raise UserInputError(f"{name}: cannot read PDF (the reader's output was cut short)") from exc
    if not found["text"].strip():
        raise UserInputError(f"{name}: PDF has no extractable text (scanned images?), rejected")
    return PdfText(found["text"], found["title"], found["date"], found["first_page_end"])


def _metadata(reader, key: str) -> str | None:
    """A metadata string of the PDF, or None when missing or unreadable."""
    try:
        value = (reader.metadata or {}).get(key)
    except Exception:  # broken metadata must not cost the text
        return None
    return str(value).strip() or None if value is not None else None


def _main(argv: list[str]) -> int:
    # The child limits its own memory (a decompression bomb then fails with MemoryError);
    # setting it here avoids preexec_fn, which is unsafe in a threaded server.
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    import pypdf.errors
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    limit_reached = getattr(pypdf.errors, "LimitReachedError", ())  # pypdf's own decompression limit

    try:
        reader = PdfReader(argv[0])
        if reader.is_encrypted:
            print("encrypted PDF", file=sys.stderr)
            return 2
        pages, total = [], 0
        for page in reader.pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > MAX_TEXT_CHARS:
                print("too much text", file=sys.stderr)
                return 2
            pages.append(text.strip())
    except limit_reached:
        print("PDF expands to too much data when decompressed", file=sys.stderr)
        return 2
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        print(f"broken PDF: {type(exc).__name__}", file=sys.stderr)
        return 2
    except MemoryError:
        print("PDF needs too much memory", file=sys.stderr)
        return 2
    kept = [p for p in pages if p]
    sys.stdout.write(json.dumps({"text": "\n\n".join(kept), "title": _metadata(reader, "/Title"),
                                 "date": _metadata(reader, "/CreationDate"),
                                 "first_page_end": len(kept[0]) if kept else 0}))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
