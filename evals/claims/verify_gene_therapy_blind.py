#!/usr/bin/env python3
"""Verify the blind gene-therapy eval sets.

Checks evals/claims/gene_therapy_blind.jsonl and
evals/questions/gene_therapy_blind.jsonl against the corpus.
Paths are resolved relative to this script's folder. Exit code 1 on failure.
"""
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MAIN = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(MAIN, "corpus")
CLAIMS = os.path.join(HERE, "gene_therapy_blind.jsonl")
QUESTIONS = os.path.join(MAIN, "evals", "questions", "gene_therapy_blind.jsonl")

DOCS = ["000_e96938c1a08d327a.txt", "001_95038281623041da.txt", "002_8327220291109cc9.txt",
        "003_165da83f7d69ab23.txt", "004_54acd962cbed51f9.txt"]
TEXT = {d: open(os.path.join(CORPUS, d), encoding="utf-8").read() for d in DOCS}
SHORT = {d[:3]: d for d in DOCS}

MAP = {"\u2011": "-", "\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
       "\u2013": "-", "\u2014": "-", "\xa0": " "}


def norm(s):
    return "".join(MAP.get(c, c) for c in s).lower()


def tokens(s):
    return re.findall(r"[a-z0-9]+", norm(s))


def longest_run(a, b):
    """Length of the longest common contiguous token run."""
    ta, tb = tokens(a), tokens(b)
    best = 0
    prev = [0] * (len(tb) + 1)
    for x in ta:
        cur = [0] * (len(tb) + 1)
        for j, y in enumerate(tb, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def docs_with(term):
    pat = re.compile(r"(?<![a-z0-9])" + re.escape(norm(term)))
    return sorted(d[:3] for d in DOCS if pat.search(norm(TEXT[d])))


# ---------------------------------------------------------------- hand-recorded
MISMATCH_ALTERED = {
    'gbc-010': ['7.4'],
    'gbc-016': ['4.5 million'],
    'gbc-023': ['defective fetal hemoglobin', 'supplying adult hemoglobin'],
    'gbc-003': ['vice-president Juan Bueren', 'president Alberto Auricchio'],
    'gbc-035': ['has already approved'],
    'gbc-021': ['does not react'],
    'gbc-030': ['muscular dystroph'],
    'gbc-020': ['lung'],
    'gbc-024': ['2016'],
    'gbc-019': ['1997'],
    'gbc-038': ['raises the chance'],
    'gbc-026': ['increases in painful crises'],
    'gbc-036': ['Mancini'],
    'gbc-013': ['Roctavian'],
}
MISMATCH_KINDS = {"number": 2, "roles": 2, "negation": 2, "term": 2, "date": 2,
                  "direction": 2, "name": 2}
WRONG_SOURCE_ABSENT = {
    'gbc-012': ['Gelsinger', '1999'],
    'gbc-031': ['Naldini', 'Milan'],
    'gbc-032': ['first approved CRISPR', 'first CRISPR'],
    'gbc-006': ['1960s', '1970s'],
}
UNSUPPORTED_TERMS = {
    'gbc-005': {'Roctavian': ['003'], '2.9 million': [], '2023': ['001', '002']},
    'gbc-027': {'Luxturna': ['002', '003'], '850,000': [], 'both eyes': [], 'both of a patient': []},
    'gbc-037': {'Gelsinger': ['004'], 'adenovirus': []},
    'gbc-001': {'European Society for Gene and Cell Therapy': ['001'], 'founded': [], '1992': []},
}
NEAR_MISS_TERMS = {
    'gnm-001': {'Luxturna': ['002', '003'], 'price': ['002']},
    'gnm-002': {'Roctavian': ['003'], 'approved in': ['002', '003']},
    'gnm-003': {'Roctavian': ['003'], 'AAV5': ['002'], 'AAV8': ['002']},
    'gnm-004': {'Roctavian': ['003'], 'valoctocogene': []},
    'gnm-005': {'kilobase': ['002'], 'lentivir': ['000', '002', '003']},
    'gnm-006': {'Editor in Chief': ['001'], 'The Scientist': ['000']},
    'gnm-007': {'TIGEM': ['001'], 'director': ['000']},
    'gnm-008': {'Zolgensma': ['002', '003'], 'four years': ['002'], 'maintained': ['002']},
    'gnm-009': {'factor VIII': ['003'], 'percent of normal': ['002']},
    'gnm-010': {'1990': ['003'], 'year-old': ['004'], 'ADA': ['003']},
    'gnm-011': {'1990': ['003'], 'SCID': ['003'], 'Gelsinger': ['004']},
    'gnm-012': {'lentiviral': ['000', '002', '003'], 'Science': ['000', '004'], 'patients': ['000', '002', '003']},
    'gnm-013': {'two rare diseases': ['000'], 'leukodystrophy': ['003'], 'Wiskott': []},
    'gnm-014': {'TIGEM': ['001'], 'Milan': ['000'], 'Naples': []},
    'gnm-015': {'About.com': ['004'], 'What Is Gene Therapy': ['003', '004'], 'Written by': ['000']},
    'gnm-016': {'Zolgensma': ['002', '003'], 'kilogram': [], 'per kg': []},
    'gnm-017': {'Hemgenix': ['002', '003'], 'CSL': [], 'manufactur': ['000', '002']},
    'gnm-018': {'Casgevy': ['002', '003'], 'late 2023': ['002'], 'December': []},
    'gnm-019': {'AAV9': ['002'], 'blood-brain barrier': ['002']},
    'gnm-020': {'precentage': ['000'], 'percent': ['002'], 'genetically corrected': ['000', '002']},
    'gnm-021': {'myeloablative': ['002'], 'busulfan': [], 'conditioning chemotherapy': ['003']},
    'gnm-022': {'Gelsinger': ['004'], 'organ': ['003'], 'immune response': ['002', '003', '004']},
    'gnm-023': {'AAV9': ['002'], '20 to 50 percent': ['002'], 'neutralizing antibodies': ['002']},
    'gnm-024': {'clinical development': ['002'], 'hundreds': ['002']},
    'gnm-025': {'Zolgensma': ['002', '003'], 'Duchenne': ['002'], 'adults': ['002']},
    'gnm-026': {'Casgevy': ['002', '003'], 'AAV': ['000', '002', '003'], 'liver': ['002', '003']},
    'gnm-027': {'Gelsinger': ['004'], 'price': ['002']},
    'gnm-028': {'refused': [], 'rejected': [], 'FDA': ['003', '004']},
    'gnm-029': {'disease progression': ['000'], 'did not respond': []},
    'gnm-030': {'Human Gene Therapy': ['000', '001', '004'], 'cannot yet': [], 'untreatable': ['002']},
}
NEAR_MISS_KINDS = {"entity-swap": 10, "attribute": 8, "deeper": 6, "impossible": 3, "negation": 3}

errors = []


def err(msg):
    errors.append(msg)


def load(path):
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    err("%s:%d bad json: %s" % (path, n, e))
    return rows


def is_full_sentence(doc, s):
    t = TEXT[doc]
    i = t.find(s)
    if i < 0:
        return False
    before = t[:i].rstrip(" ")
    ok_start = i == 0 or before.endswith(("\n", ".", "?", "!", "\u201d", '"')) or t[i - 1] == "\n"
    ok_end = s.rstrip().endswith((".", "?", "!"))
    return ok_start and ok_end and s[:1].isupper()


# ---------------------------------------------------------------- claims
claims = load(CLAIMS)
CKEYS = {"id", "claim", "cites", "label", "source_doc", "source_quote", "kind"}
if len(claims) != 40:
    err("claims: expected 40 rows, got %d" % len(claims))
ids = [c.get("id") for c in claims]
if sorted(ids) != ["gbc-%03d" % i for i in range(1, 41)]:
    err("claims: ids must be gbc-001..gbc-040 exactly once")
labels = collections.Counter(c.get("label") for c in claims)
want = {"verbatim": 4, "supported": 14, "mismatch": 14, "wrong-source": 4, "unsupported": 4}
if dict(labels) != want:
    err("claims: label counts %s != %s" % (dict(labels), want))
mk = collections.Counter(c["kind"] for c in claims if c.get("label") == "mismatch")
if dict(mk) != MISMATCH_KINDS:
    err("claims: mismatch kinds %s" % dict(mk))
# labels should not be in blocks
seq = [c.get("label") for c in sorted(claims, key=lambda c: c.get("id", ""))]
if max(len(list(g)) for _, g in __import__("itertools").groupby(seq)) > 5:
    err("claims: labels look unshuffled")
if set(MISMATCH_ALTERED) != {c["id"] for c in claims if c.get("label") == "mismatch"}:
    err("claims: MISMATCH_ALTERED ids do not match mismatch rows")
if set(WRONG_SOURCE_ABSENT) != {c["id"] for c in claims if c.get("label") == "wrong-source"}:
    err("claims: WRONG_SOURCE_ABSENT ids do not match wrong-source rows")
if set(UNSUPPORTED_TERMS) != {c["id"] for c in claims if c.get("label") == "unsupported"}:
    err("claims: UNSUPPORTED_TERMS ids do not match unsupported rows")
seen_claims = set()
for c in claims:
    cid = c.get("id")
    if set(c) != CKEYS:
        err("%s: keys %s" % (cid, sorted(c)))
        continue
    if c["claim"] in seen_claims:
        err("%s: duplicate claim" % cid)
    seen_claims.add(c["claim"])
    if c["cites"] not in TEXT:
        err("%s: cites unknown file %r" % (cid, c["cites"]))
        continue
    lab, kind, sd, sq = c["label"], c["kind"], c["source_doc"], c["source_quote"]
    if lab == "unsupported":
        if sd is not None or sq is not None or kind != "unsupported":
            err("%s: unsupported must have null source and kind 'unsupported'" % cid)
        for term, docs in UNSUPPORTED_TERMS.get(cid, {}).items():
            if docs_with(term) != sorted(docs):
                err("%s: term %r occurs in %s, recorded %s" % (cid, term, docs_with(term), docs))
        # the claim's distinguishing terms must be absent everywhere
        if not any(not d for d in UNSUPPORTED_TERMS.get(cid, {}).values()):
            err("%s: no recorded term absent from all files" % cid)
        continue
    if sd not in TEXT or not isinstance(sq, str) or sq not in TEXT[sd]:
        err("%s: source_quote not an exact substring of %s" % (cid, sd))
        continue
    if lab == "verbatim":
        if kind != "verbatim" or sd != c["cites"] or c["claim"] != sq:
            err("%s: verbatim must equal its quote and cite its source" % cid)
        if not is_full_sentence(sd, sq):
            err("%s: verbatim quote is not a full sentence" % cid)
    elif lab == "supported":
        if kind not in {"synonyms", "reordered", "voice", "summary"} or sd != c["cites"]:
            err("%s: supported kind/source wrong" % cid)
        r = longest_run(c["claim"], sq)
        if r >= 6:
            err("%s: supported claim copies a %d-word run" % (cid, r))
    elif lab == "mismatch":
        if sd != c["cites"] or kind not in MISMATCH_KINDS:
            err("%s: mismatch must cite its source doc" % cid)
        for alt in MISMATCH_ALTERED.get(cid, []):
            if norm(alt) not in norm(c["claim"]):
                err("%s: altered string %r not in claim" % (cid, alt))
            if norm(alt) in norm(TEXT[c["cites"]]):
                err("%s: altered string %r occurs in cited file" % (cid, alt))
        if not MISMATCH_ALTERED.get(cid):
            err("%s: no altered strings recorded" % cid)
    elif lab == "wrong-source":
        if kind != "wrong-source" or sd == c["cites"]:
            err("%s: wrong-source must cite a different file than its source" % cid)
        r = longest_run(c["claim"], sq)
        if r >= 6:
            err("%s: wrong-source claim copies a %d-word run" % (cid, r))
        for s in WRONG_SOURCE_ABSENT.get(cid, []):
            if norm(s) in norm(TEXT[c["cites"]]):
                err("%s: key string %r occurs in cited file" % (cid, s))
            if norm(s) not in norm(c["claim"]) and norm(s) not in norm(sq):
                err("%s: key string %r must appear in claim or source quote" % (cid, s))
    else:
        err("%s: unknown label %r" % (cid, lab))

# ---------------------------------------------------------------- questions
qs = load(QUESTIONS)
QKEYS = {"id", "question", "answers", "evidence", "answerable", "tags"}
if len(qs) != 50:
    err("questions: expected 50 rows, got %d" % len(qs))
qids = [x.get("id") for x in qs]
want_ids = ["gnm-%03d" % i for i in range(1, 31)] + ["gpa-%03d" % i for i in range(1, 21)]
if sorted(qids) != sorted(want_ids):
    err("questions: ids must be gnm-001..030 and gpa-001..020 exactly once")
if set(NEAR_MISS_TERMS) != {"gnm-%03d" % i for i in range(1, 31)}:
    err("questions: NEAR_MISS_TERMS ids wrong")
nk = collections.Counter()
seen_q = set()
for x in qs:
    qid = x.get("id", "?")
    if set(x) != QKEYS:
        err("%s: keys %s" % (qid, sorted(x)))
        continue
    if x["question"] in seen_q:
        err("%s: duplicate question" % qid)
    seen_q.add(x["question"])
    if not x["question"].rstrip().endswith("?"):
        err("%s: question should end with '?'" % qid)
    if qid.startswith("gnm-"):
        t = x["tags"]
        if x["answers"] != [] or x["evidence"] != [] or x["answerable"] is not False:
            err("%s: near-miss must have empty answers/evidence and answerable false" % qid)
        if len(t) != 3 or t[:2] != ["unanswerable", "near-miss"] or t[2] not in NEAR_MISS_KINDS:
            err("%s: bad tags %s" % (qid, t))
        else:
            nk[t[2]] += 1
        terms = NEAR_MISS_TERMS.get(qid, {})
        if len(terms) < 2:
            err("%s: fewer than 2 recorded key terms" % qid)
        if not any(docs for docs in terms.values()):
            err("%s: question names nothing from the corpus" % qid)
        for term, docs in terms.items():
            if docs_with(term) != sorted(docs):
                err("%s: term %r occurs in %s, recorded %s" % (qid, term, docs_with(term), docs))
    elif qid.startswith("gpa-"):
        if x["answerable"] is not True or x["tags"] != ["paraphrase"]:
            err("%s: paraphrase must be answerable with tags ['paraphrase']" % qid)
        if not x["answers"] or not all(isinstance(a, str) and a for a in x["answers"]):
            err("%s: answers missing" % qid)
        if not x["evidence"]:
            err("%s: evidence missing" % qid)
        for ev in x["evidence"]:
            if set(ev) != {"doc", "quote"} or ev["doc"] not in TEXT:
                err("%s: bad evidence %s" % (qid, ev))
                continue
            if ev["quote"] not in TEXT[ev["doc"]]:
                err("%s: quote not an exact substring of %s" % (qid, ev["doc"]))
            r = longest_run(x["question"], ev["quote"])
            if r >= 5:
                err("%s: question shares a %d-word run with its quote" % (qid, r))
        for a in x["answers"]:
            if not any(a in ev.get("quote", "") for ev in x["evidence"]):
                err("%s: answer %r not inside any evidence quote" % (qid, a))
if dict(nk) != NEAR_MISS_KINDS:
    err("questions: near-miss kinds %s != %s" % (dict(nk), NEAR_MISS_KINDS))

if errors:
    for e in errors:
        print("FAIL:", e)
    print("%d problem(s)" % len(errors))
    sys.exit(1)
print("OK: %d claims, %d questions verified" % (len(claims), len(qs)))
