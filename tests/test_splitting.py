"""Sentence segmentation and chunking: boundaries, exact offsets and whole-sentence chunks."""

from __future__ import annotations

import pytest
from conftest import CORPUS, CORPUS_FILES

from assistant.ingest.cleaning import label_blocks
from assistant.ingest.reading import make_document
from assistant.ingest.splitting import (
    chunk_sentences,
    is_answerable,
    sentence_spans,
    split_document,
)
from assistant.models import Block, ChunkingSettings, Document


def spans(text: str) -> list[str]:
    """Sentences of ``text`` taken as one block."""
    return [text[s:e] for s, e in sentence_spans(text, 0, len(text))]


def content_document(text: str, doc_id: str = "doc.txt") -> tuple[Document, list[Block]]:
    """A document whose every non-blank line is one content block (no cleaning involved)."""
    doc = make_document(doc_id, text, "txt")
    blocks = []
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped:
            start = offset + line.index(stripped)
            bullet = stripped[0] in "•-*" or stripped[:2].rstrip(".").isdigit()
            blocks.append(Block(start=start, end=start + len(stripped), kind="content", bullet=bullet))
        offset += len(line)
    return doc, blocks


# --- sentence boundaries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Some vectors, e.g. AAV, are small. Others, i.e. lentiviruses, integrate. Dr. Smith agreed.",
         ["Some vectors, e.g. AAV, are small.", "Others, i.e. lentiviruses, integrate.", "Dr. Smith agreed."]),
        ("The U.S. Food and Drug Administration approved it. It was costly.",
         ["The U.S. Food and Drug Administration approved it.", "It was costly."]),
        ("The review was by J. A. Bueren and A. Auricchio. It appeared in 2023.",
         ["The review was by J. A. Bueren and A. Auricchio.", "It appeared in 2023."]),
        ("AAV holds approximately 4.7 kilobases. That is small.",
         ["AAV holds approximately 4.7 kilobases.", "That is small."]),
        ("Costs reached 3.5 million dollars in 2022. Prices fell.",
         ["Costs reached 3.5 million dollars in 2022.", "Prices fell."]),
        ("It is an old idea in therapy.[1][3] Modern methods differ.",
         ["It is an old idea in therapy.[1][3]", "Modern methods differ."]),
        ("Vectors are engineered viruses.[2][4-6] They deliver genes.",
         ["Vectors are engineered viruses.[2][4-6]", "They deliver genes."]),
        ('He said "it works." Then he left.', ['He said "it works."', "Then he left."]),
        ("Is it safe? Yes it is! Good.", ["Is it safe?", "Yes it is!", "Good."]),
        ("Born in 1990. Later trials followed.", ["Born in 1990.", "Later trials followed."]),
        ("lower case after a dot. no new sentence here.", ["lower case after a dot. no new sentence here."]),
    ],
)
def test_sentence_boundaries(text: str, expected: list[str]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("  • insert a normal gene into tissues", ["insert a normal gene into tissues"]),
        ("- Dash item. Second sentence.", ["Dash item.", "Second sentence."]),
        ("* Star item here", ["Star item here"]),
        ("12) Numbered item here", ["Numbered item here"]),
        ("1. First item of a numbered list.", ["First item of a numbered list."]),
        ("2. Second. Third one.", ["Second.", "Third one."]),
    ],
)
def test_bullet_mark_is_not_part_of_any_sentence(line: str, expected: list[str]) -> None:
    assert spans(line) == expected


def test_spans_are_offsets_into_the_full_text_for_a_block_in_the_middle() -> None:
    text = "Header line\nFirst sentence here. Second one here.\nTrailer"
    start = text.index("First")
    end = text.index("\nTrailer")
    got = sentence_spans(text, start, end)
    assert [text[s:e] for s, e in got] == ["First sentence here.", "Second one here."]
    assert got[0][0] == start and got[-1][1] == end


def test_sentences_never_cross_a_heading_or_block() -> None:
    text = (
        "Gene therapy basics and history of the field in practice\n"
        "Gene therapy delivers working genes into cells. It is used for rare diseases.\n"
        "How vectors work\n"
        "A vector is usually a harmless virus. It carries the gene.\n"
    )
    doc = make_document("h.txt", text, "txt")
    heading = text.index("How vectors work")
    blocks = [
        Block(start=0, end=text.index("\n"), kind="heading"),
        Block(start=text.index("Gene therapy delivers"), end=heading - 1, kind="content"),
        Block(start=heading, end=heading + len("How vectors work"), kind="heading"),
        Block(start=text.index("A vector"), end=len(text) - 1, kind="content"),
    ]
    sentences = split_document(doc, blocks)
    assert [s.text for s in sentences] == [
        "Gene therapy delivers working genes into cells.",
        "It is used for rare diseases.",
        "A vector is usually a harmless virus.",
        "It carries the gene.",
    ]
    assert all("How vectors work" not in s.text for s in sentences)
    assert [s.heading for s in sentences] == ["Gene therapy basics and history of the field in practice"] * 2 + [
        "How vectors work"] * 2
    assert [s.position for s in sentences] == [0, 1, 2, 3]


