"""PDF text extraction in a child process with a time and memory limit.

Encrypted, broken or hostile PDFs (decompression bombs) must never take the server down, so
parsing happens in ``python -m assistant.pdf_text FILE``, whose text goes to stdout.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from assistant.errors import UserInputError

TIME_LIMIT_S = 30
MEMORY_LIMIT_BYTES = 1 << 30
MAX_TEXT_CHARS = 20_000_000


def extract_pdf_text(path: Path, name: str | None = None) -> str:
    """Text of a PDF, pages separated by blank lines; UserInputError with a reason otherwise.
    ``name`` is the file name shown in messages (default: the path's name)."""
    name = name or path.name
    try:
        result = subprocess.run([sys.executable, "-m", "assistant.ingest.pdf_text", str(path)], capture_output=True,
                                timeout=TIME_LIMIT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise UserInputError(f"{name}: PDF took longer than {TIME_LIMIT_S}s to read, rejected") from exc
    if result.returncode != 0:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = reason[-1] if reason else "the reader ran out of memory or crashed"
        raise UserInputError(f"{name}: cannot read PDF ({detail[:200]})")
    text = result.stdout.decode("utf-8", "replace")
    if not text.strip():
        raise UserInputError(f"{name}: PDF has no extractable text (scanned images?), rejected")
    return text


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
    sys.stdout.write("\n\n".join(p for p in pages if p))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
