#!/usr/bin/env python3
"""Checks evals/claims/covid_test_blind_c.jsonl (80 citation-checker claims over COVID-QA *test* articles).

Run from /work/main:  python3 evals/claims/verify_covid_test_blind_c.py
Corpus: ../../../shared/benchmarks/covid-qa/ relative to this script's folder.
Exits 0 when every check passes, 1 otherwise.

Checks: exact keys; ids tcc-001..tcc-080 in order; label and kind counts; labels shuffled; every cited /
source article is a test article (gold article of a split=="test" question); source_quote is a verbatim
substring of source_doc; verbatim claim == quote and the quote is a full sentence; supported claims are not
copied and share no run of 6+ words with the cited article; mismatch: original fact in quote, altered fact
in claim and absent (case-insensitive) from the source article; wrong-source: key fact in source article B
(and its quote) and absent from cited article A; unsupported: null source, and the key-term searches over all
98 articles return exactly the article sets that were read by hand and found not to state the claim.
"""
import json, os, re, sys, collections

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'shared', 'benchmarks', 'covid-qa'))
CORPUS = os.path.join(BENCH, 'corpus.jsonl')
QUESTIONS = os.path.join(BENCH, 'questions.jsonl')
CLAIMS = os.path.join(HERE, 'covid_test_blind_c.jsonl')

KEYS = {'id', 'claim', 'cites', 'label', 'source_doc', 'source_quote', 'kind'}
LABEL_COUNTS = {'verbatim': 10, 'supported': 25, 'mismatch': 30, 'wrong-source': 10, 'unsupported': 5}
KIND_COUNTS = {
    'verbatim': {'verbatim': 10},
    'supported': {'synonyms': 6, 'reordered': 6, 'voice': 6, 'summary': 7},
    'mismatch': {'number': 6, 'roles': 5, 'negation': 4, 'term': 4, 'date': 4, 'direction': 4, 'name': 3},
    'wrong-source': {'wrong-source': 10},
    'unsupported': {'unsupported': 5},
}
MAX_SHARED_RUN = 5          # supported claim vs. whole cited article (a 6-word run fails)
MIN_DISTINCT_CITED = 35

# Hand-recorded review data.
MISMATCH = {
 "tcc-001": {
  "orig": "more rapid within-host",
  "alt": "slower within-host"
 },
 "tcc-002": {
  "orig": "February 9, 2020",
  "alt": "February 19"
 },
 "tcc-007": {
  "orig": "Harare",
  "alt": "Bulawayo"
 },
 "tcc-010": {
  "orig": "January 30, 2020",
  "alt": "January 23, 2020"
 },
 "tcc-011": {
  "orig": "has not been identified",
  "alt": "confirmed as the transmission vector"
 },
 "tcc-015": {
  "orig": "did not correspond",
  "alt": "matched the findings"
 },
 "tcc-016": {
  "orig": "prolonged mRNA half-life",
  "alt": "shortened the mRNA half-life"
 },
 "tcc-017": {
  "orig": "56,671",
  "alt": "65,671"
 },
 "tcc-018": {
  "orig": "in atopic volunteers",
  "alt": "non-atopic volunteers"
 },
 "tcc-019": {
  "orig": "21 and 25 million",
  "alt": "21 and 35 million"
 },
 "tcc-023": {
  "orig": "82%",
  "alt": "72%"
 },
 "tcc-025": {
  "orig": "in Austria",
  "alt": "in Germany"
 },
 "tcc-026": {
  "orig": "lower than that of the reference drug",
  "alt": "times more active"
 },
 "tcc-027": {
  "orig": "larger ventricles",
  "alt": "substantially smaller"
 },
 "tcc-028": {
  "orig": "airborne infection isolation",
  "alt": "contact isolation"
 },
 "tcc-031": {
  "orig": "from the sink to patients",
  "alt": "from patients to the sink"
 },
 "tcc-036": {
  "orig": "epithelial cells",
  "alt": "smooth muscle cells"
 },
 "tcc-042": {
  "orig": "Seven monoclonal antibodies",
  "alt": "Nine monoclonal antibodies"
 },
 "tcc-044": {
  "orig": "March 2009",
  "alt": "January 2009"
 },
 "tcc-045": {
  "orig": "against papain",
  "alt": "cathepsin B"
 },
 "tcc-046": {
  "orig": "World-Clim",
  "alt": "Climatic Research Unit"
 },
 "tcc-050": {
  "orig": "56",
  "alt": "65 lives"
 },
 "tcc-056": {
  "orig": "7 January 2020",
  "alt": "17 January 2020"
 },
 "tcc-067": {
  "orig": "transmitted among the bats",
  "alt": "then passed on to bats"
 },
 "tcc-068": {
  "orig": "around latrines",
  "alt": "around water points"
 },
 "tcc-071": {
  "orig": "only 60%",
  "alt": "only 40%"
 },
 "tcc-074": {
  "orig": "The general hospital is responsible",
  "alt": "transfers patients to the general hospital"
 },
 "tcc-075": {
  "orig": "did not show any cross-reactivity",
  "alt": "cross-reacted with"
 },
 "tcc-076": {
  "orig": "was not successful",
  "alt": "succeeded in isolating"
 },
 "tcc-079": {
  "orig": "rVSV(VSV-G) was injected into the motor cortex",
  "alt": "rVSV(RABV-G) into the motor cortex"
 }
}

