#!/usr/bin/env python3
"""Standalone checker for covid_test_blind_d.jsonl (python3 stdlib only).

Exits 0 only when every check passes; prints each failure otherwise.
Paths are relative to this script's folder (evals/claims).
"""
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CLAIMS = os.path.join(HERE, 'covid_test_blind_d.jsonl')
BENCH = os.path.join(HERE, '..', '..', '..', 'shared', 'benchmarks', 'covid-qa')
CORPUS = os.path.join(BENCH, 'corpus.jsonl')
QUESTIONS = os.path.join(BENCH, 'questions.jsonl')
EARLIER = ['covid_test_blind.jsonl', 'covid_test_blind_b.jsonl', 'covid_test_blind_c.jsonl']

KEYS = {'id', 'claim', 'cites', 'label', 'source_doc', 'source_quote', 'kind'}
N = 80
LABEL_COUNTS = {'verbatim': 10, 'supported': 25, 'mismatch': 30, 'wrong-source': 10, 'unsupported': 5}
KIND_COUNTS = {
    'verbatim': {'verbatim': 10},
    'supported': {'synonyms': 6, 'reordered': 6, 'voice': 6, 'summary': 7},
    'mismatch': {'number': 6, 'roles': 5, 'negation': 4, 'term': 4, 'date': 4, 'direction': 4, 'name': 3},
    'wrong-source': {'wrong-source': 10},
    'unsupported': {'unsupported': 5},
}
MIN_DISTINCT_CITED = 35

# Hand-recorded: mismatch id -> (original string in source_quote, altered string in claim).
MISMATCH = {
    'tcd-002': ('University of Washington', 'University of Michigan'),
    'tcd-005': ('10.8%', '18.8%'),
    'tcd-010': ('53 in Guangdong', 'Zhejiang'),
    'tcd-013': ('May 11, 2009', 'May 21, 2009'),
    'tcd-015': ('We did not observe species‐specific differences', 'observed clear species-specific differences'),
    'tcd-016': ('29 December 2019', '19 December 2019'),
    'tcd-019': ('2.30 from reservoir to person and 3.58 from person to person', '3.58 for reservoir-to-person'),
    'tcd-022': ('small intestine', 'kidney'),
    'tcd-026': ('substantial decrease', 'risen substantially'),
    'tcd-030': ('animal-to-human', 'human-to-animal'),
    'tcd-031': ('50 countries', '70 countries'),
    'tcd-034': ('37% in the Gambia', '47% in the Gambia'),
    'tcd-040': ('88.1%', '89.1%'),
    'tcd-042': ('lymphocytopenia', 'thrombocytopenia'),
    'tcd-043': ('Himalayan palm civet (Paguma larvata) for SARS-CoV', 'dromedary camel for SARS-CoV'),
    'tcd-045': ('does not prove causation', 'is enough to prove'),
    'tcd-047': ('is not expected to be largely available', 'expected to become readily available'),
    'tcd-050': ('1,100', '1,700'),
    'tcd-051': ('there is no evidence to suggest that pneumococcal conjugate vaccination modifies the radiologic appearance', 'also changes the radiologic appearance'),
    'tcd-054': ('magnify', 'lessen'),
    'tcd-056': ('199 symptomatic cases', '219 symptomatic cases'),
    'tcd-057': ('22 January 2020', '27 January 2020'),
    'tcd-059': ('more closely related', 'less closely related'),
    'tcd-066': ('anal swab (Ct value = 24 + 39) was higher than in the blood', 'higher concentration in the blood than in the anal swab'),
    'tcd-067': ('culture accounted for 44%', 'ELISA'),
    'tcd-069': ('the black flying fox -in which the interferon pathway is always on', 'Egyptian fruit bat, whose interferon pathway is permanently switched on'),
    'tcd-071': ('European Centre for Disease Prevention and Control (ECDC)', 'Centers for Disease Control'),
    'tcd-074': ('January 15, 2020', 'January 19, 2020'),
    'tcd-076': ('much less (~40%) toxic', 'more toxic'),
    'tcd-079': ('lethargy and diarrhoea', 'colic'),
}