def test_boilerplate_blocks_give_no_sentences() -> None:
    text = "Login here to read more. Subscribe now.\nGene therapy delivers working genes into cells.\n"
    doc = make_document("b.txt", text, "txt")
    first_end = text.index("\n")
    blocks = [Block(start=0, end=first_end, kind="boilerplate"),
              Block(start=first_end + 1, end=len(text) - 1, kind="content")]
    assert [s.text for s in split_document(doc, blocks)] == ["Gene therapy delivers working genes into cells."]


@pytest.mark.parametrize(
    ("sentence", "bullet", "expected"),
    [
        ("Gene therapy delivers working genes into cells.", False, True),
        ("What is being changed?", False, False),  # a question
        ("Some carriers for gene therapy being investigated are:", False, False),  # a lead-in
        ("I was very happy to see these two papers, as they are very ...", False, False),  # truncated
        ("Strategies for Gene Therapy", False, False),  # no terminal punctuation
        ("Gene therapy works.", False, False),  # fewer than 4 words
        ("insert a normal gene into tissues to replace it", True, True),  # list item without a period
        ("insert a normal gene", True, False),  # too short for an unterminated list item
    ],
)
def test_is_answerable(sentence: str, bullet: bool, expected: bool) -> None:
    assert is_answerable(sentence, bullet) is expected


# --- chunking ----------------------------------------------------------------------------------


def _numbered_document(n: int, words_each: int) -> tuple[Document, list]:
    body = " ".join(
        " ".join([f"Sentence{i}"] + ["word"] * (words_each - 2) + ["end."]) for i in range(n)
    )
    doc, blocks = content_document(body + "\n")
    sentences = split_document(doc, blocks)
    for i, sentence in enumerate(sentences):
        sentence.sentence_id = i
    return doc, sentences


def test_chunks_are_windows_of_whole_sentences_with_overlap() -> None:
    doc, sentences = _numbered_document(6, 10)
    assert len(sentences) == 6
    chunks = chunk_sentences(doc, sentences, ChunkingSettings(max_words=30, overlap_sentences=1))
    # 3 sentences of 10 words fit in 30; the next window starts one sentence back.
    assert [c.sentence_ids for c in chunks] == [[0, 1, 2], [2, 3, 4], [4, 5]]
    assert [c.chunk_id for c in chunks] == ["doc.txt#0", "doc.txt#1", "doc.txt#2"]
    for chunk in chunks:
        assert chunk.start == sentences[chunk.sentence_ids[0]].start
        assert chunk.end == sentences[chunk.sentence_ids[-1]].end
        assert doc.text[chunk.start:chunk.end] == chunk.text


def test_chunks_without_overlap_and_overlong_sentence_stands_alone() -> None:
    doc, sentences = _numbered_document(4, 10)
    chunks = chunk_sentences(doc, sentences, ChunkingSettings(max_words=20, overlap_sentences=0))
    assert [c.sentence_ids for c in chunks] == [[0, 1], [2, 3]]
    chunks = chunk_sentences(doc, sentences, ChunkingSettings(max_words=5, overlap_sentences=1))
    assert [c.sentence_ids for c in chunks] == [[0], [1], [2], [3]]


def test_chunks_never_cross_a_heading() -> None:
    text = (
        "First section title here\n"
        "Alpha sentence one is here. Alpha sentence two is here.\n"
        "Second section title here\n"
        "Beta sentence one is here. Beta sentence two is here.\n"
    )
    doc = make_document("c.txt", text, "txt")
    lines = text.splitlines()
    blocks, offset = [], 0
    for line, kind in zip(lines, ["heading", "content", "heading", "content"]):
        blocks.append(Block(start=offset, end=offset + len(line), kind=kind))
        offset += len(line) + 1
    sentences = split_document(doc, blocks)
    for i, sentence in enumerate(sentences):
        sentence.sentence_id = i
    chunks = chunk_sentences(doc, sentences, ChunkingSettings(max_words=500))
    assert [c.sentence_ids for c in chunks] == [[0, 1], [2, 3]]
    assert [c.heading for c in chunks] == ["First section title here", "Second section title here"]


# --- the seed corpus, through a real index build ----------------------------------------------


def test_index_documents_are_the_corpus_files(shared_index) -> None:
    assert sorted(shared_index.documents) == CORPUS_FILES
    for doc_id, document in shared_index.documents.items():
        assert document.text == (CORPUS / doc_id).read_bytes().decode("utf-8")