WRONG_SOURCE = {
 "tcc-003": {
  "key": "lower than 10%"
 },
 "tcc-006": {
  "key": "a further 10 days"
 },
 "tcc-012": {
  "key": "intermediate host"
 },
 "tcc-032": {
  "key": "75.6%"
 },
 "tcc-040": {
  "key": "through the eye"
 },
 "tcc-047": {
  "key": "13.3%"
 },
 "tcc-051": {
  "key": "395 faecal samples"
 },
 "tcc-055": {
  "key": "twice more likely"
 },
 "tcc-058": {
  "key": "rheumatoid arthritis"
 },
 "tcc-066": {
  "key": "detected only once"
 }
}

UNSUPPORTED = {
 "tcc-014": {
  "queries": [
   {
    "terms": [
     "D-dimer"
    ],
    "reviewed": []
   },
   {
    "terms": [
     "dimer",
     "2019-nCoV"
    ],
    "reviewed": []
   }
  ]
 },
 "tcc-048": {
  "queries": [
   {
    "terms": [
     "e-cigarette"
    ],
    "reviewed": []
   },
   {
    "terms": [
     "electronic cigarette"
    ],
    "reviewed": []
   },
   {
    "terms": [
     "vaping"
    ],
    "reviewed": []
   }
  ]
 },
 "tcc-049": {
  "queries": [
   {
    "terms": [
     "nelfinavir",
     "mice"
    ],
    "reviewed": [
     "2437"
    ]
   },
   {
    "terms": [
     "nelfinavir",
     "Japanese encephalitis"
    ],
    "reviewed": [
     "2437"
    ]
   }
  ]
 },
 "tcc-057": {
  "queries": [
   {
    "terms": [
     "aged 80"
    ],
    "reviewed": []
   },
   {
    "terms": [
     "Diamond Princess",
     "elderly"
    ],
    "reviewed": []
   },
   {
    "terms": [
     "Diamond Princess",
     "age group"
    ],
    "reviewed": [
     "2526"
    ]
   }
  ]
 },
 "tcc-080": {
  "queries": [
   {
    "terms": [
     "carrageenan",
     "oseltamivir"
    ],
    "reviewed": [
     "1629"
    ]
   },
   {
    "terms": [
     "oseltamivir",
     "H7N7"
    ],
    "reviewed": [
     "1629",
     "2684"
    ]
   }
  ]
 }
}

failures = []
def fail(msg):
    failures.append(msg)
    print('FAIL', msg)

def load_jsonl(p):
    with open(p, encoding='utf-8') as f:
        return [json.loads(l) for l in f if l.strip()]

docs = {d['doc_id']: d['text'] for d in load_jsonl(CORPUS)}
lower = {k: v.lower() for k, v in docs.items()}
test = {g for q in load_jsonl(QUESTIONS) if q['split'] == 'test' for g in q['gold_doc_ids']}
if len(docs) != 98 or len(test) != 65:
    fail('unexpected corpus/test size: %d articles, %d test' % (len(docs), len(test)))

def hits(terms):
    return sorted(d for d, t in lower.items() if all(x.lower() in t for x in terms))

def toks(s):
    return re.findall(r'[a-z0-9]+', s.lower())

def longest_shared_run(a, b):
    A = toks(a); B = ' ' + ' '.join(toks(b)) + ' '; best = 0
    for n in range(1, len(A) + 1):
        if any(' ' + ' '.join(A[i:i + n]) + ' ' in B for i in range(len(A) - n + 1)):
            best = n
        else:
            break
    return best

def is_full_sentence(text, quote):
    i = text.find(quote)
    if i < 0: return False
    before = text[:i].rstrip(' ')
    ok_start = (before == '' or before.endswith('\n') or before[-1] in '.!?)]') and quote[:1].isupper()
    ok_end = quote.rstrip().endswith(('.', '!', '?'))
    return ok_start and ok_end

