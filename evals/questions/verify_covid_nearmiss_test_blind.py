#!/usr/bin/env python3
"""Checks covid_nearmiss_test_blind.jsonl against the COVID-QA corpus (test split articles).

Run from /work/main:  python3 evals/questions/verify_covid_nearmiss_test_blind.py
Exits 0 when every check passes, 1 otherwise.

What is checked
- format: exact keys, id patterns and order (tnm-001..tnm-060, tpa-001..tpa-040), counts per kind, tags;
- sources: every near-miss anchor and every evidence article is a TEST article (a gold article of a
  split=="test" question in questions.jsonl);
- paraphrase questions: one evidence item {doc, quote}; the quote is an exact substring of the article text;
  every answer is a non-empty substring of the quote; the question shares no run of 5 or more words with the quote;
- near-miss questions: for each, the hand-recorded key-term queries are re-run over all 98 articles (case-insensitive
  substring match, all terms must occur) and the set of matching articles must equal the set that was read by hand
  and found NOT to answer the question (CHECKS below); the anchor test article must be among the hits of the first query;
- spread: all items together cover at least 35 distinct test articles.
"""
import json, os, re, sys, collections

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'shared', 'benchmarks', 'covid-qa'))
CORPUS = os.path.join(BENCH, 'corpus.jsonl')
QUESTIONS = os.path.join(BENCH, 'questions.jsonl')
DATA = os.path.join(HERE, 'covid_nearmiss_test_blind.jsonl')

QA_KEYS = {'id', 'question', 'answers', 'evidence', 'answerable', 'tags'}
NM_KIND_COUNTS = {'entity-swap': 20, 'attribute': 17, 'deeper': 10, 'impossible': 7, 'negation': 6}
N_NM, N_PA = 60, 40
MAX_SHARED_RUN = 4          # paraphrase question vs. its evidence quote: no run of 5+ words
MIN_DISTINCT_ARTICLES = 35

