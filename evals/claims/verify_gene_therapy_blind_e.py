#!/usr/bin/env python3
"""Standalone checker for gene_therapy_blind_e.jsonl (python3 stdlib only).

Exits 0 only when every check passes; prints each failure otherwise.
"""
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "corpus"))
CLAIMS = os.path.join(HERE, "gene_therapy_blind_e.jsonl")
EARLIER = ["gene_therapy_blind.jsonl", "gene_therapy_blind_b.jsonl",
           "gene_therapy_blind_c.jsonl", "gene_therapy_blind_d.jsonl",
           "gene_therapy.jsonl"]

F0 = "000_e96938c1a08d327a.txt"
F1 = "001_95038281623041da.txt"
F2 = "002_8327220291109cc9.txt"
F3 = "003_165da83f7d69ab23.txt"
F4 = "004_54acd962cbed51f9.txt"

KEYS = {"id", "claim", "cites", "label", "source_doc", "source_quote", "kind"}
LABEL_COUNTS = {"verbatim": 4, "supported": 14, "mismatch": 14,
                "wrong-source": 4, "unsupported": 4}
SUPPORTED_KINDS = {"synonyms": 4, "reordered": 4, "voice": 3, "summary": 3}
MISMATCH_KINDS = {"number": 2, "roles": 2, "negation": 2, "term": 2,
                  "date": 2, "direction": 2, "name": 2}

# Hand-recorded: id -> (original text in the source quote, altered text in the claim)
MISMATCH = {
    "gbe-001": ("use \u201cgene therapy\u201d as a catch\u2011all", "do not employ"),
    "gbe-004": ("fastest-growing", "slowest-growing"),
    "gbe-008": ("A decade", "twenty years"),
    "gbe-010": ("May 2026", "March 2026"),
    "gbe-013": ("Diseases - FDA", "comes from the Cleveland Clinic"),
    "gbe-014": ("Dan Cossins", "Kerry Grens"),
    "gbe-019": ("RNA therapy", "protein therapy"),
    "gbe-021": ("We comply", "does not comply"),
    "gbe-024": ("Accelerate", "slow down"),
    "gbe-026": ("June 21, 2014", "21 June 2012"),
    "gbe-030": ("Fact Sheet 27", "Fact Sheet 72"),
    "gbe-032": ("Nipah", "Hendra"),
    "gbe-034": ("Overview - Rocket Pharmaceuticals", "published by the STXBP1 Foundation"),
    "gbe-037": ("National Library of Medicine", "National Cancer Institute"),
}

# Hand-recorded: id -> key facts that must be in the claim and the true source, absent from the cited file
WRONG_SOURCE = {
    "gbe-005": ["narrow", "umbrella"],
    "gbe-016": ["Human Genome Project", "Department of Energy"],
    "gbe-025": ["ultracentrifugation", "regulatory compliance"],
    "gbe-036": ["harmless", "carriers"],
}

# Hand-recorded: id -> {key term: files found to contain it when read by hand}
UNSUPPORTED = {
    "gbe-009": {"850,000": [], "Luxturna": [F2, F3]},
    "gbe-018": {"Wiskott": [], "metachromatic": [F3]},
    "gbe-029": {"BioMarin": [], "Roctavian": [F3]},
    "gbe-039": {"cationic": [], "liposome": [F4]},
}

failures = []


def fail(msg):
    failures.append(msg)


def words(text):
    return re.findall(r"[^\W_]+", text.lower())


def ngrams(seq, n):
    return {tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)}


def sentences(text):
    # A lead-in line ending with a colon and the bullet that completes it
    # form one sentence ("Gene therapy may be used to:" + "- insert ...").
    lines = []
    for line in text.split("\n"):
        if lines and lines[-1].rstrip().endswith(":") and line.strip():
            lines[-1] = lines[-1].rstrip() + " " + line.strip().lstrip("-\u2022 ").strip()
        else:
            lines.append(line)
    parts = []
    for line in lines:
        for s in re.split(r"(?<=[.!?])\s+", line):
            s = re.sub(r"(\[\d+\])+$", "", s.strip().lstrip("-\u2022 ").strip())
            if len(s.split()) >= 4:
                parts.append(s)
    return parts