cl = load_jsonl(CLAIMS)
if len(cl) != 80: fail('expected 80 claims, found %d' % len(cl))
labels = collections.Counter(); kinds = collections.defaultdict(collections.Counter)
cited = set(); used = set()
for i, r in enumerate(cl, 1):
    iid = r.get('id')
    if set(r) != KEYS: fail('%s: keys %s' % (iid, sorted(r))); continue
    if iid != 'tcc-%03d' % i: fail('%s: id out of sequence (expected tcc-%03d)' % (iid, i))
    lab, kind, cites, sd, sq, claim = r['label'], r['kind'], r['cites'], r['source_doc'], r['source_quote'], r['claim']
    labels[lab] += 1; kinds[lab][kind] += 1
    if not isinstance(cites, str) or cites not in test: fail('%s: cites %r is not a test article' % (iid, cites)); continue
    cited.add(cites); used.add(cites)
    if not isinstance(claim, str) or not claim.strip() or '\n' in claim:
        fail('%s: claim must be one non-empty line' % iid)
    if lab == 'unsupported':
        if sd is not None or sq is not None: fail('%s: unsupported needs null source_doc/source_quote' % iid)
        c = UNSUPPORTED.get(iid)
        if c is None: fail('%s: no review record' % iid); continue
        for q in c['queries']:
            h = hits(q['terms'])
            if h != sorted(q['reviewed']):
                fail('%s: query %s hits %s, reviewed %s' % (iid, q['terms'], h, q['reviewed']))
        continue
    if sd not in test: fail('%s: source_doc %r is not a test article' % (iid, sd)); continue
    used.add(sd)
    text = docs[sd]
    if not isinstance(sq, str) or sq not in text: fail('%s: source_quote not verbatim in %s' % (iid, sd)); continue
    if lab == 'verbatim':
        if claim != sq or cites != sd: fail('%s: verbatim claim must equal its quote and cite its source' % iid)
        if not is_full_sentence(text, sq): fail('%s: verbatim quote is not a full sentence' % iid)
    elif lab == 'supported':
        if cites != sd: fail('%s: supported must cite its source' % iid)
        if claim == sq or claim in text: fail('%s: supported claim copied from the article' % iid)
        n = longest_shared_run(claim, text)
        if n > MAX_SHARED_RUN: fail('%s: supported claim shares a %d-word run with article %s' % (iid, n, sd))
    elif lab == 'mismatch':
        if cites != sd: fail('%s: mismatch must cite its source' % iid)
        if claim in text: fail('%s: mismatch claim copied from the article' % iid)
        c = MISMATCH.get(iid)
        if c is None: fail('%s: no mismatch record' % iid); continue
        if c['orig'] not in sq: fail('%s: original fact %r not in quote' % (iid, c['orig']))
        if c['alt'] not in claim: fail('%s: altered fact %r not in claim' % (iid, c['alt']))
        if c['alt'].lower() in lower[sd]: fail('%s: altered fact %r occurs in source article' % (iid, c['alt']))
    elif lab == 'wrong-source':
        if cites == sd: fail('%s: wrong-source must cite a different article' % iid)
        c = WRONG_SOURCE.get(iid)
        if c is None: fail('%s: no wrong-source record' % iid); continue
        if c['key'] not in sq: fail('%s: key %r not in source quote' % (iid, c['key']))
        if c['key'].lower() in lower[cites]: fail('%s: key %r also in cited article %s' % (iid, c['key'], cites))
    else:
        fail('%s: unknown label %r' % (iid, lab))

for lab, n in LABEL_COUNTS.items():
    if labels[lab] != n: fail('label %s: expected %d, found %d' % (lab, n, labels[lab]))
    if dict(kinds[lab]) != KIND_COUNTS[lab]:
        fail('label %s: kinds %s, expected %s' % (lab, dict(kinds[lab]), KIND_COUNTS[lab]))
extra = set(labels) - set(LABEL_COUNTS)
if extra: fail('unexpected labels %s' % sorted(extra))
seq = [r.get('label') for r in cl]
changes = sum(1 for a, b in zip(seq, seq[1:]) if a != b)
if changes < 40: fail('labels look unshuffled (%d label changes)' % changes)
for name, recs, lab in (('mismatch', MISMATCH, 'mismatch'), ('wrong-source', WRONG_SOURCE, 'wrong-source'),
                        ('unsupported', UNSUPPORTED, 'unsupported')):
    ids = {r['id'] for r in cl if r.get('label') == lab}
    if set(recs) != ids: fail('%s records do not match claim ids: %s' % (name, sorted(set(recs) ^ ids)))
if len(cited) < MIN_DISTINCT_CITED: fail('claims cite only %d distinct test articles' % len(cited))

print('claims: %d; labels %s' % (len(cl), dict(labels)))
for lab in LABEL_COUNTS:
    print('   %-13s %s' % (lab, dict(sorted(kinds[lab].items()))))
print('distinct cited test articles: %d; articles used (cited or source): %d' % (len(cited), len(used)))
if failures:
    print('\n%d check(s) FAILED' % len(failures))
    sys.exit(1)
print('\nALL CHECKS PASSED')
