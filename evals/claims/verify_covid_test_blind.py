#!/usr/bin/env python3
"""Checks covid_test_blind.jsonl (80 held-out citation claims over the COVID-QA *test* articles).

Run from /work/main:  python3 evals/claims/verify_covid_test_blind.py
Exits 0 when every check passes, 1 otherwise.

What is checked
- format: exact keys, ids tcl-001..tcl-080 in order, counts per label and per kind;
- sources: every cited article and every source article is a test article (a gold article of a split=="test"
  question); the claims cite at least 30 distinct test articles;
- quotes: every source_quote is an exact substring of source_doc's text;
- verbatim: claim == source_quote and cites == source_doc;
- supported: cites == source_doc, claim is not copied from the article and shares no run of 6+ consecutive
  words with the article (tokens = [a-z0-9]+, lower-cased);
- mismatch: cites == source_doc; the original fact is in the quote; the hand-recorded altered string is in the
  claim and occurs nowhere in the source article (case-insensitive);
- wrong-source: cites != source_doc; the key fact is in the source article and absent from the cited one;
- unsupported: source_doc/source_quote null; for each hand-recorded query the set of articles (of all 98)
  containing all key terms must equal the set that was read by hand and found not to support the claim.
"""
import json, os, re, sys, collections

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'shared', 'benchmarks', 'covid-qa'))
CORPUS = os.path.join(BENCH, 'corpus.jsonl')
QUESTIONS = os.path.join(BENCH, 'questions.jsonl')
CLAIMS = os.path.join(HERE, 'covid_test_blind.jsonl')

KEYS = {'id', 'claim', 'cites', 'label', 'source_doc', 'source_quote', 'kind'}
LABEL_COUNTS = {'verbatim': 10, 'supported': 25, 'mismatch': 30, 'wrong-source': 10, 'unsupported': 5}
KIND_COUNTS = {
    'verbatim': {'verbatim': 10},
    'supported': {'synonyms': 6, 'reordered': 6, 'voice': 6, 'summary': 7},
    'mismatch': {'number': 6, 'roles': 5, 'negation': 4, 'term': 4, 'date': 4, 'direction': 4, 'name': 3},
    'wrong-source': {'wrong-source': 10},
    'unsupported': {'unsupported': 5},
}
MAX_SHARED_RUN = 5      # supported claims: longest run of words shared with the article
MIN_ARTICLES = 30

