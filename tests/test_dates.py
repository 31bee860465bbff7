"""Document dates (``ingest/dates.py``): hand-computed cases for each source, and the index carries them."""

from __future__ import annotations

import os
from pathlib import Path

from assistant.ingest.dates import (
    dateline_date,
    file_date,
    find_date,
    html_meta_date,
    iso_date,
    parse_date,
    pdf_metadata_date,
)
from assistant.ingest.reading import read_file
from conftest import REPO, make_assistant

CONFLICT_CORPUS = REPO / "tests" / "data" / "conflict_corpus"


def test_parse_date_reads_the_common_spellings() -> None:
    assert parse_date("June 21, 2014") == "2014-06-21"
    assert parse_date("21st June 2014") == "2014-06-21"
    assert parse_date("Sept. 3, 2019") == "2019-09-03"
    assert parse_date("2014-03-12T10:00:00Z") == "2014-03-12"
    assert parse_date("May 2026") == "2026-05"
    assert parse_date("in 1999") == "1999"
    assert parse_date("no date here, only 42 patients") is None
    assert iso_date(2014, 2, 30) is None  # not a real day


def test_html_meta_and_time_tags() -> None:
    assert html_meta_date('<meta property="article:published_time" content="2014-03-12T10:00:00Z">') == "2014-03-12"
    assert html_meta_date("<meta content='2011-07-01' name='citation_publication_date'>") == "2011-07-01"
    assert html_meta_date('<p>Posted <time datetime="2020-01-31">last week</time></p>') == "2020-01-31"
    assert html_meta_date('<meta name="description" content="Trial of 2014 results">') is None


def test_pdf_metadata_date() -> None:
    assert pdf_metadata_date("D:20140621120000+01'00'") == "2014-06-21"
    assert pdf_metadata_date("D:2019") == "2019"
    assert pdf_metadata_date("garbage") is None and pdf_metadata_date(None) is None


def test_dateline_near_the_top_only() -> None:
    assert dateline_date("Gene therapy\n\nUpdated June 21, 2014\n\nText.") == "2014-06-21"
    assert dateline_date("Title\nBy A. Writer | March 3, 2021\n\nBody.") == "2021-03-03"
    assert dateline_date("Title\nUpdated May 2026\n") == "2026-05"
    # a date inside the prose is what the text reports, not when it was written
    assert dateline_date("Title\n\nThe FDA approved the drug on December 19, 2017, after a long review.") is None
    assert dateline_date("Title\n" + "x" * 2000 + "\nPublished June 5, 2019") is None


def test_find_date_order_and_the_file_time_fallback() -> None:
    html = '<meta name="date" content="2014-03-02"><p>Published June 5, 2019</p>'
    assert find_date(html, html, "html").date == "2014-03-02" and find_date(html, html, "html").source == "meta"
    assert find_date("Published June 5, 2019", "Published June 5, 2019", "txt").source == "dateline"
    stamp = 1_000_000_000  # 2001-09-09T01:46:40Z
    dated = find_date("no date", "no date", "txt", mtime=stamp)
    assert (dated.date, dated.source) == ("2001-09-09", "file") and file_date(stamp) == "2001-09-09"
    assert find_date("no date", "no date", "jsonl") is None


def test_read_file_dates_a_plain_file_by_its_time(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Notes\n\nNothing says when this was written.\n", encoding="utf-8")
    os.utime(path, (1_000_000_000, 1_000_000_000))
    doc = read_file(path, "notes.txt")
    assert (doc.date, doc.date_source) == ("2001-09-09", "file")


def test_the_index_manifest_and_citations_carry_dates(tmp_path: Path) -> None:
    assistant = make_assistant(CONFLICT_CORPUS, tmp_path / "index")
    assistant.build()
    documents = assistant.index.manifest.documents
    assert (documents["vorelix_review_2014.html"].date, documents["vorelix_review_2014.html"].date_source) == (
        "2014-03-02", "meta")
    assert (documents["vorelix_news_2019.txt"].date, documents["vorelix_news_2019.txt"].date_source) == (
        "2019-06-05", "dateline")
    answer = assistant.ask("When was Vorelix approved by the FDA?")
    assert not answer.abstained
    for citation in answer.citations:
        entry = documents[citation.doc]
        assert (citation.date, citation.date_source) == (entry.date, entry.date_source)
