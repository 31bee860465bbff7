#!/usr/bin/env python3
"""Verify evals/claims/gene_therapy_blind_b.jsonl against the corpus (../../corpus).

Run from /work/main:  python3 evals/claims/verify_gene_therapy_blind_b.py
Exits non-zero on any failure.
"""
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "corpus"))
DATA = os.path.join(HERE, "gene_therapy_blind_b.jsonl")

KEYS = {"id", "claim", "cites", "label", "source_doc", "source_quote", "kind"}
LABEL_COUNTS = {"verbatim": 4, "supported": 14, "mismatch": 14,
                "wrong-source": 4, "unsupported": 4}
SUPPORTED_KINDS = {"synonyms", "reordered", "voice", "summary"}
MISMATCH_KINDS = {"number": 2, "roles": 2, "negation": 2, "term": 2,
                  "date": 2, "direction": 2, "name": 2}
NGRAM = 6

# Hand-recorded: the altered fact in each mismatch claim (must be in the claim,
# absent from the cited file, case-insensitive).
ALTERED = {
    "gbb-001": "accelerated",
    "gbb-003": "15 percent",
    "gbb-010": "2015",
    "gbb-013": "Elevidys",
    "gbb-014": "48th",
    "gbb-016": "cancer cells are engineered",
    "gbb-020": "has not been proven",
    "gbb-025": "Auricchio of TIGEM, who is president",
    "gbb-026": "SMN2",
    "gbb-028": "has already allowed",
    "gbb-029": "considerably increase",
    "gbb-034": "Marina Cavazzana",
    "gbb-035": "muscular dystrophies",
    "gbb-039": "June 11",
}

# Hand-recorded: key facts of each wrong-source claim (in the claim and in the
# true source file, absent from the cited file).
WS_KEYS = {
    "gbb-007": ["viruses", "regain"],
    "gbb-011": ["Casgevy", "CRISPR"],
    "gbb-021": ["Bueren", "Auricchio", "ESGCT", "Europe"],
    "gbb-027": ["1960s", "1970s"],
}
# key facts that are expected to occur in the true source file (B)
WS_KEYS_IN_SOURCE = {
    "gbb-007": ["viruses"],
    "gbb-011": ["Casgevy", "CRISPR"],
    "gbb-021": ["Bueren", "Auricchio", "ESGCT", "Europe"],
    "gbb-027": ["1960s", "1970s"],
}

# Hand-recorded: for each unsupported claim, key terms and the exact set of
# corpus files (by 3-digit prefix) containing each term (whole-word, case-insensitive).
UNSUP_KEYS = {
    "gbb-002": {"Gendicine": [], "China": [], "head and neck": [], "2003": []},
    "gbb-009": {"Glybera": [], "lipoprotein lipase": [], "withdrawn": [], "2012": []},
    "gbb-024": {"prime editing": [], "double-strand": [], "double-strand breaks": [],
                "insertions": []},
    "gbb-036": {"Strimvelis": [], "2016": [], "ADA": ["003"]},
}

failures = []


def fail(msg):
    failures.append(msg)


def tokens(s):
    return re.findall(r"[a-z0-9]+", s.lower())


def ngrams(toks, n=NGRAM):
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def has_word(text, term):
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(term) + r"(?![A-Za-z0-9])",
                     text, re.IGNORECASE) is not None