# Hand-recorded review data (keyed by claim id).
RECORDS = {
 "mismatch": {
  "tcl-001": {
   "orig": "infected by giant viruses",
   "alt": "infected by virophages"
  },
  "tcl-005": {
   "orig": "negatively correlated with mean relative humidity",
   "alt": "positively with both"
  },
  "tcl-006": {
   "orig": "antibody against mouse CD40L",
   "alt": "against cotton rat CD40L"
  },
  "tcl-011": {
   "orig": "decided not to declare",
   "alt": "decided to declare"
  },
  "tcl-012": {
   "orig": "60% penetrant",
   "alt": "80%"
  },
  "tcl-014": {
   "orig": "no statistically significant difference",
   "alt": "a statistically significant difference"
  },
  "tcl-016": {
   "orig": "April 15",
   "alt": "April 25"
  },
  "tcl-017": {
   "orig": "31 December 2019",
   "alt": "30 December"
  },
  "tcl-020": {
   "orig": "January 2011",
   "alt": "2012"
  },
  "tcl-022": {
   "orig": "missense",
   "alt": "nonsense"
  },
  "tcl-025": {
   "orig": "significant decrease",
   "alt": "significantly increased"
  },
  "tcl-027": {
   "orig": "no virus was identified in 75%",
   "alt": "a respiratory virus was identified in 75%"
  },
  "tcl-031": {
   "orig": "Sichuan",
   "alt": "Yunnan"
  },
  "tcl-033": {
   "orig": "significantly higher",
   "alt": "significantly lower"
  },
  "tcl-039": {
   "orig": "response rate of 96%",
   "alt": "91%"
  },
  "tcl-040": {
   "orig": "22nd January 2020",
   "alt": "23 January"
  },
  "tcl-044": {
   "orig": "diarrhea (3%)",
   "alt": "vomiting"
  },
  "tcl-045": {
   "orig": "Harare",
   "alt": "Bulawayo"
  },
  "tcl-047": {
   "orig": "less likely to be diagnosed with RSV",
   "alt": "more likely to be diagnosed with RSV"
  },
  "tcl-048": {
   "orig": "82%",
   "alt": "86%"
  },
  "tcl-052": {
   "orig": "H7N9",
   "alt": "H10N8"
  },
  "tcl-055": {
   "orig": "induced in a PERK-dependent manner",
   "alt": "Induction of PERK"
  },
  "tcl-058": {
   "orig": "viral load in the brain",
   "alt": "liver"
  },
  "tcl-060": {
   "orig": "bat immune defenses may drive the evolution of faster transmitting viruses",
   "alt": "viruses may drive the evolution of bat"
  },
  "tcl-066": {
   "orig": "72 other countries",
   "alt": "62 other"
  },
  "tcl-069": {
   "orig": "19 of 30",
   "alt": "19 of 36"
  },
  "tcl-071": {
   "orig": "failed to find any fully permissive",
   "alt": "found several fully permissive"
  },
  "tcl-074": {
   "orig": "persisted for 8 days",
   "alt": "12 days"
  },
  "tcl-075": {
   "orig": "Brazil",
   "alt": "Chile"
  },
  "tcl-078": {
   "orig": "suppressed T20’s antiviral activity",
   "alt": "suppressed the antiviral activity of AP3"
  }
 },
 "wrong_source": {
  "tcl-002": "ORF9",
  "tcl-008": "1000 bed",
  "tcl-009": "65.7%",
  "tcl-013": "external subdomain",
  "tcl-021": "Identify-Isolate-Inform",
  "tcl-034": "placenta",
  "tcl-042": "75,000",
  "tcl-049": "smok",
  "tcl-050": "resilience",
  "tcl-063": "glomerul"
 },
 "unsupported": {
  "tcl-037": [
   {
    "terms": [
     "P-trap",
     "bleach"
    ],
    "reviewed": []
   },
   {
    "terms": [
     "P-trap",
     "disinfect"
    ],
    "reviewed": [
     "2585"
    ]
   }
  ],
  "tcl-038": [
   {
    "terms": [
     "hearing"
    ],
    "reviewed": []
   },
   {
    "terms": [
     "inner ear"
    ],
    "reviewed": []
   }
  ],
  "tcl-051": [
   {
    "terms": [
     "azithromycin"
    ],
    "reviewed": []
   }
  ],
  "tcl-054": [
   {
    "terms": [
     "MEWDS",
     "steroid"
    ],
    "reviewed": []
   },
   {
    "terms": [
     "MEWDS",
     "treat"
    ],
    "reviewed": [
     "1554"
    ]
   }
  ],
  "tcl-059": [
   {
    "terms": [
     "nicotine"
    ],
    "reviewed": []
   },
   {
    "terms": [
     "smok",
     "ACE2"
    ],
    "reviewed": []
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
print('corpus articles: %d, test articles: %d' % (len(docs), len(test)))
if len(docs) != 98 or len(test) != 65:
    fail('unexpected corpus/test size')

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

cl = load_jsonl(CLAIMS)
if len(cl) != 80: fail('expected 80 claims, found %d' % len(cl))
labels = collections.Counter(); kinds = collections.defaultdict(collections.Counter)
seen_records = collections.Counter()
for i, r in enumerate(cl, 1):
    iid = r.get('id')
    if set(r) != KEYS: fail('%s: keys %s' % (iid, sorted(r))); continue
    if iid != 'tcl-%03d' % i: fail('%s: id out of sequence (expected tcl-%03d)' % (iid, i))
    lab, kind, cites, sd, sq, claim = r['label'], r['kind'], r['cites'], r['source_doc'], r['source_quote'], r['claim']
    labels[lab] += 1; kinds[lab][kind] += 1
    if not isinstance(claim, str) or not claim.strip(): fail('%s: empty claim' % iid)
    if not isinstance(cites, str) or cites not in test: fail('%s: cites %r, not a test article' % (iid, cites)); continue
    if lab == 'unsupported':
        if sd is not None or sq is not None: fail('%s: unsupported needs null source_doc/source_quote' % iid)
        c = RECORDS['unsupported'].get(iid)
        if not c: fail('%s: no review record' % iid); continue
        seen_records['unsupported'] += 1
        for q in c:
            h = hits(q['terms'])
            if h != sorted(q['reviewed']):
                fail('%s query %s: articles now %s, reviewed %s' % (iid, q['terms'], h, q['reviewed']))
        continue
    if sd not in test: fail('%s: source_doc %r is not a test article' % (iid, sd)); continue
    text = docs[sd]
    if not isinstance(sq, str) or sq not in text: fail('%s: source_quote not an exact substring of %s' % (iid, sd)); continue
    if lab == 'verbatim':
        if claim != sq or cites != sd: fail('%s: verbatim claim must equal its quote and cite its source' % iid)
    elif lab == 'supported':
        if cites != sd: fail('%s: supported claim must cite its source' % iid)
        if claim == sq or claim in text: fail('%s: supported claim is copied from the article' % iid)
        n = longest_shared_run(claim, text)
        if n > MAX_SHARED_RUN: fail('%s: supported claim shares a %d-word run with article %s' % (iid, n, sd))
    elif lab == 'mismatch':
        if cites != sd: fail('%s: mismatch claim must cite its source' % iid)
        if claim in text: fail('%s: mismatch claim is copied from the article' % iid)
        c = RECORDS['mismatch'].get(iid)
        if not c: fail('%s: no mismatch record' % iid); continue
        seen_records['mismatch'] += 1
        if c['orig'] not in sq: fail('%s: original fact %r not in quote' % (iid, c['orig']))
        if c['alt'] not in claim: fail('%s: altered fact %r not in claim' % (iid, c['alt']))
        if c['alt'].lower() in lower[sd]: fail('%s: altered fact %r occurs in source article %s' % (iid, c['alt'], sd))
    elif lab == 'wrong-source':
        if cites == sd: fail('%s: wrong-source claim must cite a different article' % iid)
        key = RECORDS['wrong_source'].get(iid)
        if not key: fail('%s: no wrong-source record' % iid); continue
        seen_records['wrong-source'] += 1
        if key.lower() not in lower[sd]: fail('%s: key %r not in source article %s' % (iid, key, sd))
        if key.lower() in lower[cites]: fail('%s: key %r also in cited article %s' % (iid, key, cites))
    else:
        fail('%s: unknown label %r' % (iid, lab))

for lab, n in LABEL_COUNTS.items():
    if labels[lab] != n: fail('label %s: expected %d, found %d' % (lab, n, labels[lab]))
    if dict(kinds[lab]) != KIND_COUNTS[lab]:
        fail('label %s: kinds %s, expected %s' % (lab, dict(kinds[lab]), KIND_COUNTS[lab]))
for lab, key in (('mismatch', 'mismatch'), ('wrong-source', 'wrong_source'), ('unsupported', 'unsupported')):
    if len(RECORDS[key]) != LABEL_COUNTS[lab] or seen_records[lab] != LABEL_COUNTS[lab]:
        fail('records for %s do not match the claims (%d records, %d used)' % (lab, len(RECORDS[key]), seen_records[lab]))
cited = {r.get('cites') for r in cl}
if len(cited) < MIN_ARTICLES: fail('claims cite only %d distinct articles' % len(cited))

print()
print('claims: %d; labels %s' % (len(cl), dict(labels)))
for lab in LABEL_COUNTS:
    print('   %-13s %s' % (lab, dict(sorted(kinds[lab].items()))))
print('claims cite %d distinct test articles (%d incl. source articles)' % (
    len(cited), len(cited | {r.get('source_doc') for r in cl if r.get('source_doc')})))
if failures:
    print('\n%d check(s) FAILED' % len(failures))
    sys.exit(1)
print('\nALL CHECKS PASSED')
