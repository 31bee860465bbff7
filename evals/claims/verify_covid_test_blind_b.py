#!/usr/bin/env python3
"""Checks covid_test_blind_b.jsonl (80 hand-written citation claims over the COVID-QA *test* articles).

Run from /work/main:  python3 evals/claims/verify_covid_test_blind_b.py
Exits 0 when every check passes, 1 otherwise. Uses only the corpus and questions files
(../../../shared/benchmarks/covid-qa/ relative to this script's folder).

What is checked
- format: exact keys, ids tcb-001..tcb-080 in order, counts per label and per kind;
- sources: every cited article and every source_doc is a test article (gold article of a split=="test" question);
  claims cite at least 35 distinct test articles;
- quotes: every non-null source_quote is an exact substring of source_doc's text;
- verbatim: claim == source_quote, cites == source_doc, and the quote is a whole sentence of the article;
- supported: cites == source_doc; the claim is not in the article and shares no run of 6+ words
  (lower-cased [a-z0-9]+ tokens) with the quote or with the whole cited article;
- mismatch: cites == source_doc; the hand-recorded original fact is in the quote, the altered fact is in the
  claim and occurs nowhere in the source article (case-insensitive); the claim is not copied from the article;
- wrong-source: cites != source_doc; the hand-recorded key fact is in the source article (B) and absent from the
  cited article (A) (case-insensitive);
- unsupported: source_doc/source_quote are null; for each recorded key-term query, the set of articles (of all 98)
  containing all its terms equals the set that was read by hand and found not to state the claim.
"""
import json, os, re, sys, collections

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'shared', 'benchmarks', 'covid-qa'))
CORPUS = os.path.join(DATA, 'corpus.jsonl')
QUESTIONS = os.path.join(DATA, 'questions.jsonl')
CLAIMS = os.path.join(HERE, 'covid_test_blind_b.jsonl')

KEYS = {'id', 'claim', 'cites', 'label', 'source_doc', 'source_quote', 'kind'}
LABEL_COUNTS = {'verbatim': 10, 'supported': 25, 'mismatch': 30, 'wrong-source': 10, 'unsupported': 5}
KIND_COUNTS = {
    'verbatim': {'verbatim': 10},
    'supported': {'synonyms': 7, 'reordered': 6, 'voice': 6, 'summary': 6},
    'mismatch': {'number': 6, 'roles': 5, 'negation': 4, 'term': 4, 'date': 4, 'direction': 4, 'name': 3},
    'wrong-source': {'wrong-source': 10},
    'unsupported': {'unsupported': 5},
}
MAX_SHARED_RUN = 5        # supported claims: longest shared word run must be <= 5
MIN_DISTINCT_CITED = 35

