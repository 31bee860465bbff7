"""Corpus reading: formats, encodings, folders, skipped files and JSONL corpora."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import UserInputError
from assistant.ingest.reading import (
    decode_bytes,
    mask_html,
    read_corpus,
    read_file,
    sha256_text,
)
from assistant.ingest.splitting import split_document

PROSE = (
    "Gene therapy delivers working copies of genes into the cells of a patient so that the body can make "
    "a protein that it was missing. Most treatments use a harmless virus as the carrier, because viruses "
    "are very good at getting their cargo into cells."
)
PROSE_2 = (
    "Researchers still need to follow patients for many years to learn whether the effect of a single "
    "treatment lasts, and whether the new gene stays where it was put in the genome without causing harm."
)

HTML = f"""<!DOCTYPE html>
<html><head><title>Vectors in Gene Therapy</title>
<style>body {{ color: red; }} .Hidden {{ font-weight: bold }}</style>
<script>alert(1)</script>
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<h1>Vectors in Gene Therapy</h1>
<p class="lead">{PROSE}</p>
<SCRIPT type="text/javascript">var secret = "Tracking pixel. Do not read this sentence.";</SCRIPT>
<p>Researchers still need to follow <b>patients</b> for many years to learn whether the effect of a single
treatment lasts, and whether the new gene stays where it was put in the genome without causing harm.</p>
<!-- An HTML comment. With Sentences in it. -->
<noscript>Please enable JavaScript. It is required.</noscript>
<footer>&copy; 2024 Example</footer>
</body></html>
"""


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


# --- formats -----------------------------------------------------------------------------------


def test_reads_txt_md_html_and_nested_folders(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", f"Plain Title\n\n{PROSE}\n")
    write(tmp_path / "b.md", f"# Markdown Title\n\n{PROSE}\n")
    write(tmp_path / "c.html", HTML)
    write(tmp_path / "sub" / "a.txt", f"Nested Title\n\n{PROSE}\n")
    write(tmp_path / "sub" / "deeper" / "e.htm", HTML)
    result = read_corpus(tmp_path)
    assert result.warnings == []
    ids = [d.doc_id for d in result.documents]
    assert ids == ["a.txt", "b.md", "c.html", "sub/a.txt", "sub/deeper/e.htm"]
    formats = {d.doc_id: d.source_format for d in result.documents}
    assert formats == {"a.txt": "txt", "b.md": "md", "c.html": "html", "sub/a.txt": "txt", "sub/deeper/e.htm": "html"}
    titles = {d.doc_id: d.title for d in result.documents}
    assert titles["a.txt"] == "Plain Title"
    assert titles["b.md"] == "Markdown Title"
    assert titles["c.html"] == "Vectors in Gene Therapy"
    assert titles["sub/a.txt"] == "Nested Title"


def test_text_documents_keep_the_file_text_and_hash(tmp_path: Path) -> None:
    raw = f"Plain Title\r\n\r\n{PROSE}\r\n"
    path = write(tmp_path / "a.txt", raw)
    doc = read_file(path, "a.txt")
    assert doc.text == raw  # no newline translation: offsets index the file
    assert doc.sha256 == sha256_text(raw)
    assert sha256_text("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_html_masking_keeps_length_and_offsets(tmp_path: Path) -> None:
    doc = read_file(write(tmp_path / "page.html", HTML), "page.html")
    assert len(doc.text) == len(HTML)
    assert doc.sha256 == sha256_text(HTML)
    # Visible text stays at its original offsets.
    at = HTML.index(PROSE)
    assert doc.text[at:at + len(PROSE)] == PROSE
    # Scripts, styles, comments and tags are gone.
    for hidden in ["alert(1)", "<script>", "color: red", ".Hidden", "Tracking pixel", "var secret", "<p",
                   "</b>", "href", "HTML comment", "enable JavaScript", "<!DOCTYPE"]:
        assert hidden not in doc.text, hidden
    assert "<" not in doc.text and ">" not in doc.text


def test_html_sentences_hold_no_markup(tmp_path: Path) -> None:
    doc = read_file(write(tmp_path / "page.html", HTML), "page.html")
    sentences = split_document(doc)
    texts = [s.text for s in sentences]
    assert texts[0] == PROSE.split(". ")[0] + "."
    assert any(t.startswith("Researchers still need to follow") for t in texts)
    for sentence in sentences:
        assert doc.text[sentence.start:sentence.end] == sentence.text
        assert "<" not in sentence.text and ">" not in sentence.text
        assert "alert" not in sentence.text and "secret" not in sentence.text
        # The source at these offsets is the visible text (tags inside are blanked, not removed).
        source = HTML[sentence.start:sentence.end]
        assert " ".join(sentence.text.split()) == " ".join(
            source.replace("<b>", " ").replace("</b>", " ").split())


def test_mask_html_by_hand() -> None:
    assert mask_html("<p>Hi</p>") == "\n  Hi\n   "
    assert mask_html("a<b>b</b>c") == "a   b    c"
    assert mask_html("x<script>alert(1)</script>y") == "x\n" + " " * 24 + "y"
    assert mask_html("x<!-- no -->y") == "x" + " " * 11 + "y"
    assert mask_html("1 < 2 and 3 > 2") == "1 < 2 and 3 > 2"  # not tags


# --- encodings and bad files -------------------------------------------------------------------


def test_latin1_file_is_decoded(tmp_path: Path) -> None:
    raw = f"Café Title\n\nLa thérapie génique est étudiée. {PROSE}\n"
    doc = read_file(write(tmp_path / "fr.txt", raw.encode("latin-1")), "fr.txt")
    assert doc.text == raw
    assert "thérapie génique" in doc.text


def test_utf16_with_bom_is_decoded(tmp_path: Path) -> None:
    raw = f"Wide Title\n\nCafé naïve — {PROSE}\n"
    for encoding in ("utf-16", "utf-16-be"):
        data = raw.encode(encoding)
        if encoding == "utf-16-be":
            data = b"\xfe\xff" + data
        doc = read_file(write(tmp_path / f"{encoding}.txt", data), "w.txt")
        assert doc.text == raw
        assert doc.title == "Wide Title"


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    raw = f"Bom Title\n\n{PROSE}\n"
    doc = read_file(write(tmp_path / "bom.txt", b"\xef\xbb\xbf" + raw.encode("utf-8")), "bom.txt")
    assert doc.text == raw


def test_decode_bytes_rejects_binary() -> None:
    with pytest.raises(UserInputError, match="blob.bin.*binary"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "blob.bin")
    with pytest.raises(UserInputError, match="control"):
        decode_bytes(bytes(range(1, 32)) * 20, "ctl.txt")
    assert decode_bytes(b"tab\tand\nnewline\r\n", "ok.txt") == "tab\tand\nnewline\r\n"


def test_binary_file_is_skipped_with_a_warning_naming_it(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", f"Good Title\n\n{PROSE}\n")
    write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    result = read_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["good.txt"]
    assert len(result.warnings) == 1 and "image.txt" in result.warnings[0]


def test_empty_and_whitespace_files_are_skipped_with_warnings(tmp_path: Path) -> None:
    write(tmp_path / "good.md", f"# Good\n\n{PROSE}\n")
    write(tmp_path / "empty.txt", "")
    write(tmp_path / "blank.txt", "  \n\t\n   \n")
    result = read_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["good.md"]
    assert sorted(w.split(":")[0] for w in result.warnings) == ["blank.txt", "empty.txt"]
    assert all("empty" in w for w in result.warnings)


def test_unsupported_and_hidden_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", f"Good Title\n\n{PROSE}\n")
    write(tmp_path / "paper.pdf", b"%PDF-1.4 whatever")
    write(tmp_path / "data.csv", "a,b\n1,2\n")
    write(tmp_path / ".hidden.txt", f"Hidden\n\n{PROSE}\n")
    write(tmp_path / ".git" / "notes.txt", f"Hidden\n\n{PROSE}\n")
    result = read_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["good.txt"]
    assert sorted(w.split(":")[0] for w in result.warnings) == ["data.csv", "paper.pdf"]
    assert "cannot read PDF" in next(w for w in result.warnings if w.startswith("paper.pdf"))
    with pytest.raises(UserInputError, match="unsupported"):
        read_file(tmp_path / "data.csv", "data.csv")


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="no readable"):
        read_corpus(tmp_path)


def test_folder_with_only_unusable_files_is_an_error_naming_them(tmp_path: Path) -> None:
    write(tmp_path / "empty.txt", "")
    write(tmp_path / "x.pdf", b"%PDF")
    with pytest.raises(UserInputError, match="no readable") as info:
        read_corpus(tmp_path)
    assert "empty.txt" in str(info.value)


def test_missing_corpus_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="not found"):
        read_corpus(tmp_path / "nope")


def test_single_file_corpus(tmp_path: Path) -> None:
    path = write(tmp_path / "one.txt", f"One Title\n\n{PROSE}\n")
    result = read_corpus(path)
    assert [d.doc_id for d in result.documents] == ["one.txt"]


# --- JSONL -------------------------------------------------------------------------------------


def test_jsonl_corpus(tmp_path: Path) -> None:
    rows = [
        {"doc_id": "d1", "text": f"First Title\n\n{PROSE}", "title": "Given Title"},
        {"doc_id": 2, "text": f"Second Title\n\n{PROSE_2}"},
        {"doc_id": "d3", "text": "   "},
        {"text": "no id"},
    ]
    lines = [json.dumps(r) for r in rows[:2]] + ["", json.dumps(rows[2]), json.dumps(rows[3]), "not json"]
    path = write(tmp_path / "corpus.jsonl", "\n".join(lines) + "\n")
    result = read_corpus(path)
    assert [d.doc_id for d in result.documents] == ["d1", "2"]
    assert [d.title for d in result.documents] == ["Given Title", "Second Title"]
    assert all(d.source_format == "jsonl" for d in result.documents)
    assert result.documents[0].text == rows[0]["text"]
    assert [w.split(":")[0] for w in result.warnings] == ["corpus.jsonl line 4", "corpus.jsonl line 5",
                                                          "corpus.jsonl line 6"]


def test_jsonl_duplicate_ids_are_an_error(tmp_path: Path) -> None:
    row = json.dumps({"doc_id": "same", "text": PROSE})
    path = write(tmp_path / "dup.jsonl", f"{row}\n{row}\n")
    with pytest.raises(UserInputError, match="duplicate document id same"):
        read_corpus(path)


def test_jsonl_without_usable_rows_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", "[1, 2]\n")
    with pytest.raises(UserInputError, match="no readable"):
        read_corpus(path)
