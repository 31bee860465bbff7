#!/usr/bin/env python3
"""Verify evals/claims/gene_therapy_blind_c.jsonl against the corpus. Exits non-zero on failure."""
import json, os, re, sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "corpus"))
DATA = os.path.join(HERE, "gene_therapy_blind_c.jsonl")

KEYS = {"id", "claim", "cites", "label", "source_doc", "source_quote", "kind"}
LABEL_COUNTS = {"verbatim": 4, "supported": 14, "mismatch": 14, "wrong-source": 4, "unsupported": 4}
SUPPORTED_KINDS = {"synonyms", "reordered", "voice", "summary"}
MISMATCH_KIND_COUNTS = {"number": 2, "roles": 2, "negation": 2, "term": 2, "date": 2, "direction": 2, "name": 2}

# Hand-recorded: id -> list of (original string in source_quote, altered string in claim).
# Each altered string must appear in the claim and nowhere in the cited file.
MISMATCH_ALTERED = {
    "gbx-003": [("Juan Bueren, from Centro", "Alberto Auricchio of TIGEM, who is president"),
                ("Alberto Auricchio, from Telethon", "Bueren of CIEMAT, who serves as the society's vice-president")],
    "gbx-010": [("3.5 million", "2.8 million")],
    "gbx-013": [("Luigi Naldini", "Fulvio Mavilio")],
    "gbx-016": [("47th", "48th")],
    "gbx-019": [("In 1990", "1985")],
    "gbx-020": [("hematopoietic stem cells", "neural stem cells")],
    "gbx-021": [("has not yet approved", "has already given approval")],
    "gbx-023": [("AAV9 crosses the blood-brain barrier", "AAV2 is able to cross the blood-brain barrier"),
                ("AAV2 targets retinal cells", "AAV9 is the one that targets retinal cells")],
    "gbx-024": [("July 11", "June 11")],
    "gbx-026": [("slowing the field", "sped up the field")],
    "gbx-030": [("subretinal injection", "intravitreal injection")],
    "gbx-035": [("has shown to be safe", "has not yet proven safe")],
    "gbx-036": [("Texas Children's Hospital", "Boston Children's Hospital")],
    "gbx-038": [("reactivate fetal hemoglobin", "shut down fetal hemoglobin")],
}

# Hand-recorded: id -> key facts (whole-word, case-insensitive) that must be in the claim
# and in the true source file, but absent from the cited file.
WRONG_SOURCE_FACTS = {
    "gbx-006": ["CRISPR", "CAR-T", "RNA"],
    "gbx-012": ["Gelsinger", "ornithine transcarbamylase", "1999"],
    "gbx-031": ["serotype", "antibodies", "50 percent"],
    "gbx-032": ["lentiviral", "cultures", "transfus"],
}

# Hand-recorded: id -> {key term: set of corpus file prefixes containing it}.
# Every term must appear in the claim; actual file sets must match; at least one term in no file.
UNSUPPORTED_TERMS = {
    "gbx-001": {"Luxturna": {"002", "003"}, "850,000": set(), "both eyes": set()},
    "gbx-005": {"Glybera": set(), "lipoprotein lipase": set(), "Western world": set(), "2012": set()},
    "gbx-027": {"Elevidys": set(), "micro-dystrophin": set(), "dystrophin": {"002"},
                "Duchenne muscular dystrophy": {"002"}},
    "gbx-037": {"Strimvelis": set(), "European Medicines Agency": set(), "2016": set(), "ADA": {"003"}},
}

HYPHENS = dict.fromkeys(map(ord, "\u2010\u2011\u2012"), "-")


def norm(s):
    return s.translate(HYPHENS).lower()


def has_term(text, term):
    t = norm(term)
    pat = (r"(?<![a-z0-9])" if t[0].isalnum() else "") + re.escape(t)
    if t[-1].isalnum() and not t.endswith("transfus"):
        pat += r"(?![a-z0-9])"
    return re.search(pat, norm(text)) is not None


def tokens(s):
    return re.findall(r"[a-z0-9]+", norm(s))


