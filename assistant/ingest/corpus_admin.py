"""Adding and removing documents of a corpus folder, validated before anything is touched."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

from assistant.errors import UserInputError
from assistant.ingest.faults import fault_point
from assistant.ingest.pdf_text import extract_pdf_text
from assistant.ingest.reading import SUPPORTED_SUFFIXES, decode_bytes

UPLOAD_SUFFIXES = {*SUPPORTED_SUFFIXES, ".pdf"}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_NAME_CHARS = 120
MAX_NAME_BYTES = 200  # file systems allow 255 bytes per name; mkstemp's temporary names are shorter
MAX_SUFFIX_CHARS = 10


def safe_file_name(name: str) -> str:
    """A plain file name from an uploaded one: no folders, no '..', no control or odd characters,
    at most 120 characters and 200 UTF-8 bytes (the extension kept). UserInputError when nothing
    usable is left."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").split("/")[-1])
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w\-. ]", "_", stem).strip(" ._")
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix).lower()[:MAX_SUFFIX_CHARS]
    if not stem or not suffix:
        raise UserInputError(f"unusable file name {name[:80]!r}; expected something like notes.txt")
    stem = stem[:MAX_NAME_CHARS - len(suffix) - 1]
    while len(stem.encode("utf-8")) > MAX_NAME_BYTES - len(suffix) - 1:
        stem = stem[:-1]
    return f"{stem.rstrip(' .')}.{suffix}"


def prepare_upload(name: str, data: bytes) -> tuple[str, bytes]:
    """Validate an upload and return (file name to store, bytes to store).

    PDFs are converted to text (stored as ``<name>.txt``) so citations index the text shown.
    """
    file_name = safe_file_name(name)
    suffix = Path(file_name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UserInputError(f"{file_name}: unsupported type {suffix}; upload .txt, .md, .html or .pdf")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserInputError(f"{file_name}: {len(data)} bytes is over the {MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit")
    if not data.strip():
        raise UserInputError(f"{file_name}: the file is empty")
    if suffix == ".pdf":
        with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
            handle.write(data)
            handle.flush()
            text = extract_pdf_text(Path(handle.name), file_name)
        return f"{Path(file_name).stem}.txt", text.encode("utf-8")
    text = decode_bytes(data, file_name)
    if not text.strip():
        raise UserInputError(f"{file_name}: the file has no text")
    return file_name, data


def write_document(corpus: Path, file_name: str, data: bytes) -> Path:
    """Write a document into the corpus folder atomically (temp file, fsync, rename)."""
    target = corpus / file_name
    if target.resolve().parent != corpus.resolve():
        raise UserInputError(f"{file_name}: not a plain file name")
    corpus.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=corpus)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        fault_point("upload_tmp_written")
        os.replace(tmp, target)
        fault_point("upload_renamed")
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserInputError(f"{file_name}: could not be saved ({exc.strerror or exc})") from exc
    return target


def document_path(corpus: Path, doc_id: str) -> Path:
    """The file of a document id inside the corpus; UserInputError for ids outside it."""
    path = (corpus / doc_id).resolve()
    if corpus.resolve() not in path.parents or not path.is_file():
        raise UserInputError(f"unknown document {doc_id!r}")
    return path
