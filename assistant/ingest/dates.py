"""A document's date: from HTML meta tags, PDF metadata, a dateline near the top, else the file time.

Dates are ISO strings as precise as the source says: ``2014-06-21``, ``2026-05`` or ``2014``, so
they sort as text (newest last). ``DocumentDate.source`` says where the date came from; a
``file`` date is only the file's modification time and is shown as such.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from assistant.models import DateSource
from assistant.patterns import MONTHS

DATELINE_CHARS = 1500  # a dateline sits under the title; dates further down are what the text is about

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_META_NAMES = ("article:published_time|article:modified_time|date|dc.date|dc.date.issued|dcterms.date|"
               "dcterms.created|citation_publication_date|citation_date|pubdate|publish-date|publication_date|"
               "og:updated_time|last-modified")
_META = re.compile(r"<meta\b[^>]*?(?:name|property|itemprop|http-equiv)\s*=\s*[\"']?(?:" + _META_NAMES +
                   r")[\"']?[^>]*>", re.I)
_CONTENT = re.compile(r"content\s*=\s*[\"']([^\"']+)[\"']", re.I)
_TIME_TAG = re.compile(r"<time\b[^>]*datetime\s*=\s*[\"']([^\"']+)[\"']", re.I)
_ISO = re.compile(r"(?<!\d)" + _YEAR + r"(?:[-/](?P<month>[01]?\d)(?:[-/](?P<day>[0-3]?\d))?)?(?!\d)")
_MONTH_DAY_YEAR = re.compile(r"\b" + _MONTH + r"\s+" + _DAY + r",?\s+" + _YEAR + r"\b", re.I)
_DAY_MONTH_YEAR = re.compile(r"\b" + _DAY + r"\s+" + _MONTH + r",?\s+" + _YEAR + r"\b", re.I)
_MONTH_YEAR = re.compile(r"\b" + _MONTH + r",?\s+" + _YEAR + r"\b", re.I)
_DATELINE_CUE = re.compile(r"\b(?:published|updated|posted|last (?:updated|modified|reviewed)|date|"
                           r"dated|issued|revised)\b[:\s]*(?:on\s+)?", re.I)
_PDF_DATE = re.compile(r"^D?:?(?P<year>(?:19|20)\d\d)(?P<month>[01]\d)?(?P<day>[0-3]\d)?")


@dataclass(frozen=True)
class DocumentDate:
    """A date (ISO, as precise as known) and where it came from."""

    date: str
    source: DateSource


def iso_date(year: int | str, month: int | str | None = None, day: int | str | None = None) -> str | None:
    """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; None when the parts are not a real date."""
    try:
        y = int(year)
        m = int(month) if month else None
        d = int(day) if day and m else None
        dt.date(y, m or 1, d or 1)
    except (TypeError, ValueError):
        return None
    if m is None:
        return f"{y:04d}"
    return f"{y:04d}-{m:02d}" if d is None else f"{y:04d}-{m:02d}-{d:02d}"


def _from_match(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    month = groups.get("month")
    if month and not month.isdigit():
        month = MONTHS.get(month.lower().rstrip("."))
    return iso_date(groups["year"], month, groups.get("day"))


def parse_date(text: str) -> str | None:
    """The first date written in ``text`` ("June 21, 2014", "21 June 2014", "2014-06-21",
    "May 2026", "2014"), as an ISO string; None when there is none."""
    found = [(m.start(), _from_match(m)) for pattern in (_MONTH_DAY_YEAR, _DAY_MONTH_YEAR, _MONTH_YEAR, _ISO)
             for m in pattern.finditer(text)]
    found = [(at, date) for at, date in found if date]
    if not found:
        return None
    first = min(at for at, _ in found)
    # at the same place, the most precise reading ("June 21, 2014" over "2014")
    return max((date for at, date in found if at <= first + 12), key=len)


def html_meta_date(html: str) -> str | None:
    """The publication date an HTML page declares (``<meta name="date" ...>``, Open Graph,
    Dublin Core, citation_* tags, ``<time datetime>``)."""
    for tag in _META.finditer(html[:200_000]):
        content = _CONTENT.search(tag.group(0))
        date = parse_date(content.group(1)) if content else None
        if date:
            return date
    time_tag = _TIME_TAG.search(html[:200_000])
    return parse_date(time_tag.group(1)) if time_tag else None


def pdf_metadata_date(value: str | None) -> str | None:
    """A PDF date string (``D:20140621120000+01'00'``) as an ISO date."""
    match = _PDF_DATE.match((value or "").strip())
    return iso_date(match["year"], match["month"], match["day"]) if match else None


def dateline_date(text: str) -> str | None:
    """A date near the top of the text: after a cue ("Published", "Updated June 21, 2014"), or a
    full day-month-year date on a line of its own. Dates in the body are what it reports, not when."""
    head = text[:DATELINE_CHARS]
    for cue in _DATELINE_CUE.finditer(head):
        date = parse_date(head[cue.end():cue.end() + 40].split("\n", 1)[0])
        if date and len(date) >= 7:
            return date
    for line in head.splitlines():
        line = line.strip(" |·—-\t")
        if 0 < len(line) <= 40:
            for pattern in (_MONTH_DAY_YEAR, _DAY_MONTH_YEAR):
                match = pattern.search(line)
                if match and _from_match(match):
                    return _from_match(match)
    return None


def file_date(mtime: float) -> str:
    """A file modification time (seconds since the epoch) as an ISO day (UTC)."""
    return dt.datetime.fromtimestamp(mtime, dt.timezone.utc).date().isoformat()


def find_date(raw: str, text: str, source_format: str, mtime: float | None = None,
              pdf_date: str | None = None) -> DocumentDate | None:
    """The best date of a document: HTML meta (from ``raw``), PDF metadata, a dateline in
    ``text``, else the file time; None when nothing gives one (a JSONL row has no file)."""
    if source_format == "html":
        date = html_meta_date(raw)
        if date:
            return DocumentDate(date, "meta")
    date = pdf_metadata_date(pdf_date)
    if date:
        return DocumentDate(date, "pdf")
    date = dateline_date(text)
    if date:
        return DocumentDate(date, "dateline")
    return DocumentDate(file_date(mtime), "file") if mtime is not None else None
