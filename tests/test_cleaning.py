"""Cleaning: site chrome is labelled boilerplate, prose is content, titles come from the text."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import CORPUS

from assistant.ingest.cleaning import (
    find_title,
    label_blocks,
    repeated_across_documents,
)
from assistant.ingest.lines import (
    is_heading_like,
    normalize_line,
    split_blocks,
    split_lines,
)
from assistant.ingest.reading import read_corpus

PROSE_1 = (
    "Gene therapy delivers working copies of genes into the cells of a patient so that the body can make "
    "a protein that it was missing. Most treatments use a harmless virus as the carrier, because viruses "
    "are very good at getting their cargo into cells. The carrier is chosen to reach the tissue where the "
    "protein is needed."
)
PROSE_2 = (
    "Researchers still need to follow patients for many years to learn whether the effect of a single "
    "treatment lasts, and whether the new gene stays where it was put in the genome without causing harm "
    "to the patient."
)
COOKIE = "We use cookies to improve your experience. Accept all cookies"


@pytest.fixture(scope="module")
def corpus_docs():
    return {d.doc_id: d for d in read_corpus(CORPUS).documents}


@pytest.fixture(scope="module")
def corpus_blocks(corpus_docs):
    """Labels as the index build computes them (with lines repeated across documents)."""
    repeated = repeated_across_documents([d.text for d in corpus_docs.values()])
    return {doc_id: label_blocks(d.text, repeated) for doc_id, d in corpus_docs.items()}


def kinds_of_line(doc, blocks, line: str) -> list[str]:
    """The kind of the block holding each occurrence of ``line`` in the document."""
    kinds, start = [], doc.text.find(line)
    assert start >= 0, f"{line!r} not in {doc.doc_id}"
    while start >= 0:
        holder = [b for b in blocks if b.start <= start < b.end]
        kinds.append(holder[0].kind if holder else "unlabelled")
        start = doc.text.find(line, start + 1)
    return kinds


# --- the seed corpus ---------------------------------------------------------------------------


def test_no_answerable_sentence_is_site_chrome(shared_index) -> None:
    """General properties of chrome, checked for every answerable sentence of every document."""
    cross_doc: Counter[str] = Counter()
    for doc in shared_index.documents.values():
        cross_doc.update({normalize_line(doc.text[s:e]) for s, e in split_lines(doc.text)})
    answerable = [s for s in shared_index.sentences if s.answerable]
    assert len(answerable) > 100
    for sentence in answerable:
        doc = shared_index.documents[sentence.doc_id]
        lines = Counter(normalize_line(doc.text[s:e]) for s, e in split_lines(doc.text))
        line_start = doc.text.rfind("\n", 0, sentence.start) + 1
        line_end = doc.text.find("\n", sentence.end)
        line = normalize_line(doc.text[line_start:line_end if line_end >= 0 else len(doc.text)])
        assert lines[line] == 1, f"line repeated within its document: {sentence.text!r}"
        assert cross_doc[line] == 1, f"line repeated across documents: {sentence.text!r}"
        assert "©" not in sentence.text and "&copy;" not in sentence.text.lower()
        assert len(sentence.text.split()) >= 4, sentence.text
        assert not sentence.text.rstrip().endswith(("...", "…")), sentence.text
        assert not sentence.text.rstrip().endswith("?"), sentence.text
        assert "-->" not in sentence.text and " | " not in sentence.text, sentence.text


@pytest.mark.parametrize(
    ("doc_id", "line"),
    [
        ("000_e96938c1a08d327a.txt", "Register for free to listen to this article"),
        ("000_e96938c1a08d327a.txt", "Listen with Speechify"),
        ("000_e96938c1a08d327a.txt", "Already a member? Login Here"),
        ("000_e96938c1a08d327a.txt", "Sino Biological Logo"),
        ("000_e96938c1a08d327a.txt", "Redefining Immunology Through Advanced Technologies"),
        ("000_e96938c1a08d327a.txt", "I was very happy to see these two papers, as they are very ..."),
        ("001_95038281623041da.txt", "Post a new comment"),
        ("001_95038281623041da.txt", "You might also like..."),
        ("001_95038281623041da.txt", "The opinions expressed here are the views of the writer and do not "
                                     "necessarily reflect the views and opinions of News Medical."),
        ("003_165da83f7d69ab23.txt", "flowchart TD"),
        ("003_165da83f7d69ab23.txt", "A --> B"),
        ("004_54acd962cbed51f9.txt", "Send to a Friend via Email"),
        ("004_54acd962cbed51f9.txt", "©2014 About.com. All rights reserved."),
        ("004_54acd962cbed51f9.txt", "We comply with the HONcode standard"),
    ],
)
def test_seed_chrome_lines_are_boilerplate(corpus_docs, corpus_blocks, doc_id: str, line: str) -> None:
    assert set(kinds_of_line(corpus_docs[doc_id], corpus_blocks[doc_id], line)) == {"boilerplate"}


@pytest.mark.parametrize(
    ("doc_id", "paragraph_start"),
    [
        ("002_8327220291109cc9.txt", "Zolgensma (onasemnogene abeparvovec), approved in 2019"),
        ("002_8327220291109cc9.txt", "Gene editing uses programmable nucleases"),
        ("004_54acd962cbed51f9.txt", "Gene therapy is an experimental way of using genes"),
        ("000_e96938c1a08d327a.txt", "Moreover, there was no evidence that the vector"),
        ("001_95038281623041da.txt", "Professors Bueren and Auricchio, as the leaders of the ESGCT"),
        ("003_165da83f7d69ab23.txt", "Gene therapy is a biomedical technique"),
    ],
)
def test_seed_paragraphs_are_content(corpus_docs, corpus_blocks, doc_id: str, paragraph_start: str) -> None:
    doc = corpus_docs[doc_id]
    assert kinds_of_line(doc, corpus_blocks[doc_id], paragraph_start) == ["content"]


def test_seed_paragraphs_are_answerable_sentences(shared_index) -> None:
    answerable = {s.text for s in shared_index.sentences if s.answerable}
    assert ("With a list price of 2.1 million dollars per dose, it was the most expensive drug ever "
            "approved at the time.") in answerable
    assert "Gene therapy is an experimental way of using genes to treat or prevent disease." in answerable


def test_seed_section_headings_are_headings(corpus_docs, corpus_blocks) -> None:
    doc_id = "002_8327220291109cc9.txt"
    for heading in ["Strategies for Gene Therapy", "Approved Gene Therapies", "Challenges and Limitations"]:
        assert kinds_of_line(corpus_docs[doc_id], corpus_blocks[doc_id], heading) == ["heading"]


@pytest.mark.parametrize(
    ("doc_id", "title"),
    [
        ("000_e96938c1a08d327a.txt", "Gene Therapy Coming of Age?"),
        ("002_8327220291109cc9.txt", "Gene Therapy Explained: Treating Disease by Fixing Genes"),
        ("004_54acd962cbed51f9.txt", "What Is Gene Therapy?"),
    ],
)
def test_titles_come_from_the_text(corpus_docs, shared_index, doc_id: str, title: str) -> None:
    assert corpus_docs[doc_id].title == title
    assert find_title(corpus_docs[doc_id].text) == title
    assert shared_index.titles[doc_id] == title


def test_find_title_skips_a_menu_line_and_ignores_the_file_name() -> None:
    text = (
        "Home | News | Shop\n"
        "Understanding Viral Vectors\n\n"
        "Viral vectors carry genes into cells. Understanding viral vectors is central to gene therapy.\n"
    )
    assert find_title(text, fallback="notes_2024") == "Understanding Viral Vectors"
    assert find_title("# Markdown Heading Here\n\nMarkdown heading text follows here.\n") == "Markdown Heading Here"


# --- a synthetic page ------------------------------------------------------------------------


def synthetic_page() -> str:
    return "\n".join([
        "Home", "News", "Science", "Health", "About Us", "Contact", "",
        "Understanding Gene Therapy Vectors", "",
        PROSE_1, "",
        COOKIE,
        PROSE_2,
        COOKIE, "",
        "Privacy Policy | Terms of Use | Sitemap",
        "© 2024 Example Media Group. All rights reserved.",
        "",
    ])


def test_synthetic_page_only_the_prose_is_content() -> None:
    text = synthetic_page()
    blocks = label_blocks(text)
    content = [text[b.start:b.end] for b in blocks if b.kind == "content"]
    assert content == [PROSE_1, PROSE_2]
    by_text = {}
    for b in blocks:
        by_text.setdefault(text[b.start:b.end], set()).add(b.kind)
    for chrome in ["Home", "News", "About Us", COOKIE, "Privacy Policy | Terms of Use | Sitemap",
                   "© 2024 Example Media Group. All rights reserved."]:
        assert by_text[chrome] == {"boilerplate"}, chrome


def test_synthetic_page_blocks_cover_every_non_blank_line() -> None:
    text = synthetic_page()
    blocks = label_blocks(text)
    assert [(b.start, b.end) for b in blocks] == split_lines(text)
    for b in blocks:
        assert text[b.start:b.end] == text[b.start:b.end].strip() != ""


def test_lines_repeated_across_documents_are_boilerplate() -> None:
    teaser = "Read our latest stories about the brain"
    text = f"{PROSE_1}\n{teaser}\n{PROSE_2}\n"
    others = [f"Another article body.\n{teaser}\n", f"A third page.\n{teaser}\n"]
    repeated = repeated_across_documents([text, *others])
    assert normalize_line(teaser) in repeated
    labelled = {text[b.start:b.end]: b.kind for b in label_blocks(text, repeated)}
    assert labelled[teaser] == "boilerplate"
    assert labelled[PROSE_1] == "content" and labelled[PROSE_2] == "content"


def test_repeated_across_documents_counts_documents_not_lines() -> None:
    assert repeated_across_documents(["Menu line\nMenu line\n", "Other text\n"]) == set()
    assert repeated_across_documents(["Menu line\n", "menu   LINE\n"]) == {"menu line"}


def test_hard_wrapped_paragraphs_join_into_one_block() -> None:
    line = "word " * 9 + "wrapped"
    text = "\n".join([line] * 10) + "\n\n" + "- a list item\n"
    blocks = split_blocks(text)
    assert len(blocks) == 2
    assert blocks[0][:2] == (0, len("\n".join([line] * 10)))
    assert blocks[1][2] is True  # the list item starts its own block and is a bullet


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Strategies for Gene Therapy", True),
        ("## Delivery methods", True),
        ("How is gene therapy done?", True),
        ("Gene therapy delivers working copies of genes into the cells of a patient.", False),
        ("- a bullet item", False),
    ],
)
def test_is_heading_like(line: str, expected: bool) -> None:
    assert is_heading_like(line) is expected


def test_copyright_notice_is_boilerplate_even_when_it_reads_like_prose() -> None:
    notice = ("© 2024 The authors of this article, who wrote it in the spring and who share it with all of "
              "their readers so that anyone can read it, print it and pass it on to others, as long as they "
              "say where it came from and who wrote it.")
    text = f"{PROSE_1}\n\n{notice}\n\n{PROSE_2}\n"
    kinds = {text[b.start:b.end]: b.kind for b in label_blocks(text)}
    assert kinds == {PROSE_1: "content", notice: "boilerplate", PROSE_2: "content"}


def test_short_note_without_long_paragraphs_is_still_content():
    text = "My Notes\n\nAspirin was discovered in 1897 by Felix Hoffmann.\nIt is used to reduce fever.\nCopyright (c) 2020 me\n"
    kinds = {text[b.start:b.end]: b.kind for b in label_blocks(text)}
    assert kinds["Aspirin was discovered in 1897 by Felix Hoffmann."] == "content"
    assert kinds["It is used to reduce fever."] == "content"
    assert kinds["Copyright (c) 2020 me"] == "boilerplate"


def test_a_short_bullet_list_of_prose_is_content_but_a_menu_is_not():
    text = ("# Solar Power Basics\n\nSolar panels convert sunlight into electricity using photovoltaic cells made "
            "of silicon, and a typical residential panel produces between 250 and 400 watts under full sun.\n\n"
            "## Maintenance\n\n- Panels should be cleaned once or twice a year.\n"
            "- Inverters usually need replacement after 10 to 15 years.\n"
            "- Most manufacturers offer a 25-year performance warranty.\n\n"
            "- Home\n- About Us\n- Contact\n")
    kinds = {text[b.start:b.end]: b.kind for b in label_blocks(text)}
    assert kinds["- Inverters usually need replacement after 10 to 15 years."] == "content"
    assert kinds["- Panels should be cleaned once or twice a year."] == "content"
    assert kinds["- About Us"] == "boilerplate"
