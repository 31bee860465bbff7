"""Adding and removing documents of a corpus folder, validated before anything is touched."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
import unicodedata
import uuid
from pathlib import Path

from assistant.errors import UserInputError
from assistant.ingest.faults import fault_point
from assistant.ingest.pdf_text import read_pdf
from assistant.ingest.reading import SUPPORTED_SUFFIXES, decode_bytes

UPLOAD_SUFFIXES = set(SUPPORTED_SUFFIXES)
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_NAME_CHARS = 120
MAX_NAME_BYTES = 200  # file systems allow 255 bytes per name; mkstemp's temporary names are shorter
MAX_SUFFIX_CHARS = 10
TRASH = ".trash"  # removed documents, inside the corpus folder; hidden, so never read as documents


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

    A PDF is stored as it came (a PDF, read by the PDF reader); it is read once here to reject a
    broken one, and that reading is cached for the index build.
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
            read_pdf(Path(handle.name), file_name)
        return file_name, data
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


def move_to_trash(corpus: Path, doc_id: str, entry: str | None = None) -> str:
    """Move a document's file (not a link's target) to ``corpus/.trash/<stamp>/<doc_id>``, where
    corpus reading never looks; returns that entry ("<stamp>/<doc_id>") for ``restore_from_trash``."""
    document_path(corpus, doc_id)  # inside the corpus, a file
    entry = entry or _trash_entry(doc_id)
    target = corpus / TRASH / entry
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(corpus / doc_id, target)
    return entry


def copy_to_trash(corpus: Path, doc_id: str, data: bytes) -> str:
    """Keep the bytes of a replaced version of a document in the trash; returns its entry."""
    entry = _trash_entry(doc_id)
    target = corpus / TRASH / entry
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return entry


def _trash_entry(doc_id: str) -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}/{doc_id}"


def restore_from_trash(corpus: Path, entry: str) -> str:
    """Move a trash entry back to its place in the corpus; returns its document id. UserInputError
    when the entry is not in the trash or a document of that name exists again."""
    trash = (corpus / TRASH).resolve()
    stamp, _, doc_id = entry.partition("/")
    source = corpus / TRASH / entry
    if not doc_id or stamp.startswith(".") or trash not in source.resolve().parents or not source.is_file():
        raise UserInputError(f"nothing to restore: {entry[:100]!r} is not in the trash")
    target = corpus / doc_id
    if target.exists() or target.is_symlink():
        raise UserInputError(f"{doc_id} cannot be restored: a document of that name exists now")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    for folder in source.parents:  # drop the emptied stamp folder
        if folder.resolve() == trash:
            break
        with contextlib.suppress(OSError):
            folder.rmdir()
    return doc_id


def document_path(corpus: Path, doc_id: str) -> Path:
    """The file of a document id inside the corpus; UserInputError for ids outside it."""
    path = (corpus / doc_id).resolve()
    if corpus.resolve() not in path.parents or not path.is_file():
        raise UserInputError(f"unknown document {doc_id!r}")
    return path
