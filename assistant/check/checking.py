"""Citation checking: does the cited source really say what a claim says?

For each claim the closest sentence of each cited document is found by dense similarity
(precomputed sentence vectors) and term overlap. The verdict then compares the facts that
paraphrase must keep (``facts``): numbers and their units, names, and polarity (negation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.judge import Head, Judge
from assistant.check.citation_input import ParsedInput, RawClaim, parse_input
from assistant.check.facts import (
    Vocabulary,
    fact_differences,
    lexical_overlap,
    normalize_text,
    similarity,
    tokens,
)
from assistant.check.support import (
    VETO_KINDS,
    SupportCandidate,
    contradicted,
    judge_support,
    reasons,
    says,
    support_candidates,
)
from assistant.index.embedding import Embedder
from assistant.index.store import LoadedIndex
from assistant.lexical import words
from assistant.models import CheckReport, ClaimCheck, EvidenceSentence, Sentence

SUPPORT_THRESHOLD = 0.62
MISMATCH_THRESHOLD = 0.50
UNCITED_MIN_WORDS = 5
PASSING = ("verbatim", "supported")


@dataclass
class _Match:
    sentence: Sentence
    dense: float
    lexical: float

    @property
    def score(self) -> float:
        return similarity(self.dense, self.lexical)


class CitationChecker:
    """Checks claims against an index's documents."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, judge: Judge | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.judge_model = judge
        self._by_doc: dict[str, list[int]] = {}
        for sentence in index.sentences:
            self._by_doc.setdefault(sentence.doc_id, []).append(sentence.sentence_id)
        self._normalized = {doc_id: normalize_text(doc.text) for doc_id, doc in index.documents.items()}
        lowercase = {t for s in index.sentences for t in tokens(s.text) if t.islower()}
        self.vocabulary = Vocabulary(frozenset(lowercase))

    def _best(self, text: str, vector: np.ndarray, doc_ids: Sequence[str] | None) -> _Match | None:
        ids = [i for d in (doc_ids or self._by_doc) for i in self._by_doc.get(d, [])]
        if not ids:
            return None
        dense = self.index.sentence_vectors[ids] @ vector
        shortlist = np.argsort(-dense)[:20]
        matches = [_Match(self.index.sentences[ids[i]], float(dense[i]),
                          lexical_overlap(text, self.index.sentences[ids[i]].text)) for i in shortlist]
        return max(matches, key=lambda m: m.score)

    def _context(self, sentence: Sentence) -> str:
        parts = [self.index.titles.get(sentence.doc_id, ""), sentence.heading]
        sid = sentence.sentence_id
        for back in (1, 2):
            if sid - back >= 0 and self.index.sentences[sid - back].doc_id == sentence.doc_id:
                parts.append(self.index.sentences[sid - back].text)
        return " ".join(parts)

    def _evidence(self, sentence: Sentence) -> EvidenceSentence:
        return EvidenceSentence(doc=sentence.doc_id, title=self.index.titles.get(sentence.doc_id, ""),
                                start=sentence.start, end=sentence.end, text=sentence.text)

    def _verbatim_in(self, text: str, doc_ids: Sequence[str]) -> str | None:
        needle = normalize_text(text)
        if len(needle.split()) < 3:
            return None
        return next((d for d in doc_ids if needle in self._normalized.get(d, "")), None)

    def judge(self, raw: RawClaim, index: int, cited: list[str], vector: np.ndarray) -> ClaimCheck:
        """The verdict on one claim given the documents it cites (empty: uncited)."""
        text = raw.quote or raw.text
        check = ClaimCheck(index=index, text=raw.text, start=raw.start, end=raw.end, markers=raw.markers,
                           cited_docs=cited, quoted=raw.quote is not None, verdict="unsupported")
        if self.judge_model is not None:
            return self._judged(check, text, cited, vector, self.judge_model.claim)
        if not cited:
            check.verdict = "uncited"
            best = self._best(text, vector, None)
            if best and best.score >= SUPPORT_THRESHOLD and not fact_differences(
                    text, best.sentence.text, self._context(best.sentence), self.vocabulary):
                check.evidence = self._evidence(best.sentence)
                check.note = f"suggested source: {best.sentence.doc_id}"
                check.similarity, check.dense, check.lexical = best.score, best.dense, best.lexical
            else:
                check.note = "no document supports it"
            return check
        found = self._verbatim_in(text, cited)
        best = self._best(text, vector, cited)
        if best is not None:
            check.similarity, check.dense, check.lexical = round(best.score, 4), round(best.dense, 4), round(
                best.lexical, 4)
            check.evidence = self._evidence(best.sentence)
        if found:
            check.verdict = "verbatim"
            if best is None or normalize_text(text) not in normalize_text(best.sentence.text):
                check.note = f"found word for word in {found}"
            return check
        if best is not None:
            diffs = fact_differences(text, best.sentence.text, self._context(best.sentence), self.vocabulary)
            if best.score >= SUPPORT_THRESHOLD and not diffs:
                check.verdict = "supported"
                return check
            if best.score >= MISMATCH_THRESHOLD and diffs:
                check.verdict = "mismatch"
                check.differences = diffs
                return check
        others = [d for d in self._by_doc if d not in cited]
        elsewhere = self._verbatim_in(text, others)
        other = self._best(text, vector, others) if others else None
        if elsewhere or (other is not None and other.score >= SUPPORT_THRESHOLD and not fact_differences(
                text, other.sentence.text, self._context(other.sentence), self.vocabulary)):
            check.verdict = "wrong-source"
            if other is not None:
                check.evidence = self._evidence(other.sentence)
            source = elsewhere or (other.sentence.doc_id if other else "")
            check.note = f"not in the cited document; supported by {source}"
            return check
        check.note = "nothing in the collection supports it"
        return check

    def candidates(self, text: str, vector: np.ndarray, doc_ids: Sequence[str] | None, head: Head
                   ) -> list[SupportCandidate]:
        """The judged source candidates for a claim among ``doc_ids`` (None: every document), best first."""
        ids = [i for d in (doc_ids if doc_ids is not None else self._by_doc) for i in self._by_doc.get(d, [])]
        found = support_candidates(self.index, ids, text, vector)
        judge_support(self.index, self.embedder, self.vocabulary, head, text, found, self._context)
        return sorted(found, key=lambda c: -c.probability)

    def _judged(self, check: ClaimCheck, text: str, cited: list[str], vector: np.ndarray, head: Head) -> ClaimCheck:
        """The verdict by the judge: supported when a cited source says it (probability over the head's
        threshold), wrong-source when another document does, mismatch when the closest cited sentence is
        about the same thing, unsupported otherwise."""
        others = [d for d in self._by_doc if d not in cited]
        if not cited:
            check.verdict = "uncited"
            best = next(iter(self.candidates(text, vector, None, head)), None)
            if best is not None and says(best, head.threshold):
                self._describe(check, best)
                check.note = f"suggested source: {best.sentences[0].doc_id}"
            else:
                check.note = "no document supports it"
            return check
        own = self.candidates(text, vector, cited, head)
        closest = max(own, key=lambda c: c.similarity, default=None)
        if own:
            self._describe(check, own[0] if own[0].probability >= head.threshold else closest)
        if self._verbatim_in(text, cited):
            check.verdict = "verbatim"
            return check
        if own and says(own[0], head.threshold):
            changed = contradicted(own)  # the sentence the claim restates, where the claim changes it
            if changed is None:
                check.verdict = "supported"
                return check
            check.verdict = "mismatch"
            self._describe(check, changed)
            check.differences = [d for d in changed.differences if d.kind in VETO_KINDS]
            return check
        if own and own[0].probability >= head.threshold:  # the judge would pass it, but a number or a negation differs
            check.verdict = "mismatch"
            check.differences = [d for d in own[0].differences if d.kind in VETO_KINDS]
            return check
        elsewhere = self._verbatim_in(text, others)
        other = next(iter(self.candidates(text, vector, others, head)), None) if others else None
        if elsewhere or (other is not None and says(other, head.threshold)):
            check.verdict = "wrong-source"
            if other is not None:
                self._describe(check, other)
            check.note = f"not in the cited document; supported by {elsewhere or other.sentences[0].doc_id}"
            return check
        if closest is not None and closest.similarity >= MISMATCH_THRESHOLD:
            check.verdict = "mismatch"
            check.differences = reasons(text, closest)
            return check
        check.note = "nothing in the collection supports it"
        return check

    def _describe(self, check: ClaimCheck, candidate: SupportCandidate) -> None:
        check.evidence = self._evidence(candidate.sentences[0])
        check.similarity, check.dense, check.lexical = (round(candidate.similarity, 4), round(candidate.dense, 4),
                                                        round(candidate.lexical, 4))
        check.probability = round(candidate.probability, 4)

    def check(self, text: str) -> CheckReport:
        """Check every claim of a pasted text (see ``citation_input`` for the formats)."""
        parsed: ParsedInput = parse_input(text, self.index.titles)
        report = CheckReport(errors=list(parsed.errors))
        factual = [c for c in parsed.claims if c.markers or _is_factual(c.text)]
        if not any(c.markers for c in parsed.claims):
            report.errors.append("no citation markers found; every factual sentence is checked as uncited")
        vectors = self.embedder.encode([c.quote or c.text for c in factual]) if factual else []
        for number, (raw, vector) in enumerate(zip(factual, vectors), 1):
            cited = []
            for marker in raw.markers:
                doc = parsed.references.get(marker) if marker.isdigit() else _direct(marker, self.index.titles)
                if doc and doc not in cited:
                    cited.append(doc)
            report.claims.append(self.judge(raw, number, cited, vector))
        report.counts = {v: sum(1 for c in report.claims if c.verdict == v)
                         for v in ("verbatim", "supported", "mismatch", "wrong-source", "unsupported", "uncited")}
        report.ok = bool(report.claims) and all(c.verdict in PASSING for c in report.claims) and not report.errors
        return report


def _direct(marker: str, titles: dict[str, str]) -> str | None:
    from assistant.check.citation_input import resolve_reference

    return resolve_reference(marker, titles)


def _is_factual(text: str) -> bool:
    """A statement worth a citation: enough words, not a question or heading."""
    stripped = text.strip()
    return (len(words(stripped)) >= UNCITED_MIN_WORDS and not stripped.endswith("?")
            and stripped[-1:] in ".!\"”)")