def test_every_sentence_and_chunk_quotes_its_document_exactly(shared_index) -> None:
    documents = shared_index.documents
    assert shared_index.sentences and shared_index.chunks
    for position, sentence in enumerate(shared_index.sentences):
        assert sentence.sentence_id == position
        assert documents[sentence.doc_id].text[sentence.start:sentence.end] == sentence.text
        assert sentence.text == sentence.text.strip() and sentence.text
    for chunk in shared_index.chunks:
        assert documents[chunk.doc_id].text[chunk.start:chunk.end] == chunk.text


def test_every_corpus_document_has_sentences_and_chunks(shared_index) -> None:
    per_doc = {doc_id: 0 for doc_id in shared_index.documents}
    for chunk in shared_index.chunks:
        per_doc[chunk.doc_id] += 1
    assert all(n > 0 for n in per_doc.values()), per_doc
    for doc_id, entry in shared_index.manifest.documents.items():
        assert entry.chunks == per_doc[doc_id]
        assert entry.sentences == sum(1 for s in shared_index.sentences if s.doc_id == doc_id)


def test_chunks_are_windows_of_whole_sentences_in_the_index(shared_index) -> None:
    sentences = shared_index.sentences
    max_words = shared_index.manifest.chunking.max_words
    covered: set[int] = set()
    for chunk in shared_index.chunks:
        ids = chunk.sentence_ids
        assert ids, chunk.chunk_id
        assert ids == list(range(ids[0], ids[-1] + 1)), "sentences of a chunk are consecutive"
        assert all(sentences[i].doc_id == chunk.doc_id for i in ids)
        assert chunk.start == sentences[ids[0]].start
        assert chunk.end == sentences[ids[-1]].end
        assert chunk.chunk_id.startswith(chunk.doc_id + "#")
        if len(ids) > 1:
            assert sum(len(sentences[i].text.split()) for i in ids) <= max_words
        covered.update(ids)
    assert covered == set(range(len(sentences))), "every sentence is in some chunk"


def test_corpus_abbreviations_decimals_and_references(shared_index) -> None:
    texts = [s.text for s in shared_index.sentences]
    assert any("approximately 4.7 kilobases" in t for t in texts)
    assert not any(t.endswith("4.") or t.startswith("7 kilobases") for t in texts)
    # 003: "…viral infections.[1][3][4][5] Modern gene therapy also…" splits after the marks.
    marks = [t for t in texts if t.startswith("Gene therapy can be applied to inherited")]
    assert len(marks) == 1 and marks[0].endswith("viral infections.[1][3][4][5]")
    modern = [t for t in texts if t.startswith("Modern gene therapy also encompasses")]
    assert len(modern) == 1
    # "(e.g., CRISPR‑Cas9)" does not end a sentence.
    assert "(e.g., CRISPR‑Cas9)" in modern[0] and modern[0].endswith("[2][3][5][7]")
    # No sentence is a bare abbreviation fragment.
    assert not any(t in {"e.g.", "i.e.", "Dr.", "U.S.", "1.", "2."} for t in texts)


def test_corpus_bullet_marks_are_outside_sentences(shared_index) -> None:
    doc = shared_index.documents["004_54acd962cbed51f9.txt"]
    item = [s for s in shared_index.sentences
            if s.doc_id == doc.doc_id and s.text.startswith("insert a normal gene into tissues")]
    assert len(item) == 1
    assert doc.text[:item[0].start].rstrip(" ").endswith("•")
    for sentence in shared_index.sentences:
        assert sentence.text[0] not in "•‣◦▪●", sentence.text
        assert not sentence.text.startswith(("- ", "* "))


def test_corpus_headings_are_not_merged_into_sentences(shared_index) -> None:
    doc_id = "002_8327220291109cc9.txt"
    sentences = [s for s in shared_index.sentences if s.doc_id == doc_id]
    headings = ["Strategies for Gene Therapy", "Delivery Vehicles: Viral Vectors", "Approved Gene Therapies",
                "Challenges and Limitations", "Key Takeaway"]
    for heading in headings:
        assert not any(heading in s.text for s in sentences), heading
    first = next(s for s in sentences if s.text.startswith("Gene therapy encompasses several distinct"))
    assert first.heading == "Strategies for Gene Therapy"
    zolgensma = next(s for s in sentences if s.text.startswith("Zolgensma (onasemnogene abeparvovec)"))
    assert zolgensma.heading == "Approved Gene Therapies"


def test_label_blocks_then_split_agrees_with_index(shared_index) -> None:
    """Splitting a document on its own gives spans inside its content blocks only."""
    doc = shared_index.documents["002_8327220291109cc9.txt"]
    blocks = label_blocks(doc.text)
    content = [(b.start, b.end) for b in blocks if b.kind == "content"]
    for sentence in split_document(doc, blocks):
        assert any(s <= sentence.start and sentence.end <= e for s, e in content)