# Hand-review record. For each near-miss question: the anchor test article and one or more key-term queries;
# "reviewed" is the set of articles (of all 98) containing all the terms, each of which was read and found
# not to answer the question.
CHECKS = {
 "tnm-001": {"anchor": "1545", "queries": [
    {"terms": ["HCoV-NL63", "gastrointestinal"], "reviewed": ["1545"]},
 ]},
 "tnm-002": {"anchor": "1547", "queries": [
    {"terms": ["DY07"], "reviewed": ["1547"]},
 ]},
 "tnm-003": {"anchor": "1550", "queries": [
    {"terms": ["echovirus 30", "GC content"], "reviewed": ["1550"]},
 ]},
 "tnm-004": {"anchor": "2643", "queries": [
    {"terms": ["alcohol-based hand rub", "humanitarian"], "reviewed": ["2643"]},
 ]},
 "tnm-005": {"anchor": "2628", "queries": [
    {"terms": ["Heartland virus"], "reviewed": ["2628"]},
 ]},
 "tnm-006": {"anchor": "2555", "queries": [
    {"terms": ["Diamond Princess", "crew"], "reviewed": ["2555"]},
 ]},
 "tnm-007": {"anchor": "2554", "queries": [
    {"terms": ["University of Hong Kong", "1343"], "reviewed": ["2554"]},
 ]},
 "tnm-008": {"anchor": "1559", "queries": [
    {"terms": ["Zhou et al", "smok"], "reviewed": ["1559"]},
 ]},
 "tnm-009": {"anchor": "776", "queries": [
    {"terms": ["H1N1", "New Zealand"], "reviewed": ["776"]},
    {"terms": ["H1N1", "Australia"], "reviewed": ["1652", "1740", "2675"]},
 ]},
 "tnm-010": {"anchor": "1604", "queries": [
    {"terms": ["HAdV-14"], "reviewed": ["1604"]},
 ]},
 "tnm-011": {"anchor": "1581", "queries": [
    {"terms": ["Respiratory Virus Detection Surveillance System"], "reviewed": ["1581"]},
 ]},
 "tnm-012": {"anchor": "1574", "queries": [
    {"terms": ["pertussis", "Senegal"], "reviewed": ["1574"]},
 ]},
 "tnm-013": {"anchor": "1548", "queries": [
    {"terms": ["equine coronavirus", "UK"], "reviewed": ["1548"]},
 ]},
 "tnm-014": {"anchor": "2463", "queries": [
    {"terms": ["28 January 2020", "situation report"], "reviewed": ["2463"]},
    {"terms": ["Singapore", "2019-nCoV"], "reviewed": ["186", "2486", "2527", "2554", "2592"]},
 ]},
 "tnm-015": {"anchor": "2437", "queries": [
    {"terms": ["cilnidipine", "NS4B"], "reviewed": ["2437"]},
 ]},
 "tnm-016": {"anchor": "1553", "queries": [
    {"terms": ["ELISA-array", "West Nile"], "reviewed": ["1553"]},
 ]},
 "tnm-017": {"anchor": "2526", "queries": [
    {"terms": ["infectivity peaked"], "reviewed": ["2526"]},
    {"terms": ["MERS", "infectivity", "peak"], "reviewed": ["2526"]},
 ]},
 "tnm-018": {"anchor": "2634", "queries": [
    {"terms": ["ZC45"], "reviewed": ["2634"]},
 ]},
 "tnm-019": {"anchor": "2439", "queries": [
    {"terms": ["remdesivir", "EC 50"], "reviewed": ["2439"]},
    {"terms": ["remdesivir"], "reviewed": ["2439", "2486"]},
 ]},
 "tnm-020": {"anchor": "1570", "queries": [
    {"terms": ["crCD40L"], "reviewed": ["1570"]},
 ]},
 "tnm-021": {"anchor": "1545", "queries": [
    {"terms": ["HCoV-HKU1", "influenza-like illness"], "reviewed": ["1545"]},
 ]},
 "tnm-022": {"anchor": "1547", "queries": [
    {"terms": ["SAIBK"], "reviewed": ["1547"]},
 ]},
 "tnm-023": {"anchor": "2643", "queries": [
    {"terms": ["attacks on health"], "reviewed": ["2643"]},
 ]},
 "tnm-024": {"anchor": "2466", "queries": [
    {"terms": ["Shenzhen", "ICU bed"], "reviewed": ["2466"]},
 ]},
 "tnm-025": {"anchor": "2519", "queries": [
    {"terms": ["Guangzhou Eighth People's Hospital"], "reviewed": ["2519"]},
 ]},
 "tnm-026": {"anchor": "2668", "queries": [
    {"terms": ["213 verified deaths"], "reviewed": ["2668"]},
    {"terms": ["median age", "deaths", "2019-nCoV"], "reviewed": ["2486", "2668"]},
 ]},
 "tnm-027": {"anchor": "186", "queries": [
    {"terms": ["Indonesia", "GHS"], "reviewed": ["186"]},
 ]},
 "tnm-028": {"anchor": "2526", "queries": [
    {"terms": ["425 confirmed"], "reviewed": ["2526"]},
 ]},
 "tnm-029": {"anchor": "2463", "queries": [
    {"terms": ["1000 bed"], "reviewed": ["2463"]},
    {"terms": ["Huoshenshan"], "reviewed": ["2466"]},
 ]},
 "tnm-030": {"anchor": "1551", "queries": [
    {"terms": ["Al Qassim", "camel"], "reviewed": ["1551"]},
 ]},
 "tnm-031": {"anchor": "1557", "queries": [
    {"terms": ["Shandong", "tuberculosis"], "reviewed": ["1557"]},
    {"terms": ["multidrug"], "reviewed": ["2585"]},
    {"terms": ["MDR-TB"], "reviewed": []},
    {"terms": ["drug-resistant"], "reviewed": ["1656", "1674", "2437", "2585"]},
 ]},
 "tnm-032": {"anchor": "2459", "queries": [
    {"terms": ["pangolin"], "reviewed": ["2459"]},
 ]},
 "tnm-033": {"anchor": "1604", "queries": [
    {"terms": ["HAdV-55", "ECMO"], "reviewed": ["1604"]},
 ]},
 "tnm-034": {"anchor": "1567", "queries": [
    {"terms": ["rabbit haemorrhagic"], "reviewed": ["1567"]},
    {"terms": ["rabbit hemorrhagic"], "reviewed": []},
 ]},
 "tnm-035": {"anchor": "1568", "queries": [
    {"terms": ["Ilorin"], "reviewed": ["1568"]},
 ]},
 "tnm-036": {"anchor": "2458", "queries": [
    {"terms": ["SIR model", "mainland China"], "reviewed": ["2458"]},
    {"terms": ["SIR model", "reproduction number"], "reviewed": []},
 ]},
 "tnm-037": {"anchor": "1561", "queries": [
    {"terms": ["RANBP2", "sickle cell"], "reviewed": ["1561"]},
 ]},
 "tnm-038": {"anchor": "2466", "queries": [
    {"terms": ["Shenzhen", "corticosteroid"], "reviewed": ["2466"]},
 ]},
 "tnm-039": {"anchor": "2651", "queries": [
    {"terms": ["Corman"], "reviewed": ["2486", "2651"]},
 ]},
 "tnm-040": {"anchor": "2555", "queries": [
    {"terms": ["Richards model"], "reviewed": ["2555"]},
 ]},
 "tnm-041": {"anchor": "2628", "queries": [
    {"terms": ["duck egg-drop"], "reviewed": ["2628"]},
    {"terms": ["DEDSV"], "reviewed": ["2628"]},
 ]},
 "tnm-042": {"anchor": "1559", "queries": [
    {"terms": ["Liu et al", "smoking", "multivariate"], "reviewed": ["1559"]},
 ]},
 "tnm-043": {"anchor": "2675", "queries": [
    {"terms": ["H1N1", "Shenzhen", "vaccin"], "reviewed": ["1575", "2675"]},
 ]},
 "tnm-044": {"anchor": "2554", "queries": [
    {"terms": ["thirteen", "exportation", "Thailand"], "reviewed": ["2554"]},
 ]},
 "tnm-045": {"anchor": "2439", "queries": [
    {"terms": ["Chinese Clinical Trial Registry"], "reviewed": ["2439"]},
 ]},
 "tnm-046": {"anchor": "1574", "queries": [
    {"terms": ["Sarlahi"], "reviewed": ["1574"]},
 ]},
 "tnm-047": {"anchor": "186", "queries": [
    {"terms": ["Lai et al", "Singapore"], "reviewed": ["186"]},
 ]},
 "tnm-048": {"anchor": "2459", "queries": [
    {"terms": ["bioRxiv", "HIV"], "reviewed": ["2459"]},
 ]},
 "tnm-049": {"anchor": "2592", "queries": [
    {"terms": ["Reservoir-People"], "reviewed": ["2592"]},
 ]},
 "tnm-050": {"anchor": "2519", "queries": [
    {"terms": ["Guangzhou", "stool"], "reviewed": ["2519", "2551"]},
 ]},
 "tnm-051": {"anchor": "1548", "queries": [
    {"terms": ["ECoV", "virus isolation"], "reviewed": ["1548"]},
 ]},
 "tnm-052": {"anchor": "1554", "queries": [
    {"terms": ["evanescent white dot"], "reviewed": ["1554"]},
 ]},
 "tnm-053": {"anchor": "2585", "queries": [
    {"terms": ["P-trap", "countertop"], "reviewed": ["2585"]},
 ]},
 "tnm-054": {"anchor": "1551", "queries": [
    {"terms": ["MERS", "Riyadh", "vaccin"], "reviewed": ["1551"]},
 ]},
 "tnm-055": {"anchor": "1557", "queries": [
    {"terms": ["Shandong", "prevalence", "2000"], "reviewed": ["1557"]},
 ]},
 "tnm-056": {"anchor": "1573", "queries": [
    {"terms": ["HBoV1", "relative humidity"], "reviewed": ["1573"]},
 ]},
 "tnm-057": {"anchor": "776", "queries": [
    {"terms": ["classed mortality"], "reviewed": ["776"]},
 ]},
 "tnm-058": {"anchor": "186", "queries": [
    {"terms": ["Indonesia", "imported-and-reported"], "reviewed": ["186"]},
 ]},
 "tnm-059": {"anchor": "2555", "queries": [
    {"terms": ["Diamond Princess", "movement restriction"], "reviewed": ["2555"]},
 ]},
 "tnm-060": {"anchor": "1671", "queries": [
    {"terms": ["kidney failure", "MERS"], "reviewed": ["1671"]},
 ]},
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

rows = load_jsonl(DATA)
ids = [r.get('id') for r in rows]
if len(ids) != len(set(ids)):
    fail('duplicate ids')
if len(rows) != N_NM + N_PA:
    fail('expected %d lines, found %d' % (N_NM + N_PA, len(rows)))
for r in rows:
    if set(r) != QA_KEYS:
        fail('%s: keys %s' % (r.get('id'), sorted(r)))
    if not isinstance(r.get('question'), str) or not r['question'].strip():
        fail('%s: empty question' % r.get('id'))
nm = [r for r in rows if str(r.get('id', '')).startswith('tnm-')]
pa = [r for r in rows if str(r.get('id', '')).startswith('tpa-')]
if len(nm) != N_NM: fail('expected %d near-miss questions, found %d' % (N_NM, len(nm)))
if len(pa) != N_PA: fail('expected %d paraphrase questions, found %d' % (N_PA, len(pa)))
if len(nm) + len(pa) != len(rows): fail('rows with unexpected id prefix')
questions = [r.get('question', '').strip().lower() for r in rows]
if len(set(questions)) != len(questions): fail('duplicate question text')

articles = set()
kinds = collections.Counter(); nm_anchors = set()
for i, r in enumerate(nm, 1):
    iid = r['id']
    if iid != 'tnm-%03d' % i: fail('%s: id out of sequence' % iid)
    if r['answers'] != [] or r['evidence'] != [] or r['answerable'] is not False:
        fail('%s: near-miss must have empty answers/evidence and answerable false' % iid)
    t = r['tags']
    if not isinstance(t, list) or len(t) != 3 or t[0] != 'unanswerable' or t[1] != 'near-miss' or t[2] not in NM_KIND_COUNTS:
        fail('%s: bad tags %s' % (iid, t))
    else:
        kinds[t[2]] += 1
    c = CHECKS.get(iid)
    if c is None:
        fail('%s: no review record' % iid); continue
    if c['anchor'] not in test: fail('%s: anchor %s is not a test article' % (iid, c['anchor']))
    nm_anchors.add(c['anchor']); articles.add(c['anchor'])
    if not c['queries']: fail('%s: no key-term query' % iid)
    for k, q in enumerate(c['queries']):
        h = hits(q['terms'])
        if h != sorted(q['reviewed']):
            fail('%s query %s: articles now %s, reviewed %s' % (iid, q['terms'], h, q['reviewed']))
        if k == 0 and c['anchor'] not in h:
            fail('%s: key terms %s not found in anchor article %s' % (iid, q['terms'], c['anchor']))
for k, n in NM_KIND_COUNTS.items():
    if kinds[k] != n: fail('kind %s: expected %d, found %d' % (k, n, kinds[k]))
extra = set(CHECKS) - {r['id'] for r in nm}
if extra: fail('review records without a question: %s' % sorted(extra))

pa_docs = set()
for i, r in enumerate(pa, 1):
    iid = r['id']
    if iid != 'tpa-%03d' % i: fail('%s: id out of sequence' % iid)
    if r['answerable'] is not True or r['tags'] != ['paraphrase']:
        fail('%s: answerable/tags' % iid)
    if not isinstance(r['answers'], list) or not r['answers'] or not isinstance(r['evidence'], list) or len(r['evidence']) != 1:
        fail('%s: needs answers and exactly one evidence item' % iid); continue
    ev = r['evidence'][0]
    if not isinstance(ev, dict) or set(ev) != {'doc', 'quote'}: fail('%s: evidence keys' % iid); continue
    if ev['doc'] not in test: fail('%s: evidence article %s is not a test article' % (iid, ev['doc']))
    if not ev['quote'] or ev['quote'] not in docs.get(ev['doc'], ''):
        fail('%s: quote not verbatim in %s' % (iid, ev['doc']))
    for a in r['answers']:
        if not isinstance(a, str) or not a.strip() or a not in ev['quote']:
            fail('%s: answer %r not in quote' % (iid, a))
    n = longest_shared_run(r['question'], ev['quote'])
    if n > MAX_SHARED_RUN:
        fail('%s: question shares a %d-word run with its quote' % (iid, n))
    pa_docs.add(ev['doc']); articles.add(ev['doc'])

if len(articles) < MIN_DISTINCT_ARTICLES:
    fail('items span only %d distinct test articles (need %d)' % (len(articles), MIN_DISTINCT_ARTICLES))

print()
print('near-miss questions: %d over %d test articles; kinds %s' % (len(nm), len(nm_anchors), dict(sorted(kinds.items()))))
print('paraphrase questions: %d over %d test articles' % (len(pa), len(pa_docs)))
print('distinct test articles overall: %d' % len(articles))
print('hand-review queries re-run: %d' % sum(len(c['queries']) for c in CHECKS.values()))
if failures:
    print('\n%d check(s) FAILED' % len(failures))
    sys.exit(1)
print('\nALL CHECKS PASSED')