def main():
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".txt"))
    texts = {f: open(os.path.join(CORPUS, f), encoding="utf-8").read() for f in files}
    if len(files) != 5:
        fail("expected 5 corpus files, found %d" % len(files))
    prefix = {f[:3]: f for f in files}

    rows = []
    with open(DATA, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                fail("blank line %d" % n)
                continue
            rows.append(json.loads(line))

    if len(rows) != 40:
        fail("expected 40 rows, got %d" % len(rows))
    ids = [r.get("id") for r in rows]
    if ids != ["gbb-%03d" % i for i in range(1, len(rows) + 1)]:
        fail("ids are not gbb-001..gbb-%03d in order" % len(rows))

    labels = Counter(r.get("label") for r in rows)
    if dict(labels) != LABEL_COUNTS:
        fail("label counts %s != %s" % (dict(labels), LABEL_COUNTS))
    mk = Counter(r["kind"] for r in rows if r.get("label") == "mismatch")
    if dict(mk) != MISMATCH_KINDS:
        fail("mismatch kinds %s != %s" % (dict(mk), MISMATCH_KINDS))
    # labels shuffled: no run of 5+ identical labels, and not grouped
    seq = [r.get("label") for r in rows]
    run = best = 1
    for a, b in zip(seq, seq[1:]):
        run = run + 1 if a == b else 1
        best = max(best, run)
    if best >= 5:
        fail("labels not shuffled (run of %d)" % best)

    cited_files = set()
    src_files = set()
    for r in rows:
        rid = r.get("id")
        if set(r) != KEYS:
            fail("%s: keys %s" % (rid, sorted(r)))
            continue
        lab, kind, claim = r["label"], r["kind"], r["claim"]
        cites, sdoc, quote = r["cites"], r["source_doc"], r["source_quote"]
        if not isinstance(claim, str) or not claim.strip():
            fail("%s: empty claim" % rid)
        if cites not in texts:
            fail("%s: cites %r not a corpus file" % (rid, cites))
            continue
        cited_files.add(cites)
        ctext = texts[cites]

        if lab == "unsupported":
            if sdoc is not None or quote is not None:
                fail("%s: unsupported must have null source_doc/source_quote" % rid)
            if kind != "unsupported":
                fail("%s: kind %r" % (rid, kind))
            keys = UNSUP_KEYS.get(rid)
            if not keys:
                fail("%s: no hand-recorded unsupported keys" % rid)
                continue
            for term, expected in keys.items():
                if not has_word(claim, term) and term not in claim:
                    fail("%s: key term %r not in claim" % (rid, term))
                got = sorted(f[:3] for f in files if has_word(texts[f], term))
                if got != sorted(expected):
                    fail("%s: term %r found in %s, recorded %s" % (rid, term, got, expected))
            # the distinctive (empty-set) terms must exist
            if not any(v == [] for v in keys.values()):
                fail("%s: no term absent from every file" % rid)
            allgrams = set()
            for t in texts.values():
                allgrams |= ngrams(tokens(t))
            if ngrams(tokens(claim)) & allgrams:
                fail("%s: unsupported claim copies a %d-word run from the corpus" % (rid, NGRAM))
            continue

        if sdoc not in texts:
            fail("%s: source_doc %r not a corpus file" % (rid, sdoc))
            continue
        src_files.add(sdoc)
        if not isinstance(quote, str) or quote not in texts[sdoc]:
            fail("%s: source_quote not an exact substring of %s" % (rid, sdoc))
            continue
        if texts[sdoc].count(quote) != 1:
            fail("%s: source_quote not unique in %s" % (rid, sdoc))

        if lab == "verbatim":
            if kind != "verbatim":
                fail("%s: kind %r" % (rid, kind))
            if claim != quote:
                fail("%s: verbatim claim != source_quote" % rid)
            if sdoc != cites:
                fail("%s: verbatim source_doc != cites" % rid)
            t = texts[sdoc]
            i = t.index(quote)
            before = t[:i]
            after = t[i + len(quote):]
            if not (before == "" or before.endswith("\n") or before.endswith(". ")):
                fail("%s: verbatim quote does not start a sentence" % rid)
            if not quote.rstrip('"\u201d').endswith((".", "?", "!")):
                fail("%s: verbatim quote does not end a sentence" % rid)
            if not (after == "" or after[0] in " \n"):
                fail("%s: verbatim quote does not end at a boundary" % rid)
            continue

        # non-verbatim: no 6-word run copied from the source quote or cited file
        cg = ngrams(tokens(claim))
        if cg & ngrams(tokens(quote)):
            fail("%s: copies a %d-word run from source_quote: %s"
                 % (rid, NGRAM, sorted(cg & ngrams(tokens(quote)))[:2]))
        if cg & ngrams(tokens(ctext)):
            fail("%s: copies a %d-word run from cited file" % (rid, NGRAM))

        if lab == "supported":
            if kind not in SUPPORTED_KINDS:
                fail("%s: kind %r" % (rid, kind))
            if sdoc != cites:
                fail("%s: supported source_doc != cites" % rid)
        elif lab == "mismatch":
            if sdoc != cites:
                fail("%s: mismatch source_doc != cites" % rid)
            alt = ALTERED.get(rid)
            if not alt:
                fail("%s: no hand-recorded altered string" % rid)
            else:
                if alt not in claim:
                    fail("%s: altered %r not in claim" % (rid, alt))
                if alt.lower() in ctext.lower():
                    fail("%s: altered %r occurs in cited file" % (rid, alt))
        elif lab == "wrong-source":
            if kind != "wrong-source":
                fail("%s: kind %r" % (rid, kind))
            if sdoc == cites:
                fail("%s: wrong-source cites its own source" % rid)
            if quote in ctext:
                fail("%s: source_quote also in cited file" % rid)
            keys = WS_KEYS.get(rid)
            if not keys:
                fail("%s: no hand-recorded wrong-source keys" % rid)
                continue
            for k in keys:
                if k.lower() not in claim.lower():
                    fail("%s: key fact %r not in claim" % (rid, k))
                if has_word(ctext, k):
                    fail("%s: key fact %r occurs in cited file %s" % (rid, k, cites))
            for k in WS_KEYS_IN_SOURCE.get(rid, []):
                if not has_word(texts[sdoc], k):
                    fail("%s: key fact %r missing from true source %s" % (rid, k, sdoc))
        else:
            fail("%s: bad label %r" % (rid, lab))

    for f in files:
        if f not in cited_files:
            fail("corpus file %s never cited" % f)
        if f not in src_files:
            fail("corpus file %s never used as a source" % f)

    if failures:
        for m in failures:
            print("FAIL:", m)
        print("%d failure(s)" % len(failures))
        return 1
    print("OK: %d claims, %s" % (len(rows), dict(labels)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