# Hand-recorded: wrong-source id -> key facts (in claim and in source_doc, absent from cited article).
WRONG_SOURCE = {
    'tcd-006': ['15 passages', 'mouse adaptation'],
    'tcd-021': ['9,776', '213'],
    'tcd-037': ['1251/1689', 'H7N9'],
    'tcd-038': ['14.28', 'smoking'],
    'tcd-055': ['8098', '774', '9.6%'],
    'tcd-058': ['25 countries', '31 000'],
    'tcd-064': ['102', '47'],
    'tcd-065': ['56/1203', '4.7%'],
    'tcd-070': ['pulmonary edema', 'cardiac cause'],
    'tcd-072': ['423', '1863'],
}

# Hand-recorded: unsupported id -> list of (terms that must all occur, case-insensitive;
# exact set of corpus articles (all 98) returned, each read by hand and found not to state the claim).
UNSUPPORTED = {
    'tcd-004': [(['kitchen'], []), (['Diamond Princess'], ['2526', '2555'])],
    'tcd-029': [(['ECMO'], ['1604', '2450', '2466'])],
    'tcd-033': [(['hydroxychloroquine'], ['2439', '2486']), (['viral clearance'], ['1564', '1652', '1671', '2504', '2653'])],
    'tcd-041': [(['nicotine'], [])],
    'tcd-068': [(['pangolin'], ['2459'])],
}

failures = []


def fail(msg):
    failures.append(msg)


def toks_split(s):
    return re.findall(r'\w+', s.lower())


def toks_strip(s):
    return re.sub(r'[^\w\s]', '', s.lower()).split()


def grams(t, n):
    return set(tuple(t[i:i + n]) for i in range(len(t) - n + 1))