# Hand-review record.
#  mismatch:     orig = fact as stated in the quote, alt = altered fact as written in the claim
#  wrong-source: key  = fact stated in source_doc (B) and absent from the cited article (A)
#  unsupported:  queries = key terms searched in all 98 articles; reviewed = the articles containing all terms,
#                each read by hand and found not to state the claim.
RECORDS = {
 "tcb-001": {
  "alt": "increase in influenza virus replication",
  "orig": "reduction in influenza virus replication"
 },
 "tcb-002": {
  "alt": "2010",
  "orig": "in 2008"
 },
 "tcb-003": {
  "key": "H7N9"
 },
 "tcb-006": {
  "key": "1.4 to 3.9"
 },
 "tcb-007": {
  "alt": "Beijing Synchrotron Radiation Facility",
  "orig": "Shanghai Synchrotron Radiation Facility"
 },
 "tcb-010": {
  "alt": "January 23, 2020",
  "orig": "January 30, 2020"
 },
 "tcb-011": {
  "alt": "differed between species",
  "orig": "we did not detect any differences between species"
 },
 "tcb-012": {
  "key": "MyD88"
 },
 "tcb-014": {
  "queries": [
   {
    "reviewed": [],
    "terms": [
     "Tdap"
    ]
   },
   {
    "reviewed": [
     "1571",
     "1574"
    ],
    "terms": [
     "pertussis",
     "pregnan",
     "incidence"
    ]
   }
  ]
 },
 "tcb-015": {
  "alt": "have already been documented",
  "orig": "have not been documented"
 },
 "tcb-016": {
  "alt": "also rose",
  "orig": "risk perception of being infected in residents decreased"
 },
 "tcb-017": {
  "alt": "15 mg/kg",
  "orig": "20 mg/kg"
 },
 "tcb-018": {
  "alt": "H120 vaccine strain as its major parent",
  "orig": "SC021202 strain as a major parent"
 },
 "tcb-019": {
  "alt": "27,354",
  "orig": "27,534"
 },
 "tcb-023": {
  "alt": "76.5%",
  "orig": "86.5%"
 },
 "tcb-025": {
  "alt": "Ibadan",
  "orig": "Ilorin"
 },
 "tcb-026": {
  "alt": "higher than the person-to-person",
  "orig": "lower than"
 },
 "tcb-027": {
  "alt": "lower predictive power than",
  "orig": "was higher than"
 },
 "tcb-028": {
  "alt": "saliva",
  "orig": "anal swabs"
 },
 "tcb-031": {
  "alt": "projections to the amygdala",
  "orig": "amygdala, which projects to the hypothalamus"
 },
 "tcb-032": {
  "key": "25.5%"
 },
 "tcb-036": {
  "alt": "duck eggs",
  "orig": "chicken eggs"
 },
 "tcb-040": {
  "key": "130 passengers"
 },
 "tcb-042": {
  "alt": "21 enterovirus-positive",
  "orig": "Fifteen of 19"
 },
 "tcb-044": {
  "alt": "February 13",
  "orig": "February 12"
 },
 "tcb-045": {
  "alt": "brain",
  "orig": "spleen"
 },
 "tcb-046": {
  "alt": "Stanley Prusiner",
  "orig": "Theodor Diener"
 },
 "tcb-047": {
  "key": "30%"
 },
 "tcb-048": {
  "queries": [
   {
    "reviewed": [
     "1569"
    ],
    "terms": [
     "bleach"
    ]
   },
   {
    "reviewed": [
     "2585"
    ],
    "terms": [
     "P-trap",
     "disinfect"
    ]
   }
  ]
 },
 "tcb-049": {
  "queries": [
   {
    "reviewed": [],
    "terms": [
     "auditory brainstem"
    ]
   },
   {
    "reviewed": [],
    "terms": [
     "hearing"
    ]
   }
  ]
 },
 "tcb-050": {
  "alt": "1:400",
  "orig": "1:200"
 },
 "tcb-051": {
  "key": "serologically susceptible"
 },
 "tcb-055": {
  "key": "outside of the respiratory tract"
 },
 "tcb-056": {
  "alt": "January 21, 2020",
  "orig": "January 30, 2020"
 },
 "tcb-057": {
  "queries": [
   {
    "reviewed": [
     "1679"
    ],
    "terms": [
     "albumin",
     "equine"
    ]
   },
   {
    "reviewed": [
     "2551"
    ],
    "terms": [
     "hypoalbumin"
    ]
   },
   {
    "reviewed": [],
    "terms": [
     "albumin",
     "Ireland"
    ]
   }
  ]
 },
 "tcb-058": {
  "key": "parainfluenza virus 4"
 },
 "tcb-066": {
  "key": "2 weeks"
 },
 "tcb-067": {
  "alt": "MERS-CoV enters cells through the ACE2",
  "orig": "SARS-CoV uses the ACE2 receptor"
 },
 "tcb-068": {
  "alt": "Th17",
  "orig": "T helper-2 (Th2)"
 },
 "tcb-071": {
  "alt": "2,150",
  "orig": "1250 cases"
 },
 "tcb-074": {
  "alt": "ERK1/2 over p38 MAPK and JNK",
  "orig": "p38 MAPK and JNK than ERK1/2"
 },
 "tcb-075": {
  "alt": "significantly impaired",
  "orig": "without any significant effect on viral replication"
 },
 "tcb-076": {
  "alt": "decided to declare",
  "orig": "decided not to declare"
 },
 "tcb-079": {
  "alt": "ligand for CCL3L1",
  "orig": "ligand for CCR5"
 },
 "tcb-080": {
  "queries": [
   {
    "reviewed": [],
    "terms": [
     "hamster",
     "SARS-CoV-2"
    ]
   },
   {
    "reviewed": [],
    "terms": [
     "hamster",
     "hydroxychloroquine"
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

def is_whole_sentence(q, text):
    i = text.find(q)
    while i >= 0:
        before = text[:i].rstrip(' ')
        starts = i == 0 or text[i - 1] == '\n' or before.endswith(('.', '!', '?', ']', ')'))
        ends = q.rstrip().endswith(('.', '!', '?'))
        if starts and ends and q[:1].isupper():
            return True
        i = text.find(q, i + 1)
    return False

cl = load_jsonl(CLAIMS)
if len(cl) != 80: fail('expected 80 claims, found %d' % len(cl))
ids = [r.get('id') for r in cl]
if len(set(ids)) != len(ids): fail('duplicate ids')
labels = collections.Counter(); kinds = collections.defaultdict(collections.Counter)
used_records = set()
for i, r in enumerate(cl, 1):
    iid = r.get('id')
    if set(r) != KEYS:
        fail('%s: keys %s' % (iid, sorted(r))); continue
    if iid != 'tcb-%03d' % i: fail('%s: id out of sequence (expected tcb-%03d)' % (iid, i))
    lab, kind, cites, sd, sq, claim = r['label'], r['kind'], r['cites'], r['source_doc'], r['source_quote'], r['claim']
    labels[lab] += 1; kinds[lab][kind] += 1
    if not isinstance(claim, str) or not claim.strip(): fail('%s: empty claim' % iid); continue
    if not isinstance(cites, str) or cites not in test: fail('%s: cites %r, not a test article' % (iid, cites)); continue
    rec = RECORDS.get(iid)
    if rec is not None: used_records.add(iid)
    if lab == 'unsupported':
        if sd is not None or sq is not None: fail('%s: unsupported needs null source_doc/source_quote' % iid)
        if rec is None or not rec.get('queries'): fail('%s: no review record' % iid); continue
        for q in rec['queries']:
            h = hits(q['terms'])
            if h != sorted(q['reviewed']):
                fail('%s query %s: articles now %s, reviewed %s' % (iid, q['terms'], h, q['reviewed']))
        continue
    if sd not in test: fail('%s: source_doc %r is not a test article' % (iid, sd)); continue
    text = docs[sd]
    if not isinstance(sq, str) or sq not in text:
        fail('%s: source_quote not verbatim in %s' % (iid, sd)); continue
    if lab == 'verbatim':
        if claim != sq or cites != sd: fail('%s: verbatim claim must equal its quote and cite its source' % iid)
        if not is_whole_sentence(sq, text): fail('%s: verbatim quote is not a whole sentence' % iid)
    elif lab == 'supported':
        if cites != sd: fail('%s: supported must cite its source' % iid)
        if claim == sq or claim in text: fail('%s: supported claim is copied from the article' % iid)
        n1 = longest_shared_run(claim, sq); n2 = longest_shared_run(claim, text)
        if max(n1, n2) > MAX_SHARED_RUN:
            fail('%s: supported claim shares a %d-word run with its article' % (iid, max(n1, n2)))
    elif lab == 'mismatch':
        if cites != sd: fail('%s: mismatch must cite its source' % iid)
        if claim in text: fail('%s: mismatch claim is copied from the article' % iid)
        if rec is None or 'alt' not in rec: fail('%s: no mismatch record' % iid); continue
        if rec['orig'] not in sq: fail('%s: original fact %r not in quote' % (iid, rec['orig']))
        if rec['alt'] not in claim: fail('%s: altered fact %r not in claim' % (iid, rec['alt']))
        if rec['alt'].lower() in lower[sd]: fail('%s: altered fact %r occurs in source article' % (iid, rec['alt']))
        if rec['orig'].lower() in claim.lower(): fail('%s: claim still contains the original fact %r' % (iid, rec['orig']))
    elif lab == 'wrong-source':
        if cites == sd: fail('%s: wrong-source must cite a different article' % iid)
        if rec is None or 'key' not in rec: fail('%s: no wrong-source record' % iid); continue
        if rec['key'] not in text: fail('%s: key %r not in source article %s' % (iid, rec['key'], sd))
        if rec['key'].lower() in lower[cites]: fail('%s: key %r also in cited article %s' % (iid, rec['key'], cites))
        if claim in text: fail('%s: wrong-source claim is copied from the article' % iid)
    else:
        fail('%s: unknown label %r' % (iid, lab))

for lab, n in LABEL_COUNTS.items():
    if labels[lab] != n: fail('label %s: expected %d, found %d' % (lab, n, labels[lab]))
    if dict(kinds[lab]) != KIND_COUNTS[lab]:
        fail('label %s: kinds %s, expected %s' % (lab, dict(kinds[lab]), KIND_COUNTS[lab]))
extra = set(RECORDS) - used_records
if extra: fail('records for unknown/unused ids: %s' % sorted(extra))
cited = {r.get('cites') for r in cl}
involved = cited | {r.get('source_doc') for r in cl if r.get('source_doc')}
if len(cited) < MIN_DISTINCT_CITED: fail('claims cite only %d distinct articles' % len(cited))
# labels must be shuffled: no run of more than 6 equal labels
run = 1
for a, b in zip(cl, cl[1:]):
    run = run + 1 if a.get('label') == b.get('label') else 1
    if run > 6: fail('labels not shuffled (run of %d %s at %s)' % (run, b.get('label'), b.get('id'))); break

print()
print('claims: %d; labels %s' % (len(cl), dict(labels)))
for lab in LABEL_COUNTS:
    print('   %-13s %s' % (lab, dict(sorted(kinds[lab].items()))))
print('distinct cited test articles: %d; articles involved (cited or source): %d' % (len(cited), len(involved)))
print('unsupported key-term queries re-run: %d' % sum(len(v.get('queries', [])) for v in RECORDS.values()))
if failures:
    print('\n%d check(s) FAILED' % len(failures))
    sys.exit(1)
print('all checks passed')