def ngrams(toks, n=6):
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def main():
    errors = []
    err = errors.append
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".txt"))
    text = {f: open(os.path.join(CORPUS, f), encoding="utf-8").read() for f in files}
    grams = {f: ngrams(tokens(t)) for f, t in text.items()}
    prefix = {f.split("_")[0]: f for f in files}

    rows = []
    with open(DATA, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                err(f"line {n}: blank line")
                continue
            rows.append(json.loads(line))

    if len(rows) != 40:
        err(f"expected 40 rows, got {len(rows)}")
    ids = [r.get("id") for r in rows]
    if ids != ["gbx-%03d" % i for i in range(1, 41)]:
        err("ids are not gbx-001..gbx-040 in order")
    labels = Counter(r.get("label") for r in rows)
    if dict(labels) != LABEL_COUNTS:
        err(f"label counts {dict(labels)} != {LABEL_COUNTS}")
    mk = Counter(r.get("kind") for r in rows if r.get("label") == "mismatch")
    if dict(mk) != MISMATCH_KIND_COUNTS:
        err(f"mismatch kinds {dict(mk)} != {MISMATCH_KIND_COUNTS}")
    # labels must be shuffled: no run of 4+ equal labels
    lab_seq = [r.get("label") for r in rows]
    for i in range(len(lab_seq) - 3):
        if len(set(lab_seq[i:i + 4])) == 1:
            err(f"labels not shuffled near row {i + 1}")
            break

    used_source = Counter()
    for r in rows:
        rid = r.get("id")
        if set(r) != KEYS:
            err(f"{rid}: keys {sorted(r)}")
            continue
        lab, kind, claim, cites = r["label"], r["kind"], r["claim"], r["cites"]
        sd, sq = r["source_doc"], r["source_quote"]
        if cites not in text:
            err(f"{rid}: cites unknown file {cites!r}")
            continue
        if lab == "unsupported":
            if sd is not None or sq is not None:
                err(f"{rid}: unsupported must have null source_doc/source_quote")
            if kind != "unsupported":
                err(f"{rid}: unsupported kind {kind!r}")
        else:
            if sd not in text:
                err(f"{rid}: bad source_doc {sd!r}")
                continue
            if not isinstance(sq, str) or sq not in text[sd]:
                err(f"{rid}: source_quote is not an exact substring of {sd}")
                continue
            used_source[sd] += 1
        if lab == "verbatim":
            if kind != "verbatim" or claim != sq or cites != sd:
                err(f"{rid}: verbatim must equal quote and cite its source")
        elif lab == "supported":
            if kind not in SUPPORTED_KINDS or cites != sd:
                err(f"{rid}: supported kind/cites wrong")
        elif lab == "mismatch":
            if cites != sd:
                err(f"{rid}: mismatch must cite its source_doc")
            pairs = MISMATCH_ALTERED.get(rid)
            if not pairs:
                err(f"{rid}: no hand-recorded altered strings")
            for orig, alt in pairs or []:
                if norm(orig) not in norm(sq):
                    err(f"{rid}: original {orig!r} not in source_quote")
                if norm(alt) not in norm(claim):
                    err(f"{rid}: altered {alt!r} not in claim")
                if norm(alt) in norm(text[cites]):
                    err(f"{rid}: altered {alt!r} occurs in cited file")
        elif lab == "wrong-source":
            if cites == sd or kind != "wrong-source":
                err(f"{rid}: wrong-source must cite a different file")
            facts = WRONG_SOURCE_FACTS.get(rid)
            if not facts:
                err(f"{rid}: no hand-recorded key facts")
            for fct in facts or []:
                if not has_term(claim, fct):
                    err(f"{rid}: key fact {fct!r} not in claim")
                if not has_term(text[sd], fct):
                    err(f"{rid}: key fact {fct!r} not in true source {sd}")
                if has_term(text[cites], fct):
                    err(f"{rid}: key fact {fct!r} occurs in cited file {cites}")
        elif lab == "unsupported":
            terms = UNSUPPORTED_TERMS.get(rid)
            if not terms:
                err(f"{rid}: no hand-recorded key terms")
                continue
            if not any(not s for s in terms.values()):
                err(f"{rid}: needs at least one term absent from every file")
            for term, want in terms.items():
                if not has_term(claim, term):
                    err(f"{rid}: term {term!r} not in claim")
                got = {f.split('_')[0] for f in files if has_term(text[f], term)}
                if got != want:
                    err(f"{rid}: term {term!r} in files {sorted(got)}, recorded {sorted(want)}")
        else:
            err(f"{rid}: unknown label {lab!r}")

        # no 6-word run copied from the cited/source file (from any file for unsupported)
        if lab != "verbatim":
            cg = ngrams(tokens(claim))
            check = files if lab == "unsupported" else {cites, sd}
            for f in check:
                hit = cg & grams[f]
                if hit:
                    err(f"{rid}: copies 6-word run from {f}: {' '.join(sorted(hit)[0])!r}")

    # every file used as a source
    for f in files:
        if used_source[f] == 0:
            err(f"corpus file {f} never used as a source")
    for k in list(MISMATCH_ALTERED) + list(WRONG_SOURCE_FACTS) + list(UNSUPPORTED_TERMS):
        if k not in ids:
            err(f"hand-recorded id {k} not in data")

    if errors:
        for e in errors:
            print("FAIL:", e)
        print(f"{len(errors)} problem(s)")
        return 1
    print(f"OK: {len(rows)} claims; labels {dict(labels)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