def main():
    corpus = {}
    with open(CORPUS, encoding='utf-8') as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                corpus[d['doc_id']] = d['text']
    if len(corpus) != 98:
        fail(f'corpus has {len(corpus)} articles, expected 98')
    low = {k: v.lower() for k, v in corpus.items()}

    test = set()
    with open(QUESTIONS, encoding='utf-8') as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                if q.get('split') == 'test':
                    test.update(q['gold_doc_ids'])

    earlier = []
    for name in EARLIER:
        p = os.path.join(HERE, name)
        with open(p, encoding='utf-8') as f:
            for line in f:
                if line.strip():
                    sq = json.loads(line).get('source_quote')
                    if sq:
                        earlier.append(sq)
    earlier_8 = set()
    for q in earlier:
        earlier_8 |= grams(toks_split(q), 8)

    with open(CLAIMS, encoding='utf-8') as f:
        lines = [l for l in f.read().split('\n') if l.strip()]
    if len(lines) != N:
        fail(f'{len(lines)} lines, expected {N}')
    recs = []
    for i, line in enumerate(lines, 1):
        try:
            r = json.loads(line)
        except Exception as e:
            fail(f'line {i}: bad JSON ({e})')
            continue
        if not isinstance(r, dict) or set(r) != KEYS:
            fail(f'line {i}: keys {sorted(r) if isinstance(r, dict) else type(r)} != {sorted(KEYS)}')
            continue
        recs.append(r)

    # ids in order
    for i, r in enumerate(recs, 1):
        if r['id'] != f'tcd-{i:03d}':
            fail(f'line {i}: id {r["id"]!r} != tcd-{i:03d}')

    # counts
    lc = Counter(r['label'] for r in recs)
    if dict(lc) != LABEL_COUNTS:
        fail(f'label counts {dict(lc)} != {LABEL_COUNTS}')
    for lab, want in KIND_COUNTS.items():
        got = dict(Counter(r['kind'] for r in recs if r['label'] == lab))
        if got != want:
            fail(f'kind counts for {lab}: {got} != {want}')

    # labels shuffled, not grouped
    run = best = 1
    for a, b in zip(recs, recs[1:]):
        run = run + 1 if a['label'] == b['label'] else 1
        best = max(best, run)
    if best > 3:
        fail(f'labels look grouped: longest run of one label is {best}')

    distinct = {r['cites'] for r in recs}
    if len(distinct) < MIN_DISTINCT_CITED:
        fail(f'only {len(distinct)} distinct cited articles (< {MIN_DISTINCT_CITED})')

    seen_quotes = set()
    for r in recs:
        rid, lab, kind = r['id'], r['label'], r['kind']
        claim, cites, src, quote = r['claim'], r['cites'], r['source_doc'], r['source_quote']
        if not isinstance(claim, str) or not claim.strip():
            fail(f'{rid}: empty claim')
            continue
        if cites not in test:
            fail(f'{rid}: cited article {cites!r} is not a test article')
        if lab == 'unsupported':
            if src is not None or quote is not None:
                fail(f'{rid}: unsupported must have null source_doc and source_quote')
        else:
            if src not in test:
                fail(f'{rid}: source_doc {src!r} is not a test article')
                continue
            if not isinstance(quote, str) or quote not in corpus[src]:
                fail(f'{rid}: source_quote is not a verbatim substring of article {src}')
                continue
            if quote in seen_quotes:
                fail(f'{rid}: source_quote reused within this set')
            seen_quotes.add(quote)
            for e in earlier:
                if quote in e or e in quote:
                    fail(f'{rid}: source_quote overlaps an earlier set\'s source_quote')
                    break
            else:
                if grams(toks_split(quote), 8) & earlier_8:
                    fail(f'{rid}: source_quote shares an 8-word run with an earlier set\'s source_quote')
            if lab == 'wrong-source':
                if cites == src:
                    fail(f'{rid}: wrong-source must cite a different article than source_doc')
            elif cites != src:
                fail(f'{rid}: cites {cites} != source_doc {src}')

        if lab == 'verbatim':
            if claim != quote:
                fail(f'{rid}: verbatim claim != source_quote')
            elif not (quote[:1].isupper() and quote.rstrip()[-1:] in '.!?'):
                fail(f'{rid}: verbatim quote does not look like a complete sentence')

        if lab == 'supported':
            if kind == 'summary' and not re.search(r'[.!?]\s+\S', quote):
                fail(f'{rid}: summary quote does not hold two sentences')
            text = corpus[cites]
            for tk in (toks_split, toks_strip):
                shared = grams(tk(claim), 6) & grams(tk(text), 6)
                if shared:
                    fail(f'{rid}: shares 6-word run(s) with cited article: {sorted(" ".join(g) for g in shared)[:3]}')
                    break

        if lab == 'mismatch':
            if rid not in MISMATCH:
                fail(f'{rid}: no hand-recorded mismatch entry')
            else:
                orig, alt = MISMATCH[rid]
                if orig not in quote:
                    fail(f'{rid}: original {orig!r} not in source_quote')
                if orig.lower() in claim.lower():
                    fail(f'{rid}: original {orig!r} still in claim')
                if alt.lower() not in claim.lower():
                    fail(f'{rid}: altered {alt!r} not in claim')
                if alt.lower() in low[cites]:
                    fail(f'{rid}: altered {alt!r} occurs in cited article {cites}')
                if claim == quote:
                    fail(f'{rid}: mismatch claim identical to quote')

        if lab == 'wrong-source':
            facts = WRONG_SOURCE.get(rid)
            if not facts:
                fail(f'{rid}: no hand-recorded key facts')
            else:
                for fact in facts:
                    fl = fact.lower()
                    if fl not in claim.lower():
                        fail(f'{rid}: key fact {fact!r} not in claim')
                    if fl not in low[src]:
                        fail(f'{rid}: key fact {fact!r} not in source article {src}')
                    if fl in low[cites]:
                        fail(f'{rid}: key fact {fact!r} present in cited article {cites}')

        if lab == 'unsupported':
            searches = UNSUPPORTED.get(rid)
            if not searches:
                fail(f'{rid}: no hand-recorded searches')
            else:
                for terms, expected in searches:
                    got = sorted((d for d in corpus if all(t.lower() in low[d] for t in terms)), key=int)
                    if got != sorted(expected, key=int):
                        fail(f'{rid}: search {terms} returned {got}, expected {expected}')

    for rid in set(MISMATCH) | set(WRONG_SOURCE) | set(UNSUPPORTED):
        want = 'mismatch' if rid in MISMATCH else 'wrong-source' if rid in WRONG_SOURCE else 'unsupported'
        if not any(r['id'] == rid and r['label'] == want for r in recs):
            fail(f'{rid}: hand-recorded entry does not match a {want} record')

    if failures:
        for m in failures:
            print('FAIL', m)
        print(f'{len(failures)} failure(s)')
        return 1
    print(f'OK: {len(recs)} claims, {len(distinct)} distinct cited articles, all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