def main():
    corpus = {}
    for name in sorted(os.listdir(CORPUS)):
        if name.endswith(".txt"):
            with open(os.path.join(CORPUS, name), encoding="utf-8") as fh:
                corpus[name] = fh.read()
    if sorted(corpus) != sorted([F0, F1, F2, F3, F4]):
        fail("corpus files differ from the five expected: %s" % sorted(corpus))
    low = {k: v.lower() for k, v in corpus.items()}

    with open(CLAIMS, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    if len(lines) != 40:
        fail("expected 40 lines, got %d" % len(lines))
    rows = []
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError as exc:
            fail("line %d: invalid JSON (%s)" % (n, exc))
            continue
        if not isinstance(obj, dict) or set(obj) != KEYS:
            fail("line %d: keys %s" % (n, sorted(obj) if isinstance(obj, dict) else type(obj)))
            continue
        rows.append(obj)

    # ids in order
    for i, r in enumerate(rows, 1):
        if r["id"] != "gbe-%03d" % i:
            fail("row %d: id %r, expected gbe-%03d" % (i, r["id"], i))

    # label and kind counts
    labels = Counter(r["label"] for r in rows)
    if dict(labels) != LABEL_COUNTS:
        fail("label counts %s" % dict(labels))
    sk = Counter(r["kind"] for r in rows if r["label"] == "supported")
    if dict(sk) != SUPPORTED_KINDS or min(sk.values() or [0]) < 3:
        fail("supported kinds %s" % dict(sk))
    mk = Counter(r["kind"] for r in rows if r["label"] == "mismatch")
    if dict(mk) != MISMATCH_KINDS:
        fail("mismatch kinds %s" % dict(mk))
    for lab in ("verbatim", "wrong-source", "unsupported"):
        bad = [r["id"] for r in rows if r["label"] == lab and r["kind"] != lab]
        if bad:
            fail("%s rows with other kind: %s" % (lab, bad))

    # shuffled, not grouped: no label runs longer than 2 (stricter than the
    # brief's limit of 3)
    run = 1
    for a, b in zip(rows, rows[1:]):
        run = run + 1 if a["label"] == b["label"] else 1
        if run > 2:
            fail("label run longer than 2 ending at %s" % b["id"])

    # hand-recorded tables cover exactly the right ids
    for table, lab in ((MISMATCH, "mismatch"), (WRONG_SOURCE, "wrong-source"),
                       (UNSUPPORTED, "unsupported")):
        ids = {r["id"] for r in rows if r["label"] == lab}
        if ids != set(table):
            fail("%s table ids %s != rows %s" % (lab, sorted(table), sorted(ids)))

    used_files = set()
    for r in rows:
        rid, claim, cites = r["id"], r["claim"], r["cites"]
        sd, sq, lab = r["source_doc"], r["source_quote"], r["label"]
        if not isinstance(claim, str) or not claim.strip():
            fail("%s: empty claim" % rid)
            continue
        if cites not in corpus:
            fail("%s: cites unknown file %r" % (rid, cites))
            continue
        used_files.add(cites)
        if lab == "unsupported":
            if sd is not None or sq is not None:
                fail("%s: unsupported must have null source_doc/source_quote" % rid)
            terms = UNSUPPORTED.get(rid, {})
            for term, expected in terms.items():
                if term.lower() not in claim.lower():
                    fail("%s: key term %r not in claim" % (rid, term))
                found = sorted(f for f in corpus if term.lower() in low[f])
                if found != sorted(expected):
                    fail("%s: term %r found in %s, recorded %s" % (rid, term, found, expected))
            if not any(exp == [] for exp in terms.values()):
                fail("%s: no recorded key term absent from the whole corpus" % rid)
            continue
        if sd not in corpus or not isinstance(sq, str):
            fail("%s: bad source_doc/source_quote" % rid)
            continue
        used_files.add(sd)
        if sq not in corpus[sd]:
            fail("%s: source_quote not verbatim in %s" % (rid, sd))
        if lab in ("verbatim", "supported", "mismatch") and cites != sd:
            fail("%s: cites %s but source_doc %s" % (rid, cites, sd))
        if lab == "verbatim" and claim != sq:
            fail("%s: verbatim claim differs from quote" % rid)
        if lab == "verbatim":
            if len(sentences(sq)) != 1 or not re.match(r"^[\(\"\u201c]?[A-Z]", sq) \
                    or not re.search(r"[.!?]\)?$", sq):
                fail("%s: verbatim quote is not one complete sentence" % rid)
        if lab == "supported":
            if r["kind"] == "summary" and len(sentences(sq)) != 2:
                fail("%s: summary quote should hold two sentences" % rid)
            if r["kind"] != "summary" and len(sentences(sq)) != 1:
                fail("%s: quote should hold one sentence" % rid)
            shared = ngrams(words(claim), 6) & ngrams(words(corpus[cites]), 6)
            if shared:
                fail("%s: shares 6-word runs with %s: %s" % (rid, cites,
                     [" ".join(g) for g in sorted(shared)]))
        if lab == "mismatch":
            orig, alt = MISMATCH.get(rid, ("", ""))
            if not orig or orig.lower() not in sq.lower():
                fail("%s: original %r not in source_quote" % (rid, orig))
            if not alt or alt.lower() not in claim.lower():
                fail("%s: altered %r not in claim" % (rid, alt))
            if alt and alt.lower() in low[cites]:
                fail("%s: altered %r present in cited file" % (rid, alt))
            if orig and orig.lower() in claim.lower():
                fail("%s: original %r still in claim" % (rid, orig))
        if lab == "wrong-source":
            if cites == sd:
                fail("%s: wrong-source cites its own source_doc" % rid)
            for fact in WRONG_SOURCE.get(rid, []):
                if fact.lower() not in claim.lower():
                    fail("%s: fact %r not in claim" % (rid, fact))
                if fact.lower() not in low[sd]:
                    fail("%s: fact %r not in source %s" % (rid, fact, sd))
                if fact.lower() not in sq.lower():
                    fail("%s: fact %r not in source_quote" % (rid, fact))
                if fact.lower() in low[cites]:
                    fail("%s: fact %r present in cited file %s" % (rid, fact, cites))
            if not WRONG_SOURCE.get(rid):
                fail("%s: no recorded key facts" % rid)

    if used_files != set(corpus):
        fail("files not used: %s" % sorted(set(corpus) - used_files))
    src_docs = {r["source_doc"] for r in rows if r["source_doc"]}
    if src_docs != set(corpus):
        fail("files never used as source_doc: %s" % sorted(set(corpus) - src_docs))

    # no source_quote reused or overlapping inside this set
    spans = {}
    for r in rows:
        sd, sq = r["source_doc"], r["source_quote"]
        if not sq or sd not in corpus or sq not in corpus[sd]:
            continue
        start = corpus[sd].find(sq)
        for other_id, (o_sd, o_start, o_end) in spans.items():
            if o_sd == sd and start < o_end and o_start < start + len(sq):
                fail("%s: source_quote overlaps %s's quote" % (r["id"], other_id))
        spans[r["id"]] = (sd, start, start + len(sq))

    # no overlap with earlier sets' source quotes
    earlier = []
    for name in EARLIER:
        path = os.path.join(HERE, name)
        if not os.path.exists(path):
            fail("earlier set missing: %s" % name)
            continue
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    q = json.loads(line).get("source_quote")
                    if q:
                        earlier.append(q)
    earlier_sents = set()
    earlier_8 = set()
    for q in earlier:
        earlier_sents.update(s.lower() for s in sentences(q))
        earlier_8 |= ngrams(words(q), 8)
    for r in rows:
        sq = r["source_quote"]
        if not sq:
            continue
        for q in earlier:
            if sq in q or q in sq:
                fail("%s: source_quote overlaps an earlier set's quote" % r["id"])
                break
        shared8 = ngrams(words(sq), 8) & earlier_8
        if shared8:
            fail("%s: source_quote shares an 8-word run with an earlier set: %r"
                 % (r["id"], " ".join(sorted(shared8)[0])))
        for s in sentences(sq):
            if s.lower() in earlier_sents or any(s.lower() in e or e in s.lower()
                                                 for e in earlier_sents):
                fail("%s: sentence reused from an earlier set: %r" % (r["id"], s[:60]))

    if failures:
        for f in failures:
            print("FAIL:", f)
        print("%d check(s) failed" % len(failures))
        return 1
    print("OK: all checks passed for %d claims" % len(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
