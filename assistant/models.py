"""Typed data shared by every stage: documents, sentences, chunks, answers, manifests, reports.

Over 300 lines on purpose: every typed contract lives in this one place, so a reader finds each type
the stages hand on here and nowhere else.

Character offsets always index into ``Document.text``, which is the decoded source file
character for character (HTML markup is blanked to spaces, never removed), so
``document.text[start:end]`` is the exact quote for every chunk, sentence and citation.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 3

BlockKind = Literal["content", "heading", "boilerplate"]


class System(StrEnum):
    """Every name for a way of answering, defined once: the three retrieval modes (``RETRIEVAL_MODES``:
    ``--mode``, the UI's choice, ``/api/ask``) and the two systems only ``assistant eval`` compares, the
    naive baseline and the full pipeline (hybrid with the configured fusion weights)."""

    NAIVE = "naive"
    DENSE = "dense"
    BM25 = "bm25"
    HYBRID = "hybrid"
    FULL = "full"

    def __repr__(self) -> str:  # validation errors read "Input should be 'hybrid', 'dense' or 'bm25'"
        return repr(self.value)


RETRIEVAL_MODES = (System.HYBRID, System.DENSE, System.BM25)
RetrievalMode = Literal[System.HYBRID, System.DENSE, System.BM25]
# How hybrid mode fuses its dense and BM25 lists: by score (each list divided by its top score; the default,
# chosen on COVID-QA dev) or by reciprocal rank (the plain ``hybrid`` baseline of ``assistant eval``).
FusionMethod = Literal["scores", "rrf"]
DateSource = Literal["meta", "pdf", "dateline", "file"]  # where a document's date came from (ingest/dates.py)


class Document(BaseModel):
    """One source document. ``doc_id`` is its path relative to the corpus folder."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    title: str
    text: str
    sha256: str
    source_format: Literal["txt", "md", "html", "pdf", "jsonl"] = "txt"
    date: str | None = None  # ISO, as precise as known ("2014-06-21", "2026-05"); see date_source
    date_source: DateSource | None = None


class Block(BaseModel):
    """A paragraph, line, heading or list item of a document, labelled by cleaning."""

    start: int
    end: int
    kind: BlockKind
    bullet: bool = False


class Sentence(BaseModel):
    """A sentence span. ``answerable`` is False for headings, questions and fragments."""

    sentence_id: int = -1
    doc_id: str
    start: int
    end: int
    text: str
    heading: str = ""
    answerable: bool = True
    position: int = 0


class Chunk(BaseModel):
    """A window of whole consecutive sentences from one document."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    heading: str = ""
    sentence_ids: list[int] = Field(default_factory=list)


class ChunkingSettings(BaseModel):
    """Settings that change how documents are split; part of the index manifest."""

    model_config = ConfigDict(frozen=True)

    max_words: int = 120
    overlap_sentences: int = 1
    cleaning_version: int = 1


class DocumentEntry(BaseModel):
    """What the manifest records about one indexed document."""

    sha256: str
    title: str
    chars: int
    chunks: int
    sentences: int
    date: str | None = None
    date_source: DateSource | None = None


class Manifest(BaseModel):
    """The human-readable description of an index folder."""

    format_version: int = FORMAT_VERSION
    model: str
    dimension: int
    chunking: ChunkingSettings
    corpus: str = ""
    dense_index: Literal["auto", "flat", "hnsw"] = "auto"
    created_at: str = ""
    build_seconds: float = 0.0
    documents: dict[str, DocumentEntry] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)


class RetrievedChunk(BaseModel):
    """A chunk returned by retrieval with the ranks and scores behind it (rank 0 = not found)."""

    chunk: Chunk
    score: float
    rank: int
    position: int = -1  # the chunk's row in the index
    dense_rank: int = 0
    dense_score: float = 0.0
    lexical_rank: int = 0
    lexical_score: float = 0.0


class SentenceEvidence(BaseModel):
    """Why a sentence was chosen: its component scores."""

    dense_score: float = 0.0
    dense_rank: int = 0
    lexical_score: float = 0.0
    lexical_rank: int = 0
    coverage: float = 0.0
    chunk_rank: int = 0
    score: float = 0.0


class Citation(BaseModel):
    """A pointer from an answer sentence to its exact place in a source document."""

    marker: int
    doc: str
    title: str
    start: int
    end: int
    quote: str
    passage: str
    passage_start: int = 0
    passage_end: int = 0
    chunk_id: str = ""
    evidence: SentenceEvidence = Field(default_factory=SentenceEvidence)
    # The short phrase inside the quote that answers a short-fact question (a price, a date, a count,
    # a name): offsets into the original file like start/end; answer_phrase == original[answer_start:answer_end].
    answer_start: int | None = None
    answer_end: int | None = None
    answer_phrase: str | None = None
    date: str | None = None  # the document's date (see DocumentEntry), and where it came from
    date_source: DateSource | None = None


class ConflictSide(BaseModel):
    """One sentence of a disagreement, with its document's date."""

    doc: str
    title: str
    start: int
    end: int
    quote: str
    date: str | None = None
    date_source: DateSource | None = None
    cited: bool = False  # one of the answer's own sentences (else a top candidate)


class Conflict(BaseModel):
    """Two documents that disagree about the same subject: sides newest first."""

    kind: Literal["negation", "number"]
    subject: str  # the names or terms both sentences are about
    detail: str  # what differs: "approved / not approved", "2.1 million / 1.9 million"
    sides: list[ConflictSide]


class Answer(BaseModel):
    """The answer contract shared by the CLI (``ask --json``), the UI, the checker and eval."""

    question: str
    text: str
    abstained: bool
    reason: str | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    citations: list[Citation] = Field(default_factory=list)
    searched_question: str | None = None
    mode: RetrievalMode = System.HYBRID
    timings_ms: dict[str, float] = Field(default_factory=dict)
    parts: list[str] = Field(default_factory=list)  # the sub-questions searched when a question had several parts
    conflicts: list[Conflict] = Field(default_factory=list)  # sources that disagree (newest side first)
    # specific words of the question (names, codes, rare terms) that the cited sentences and their context
    # never say: the answer may be about something near what was asked (``scoring.unmatched_terms``)
    unmatched: list[str] = Field(default_factory=list)


class Evidence(BaseModel):
    """Where a question's answer is: a quote in a document, or a character span of it."""

    doc: str
    quote: str | None = None
    start: int | None = None
    end: int | None = None


class EvalQuestion(BaseModel):
    """One question of a question set (our JSONL format; COVID-QA rows are converted)."""

    id: str
    question: str
    answers: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    answerable: bool = True
    tags: list[str] = Field(default_factory=list)
    split: str | None = None


class EvalRecord(BaseModel):
    """One question's outcome for one system."""

    id: str
    system: str
    question: str
    answerable: bool
    gold_answers: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    abstained: bool = False
    errored: bool = False
    hit: bool = False
    contains_answer: bool = False
    exact_match: float = 0.0
    f1: float = 0.0
    phrase_em: float = 0.0  # the first citation's answer phrase against the gold answers
    phrase_f1: float = 0.0
    cited_gold_first: bool = False
    cited_gold_any: bool = False
    citations_valid: bool = True
    passage_has_gold: bool = False
    cited_share: float = 0.0
    retrieval_ranks: list[int] = Field(default_factory=list)
    latency_ms: float = 0.0
    answer: Answer | None = None
    error: str | None = None


class EvalReport(BaseModel):
    """Configuration, per-system summary and per-question records of an evaluation run."""

    questions_file: str
    corpus: str = ""
    created_at: str = ""
    config: dict[str, object] = Field(default_factory=dict)
    index_build_seconds: float = 0.0
    summary: dict[str, dict[str, float]] = Field(default_factory=dict)
    by_tag: dict[str, dict[str, dict[str, float]]] = Field(default_factory=dict)
    records: list[EvalRecord] = Field(default_factory=list)


Verdict = Literal["verbatim", "supported", "mismatch", "wrong-source", "unsupported", "uncited"]


class EvidenceSentence(BaseModel):
    """A sentence of the collection offered as evidence for or against a claim."""

    doc: str
    title: str
    start: int
    end: int
    text: str


class Difference(BaseModel):
    """One fact that differs between a claim and its closest source sentence."""

    kind: Literal["number", "unit", "name", "negation", "date", "direction", "role", "term", "missing"]
    claimed: str
    source: str


class ClaimCheck(BaseModel):
    """The verdict on one claim (a sentence or clause carrying citation markers)."""

    index: int
    text: str
    start: int
    end: int
    markers: list[str] = Field(default_factory=list)
    cited_docs: list[str] = Field(default_factory=list)
    quoted: bool = False
    verdict: Verdict
    evidence: EvidenceSentence | None = None
    similarity: float = 0.0
    probability: float | None = None  # the judge's probability that the evidence says the claim
    dense: float = 0.0
    lexical: float = 0.0
    differences: list[Difference] = Field(default_factory=list)
    note: str = ""


class CheckReport(BaseModel):
    """The citation-checking contract (``assistant check --json``)."""

    claims: list[ClaimCheck] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    ok: bool = True
