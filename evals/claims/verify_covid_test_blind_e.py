#!/usr/bin/env python3
"""Standalone checker for covid_test_blind_e.jsonl (python3 stdlib only).

Exits 0 only when every check passes; prints each failure otherwise.
Paths are relative to this script's folder (evals/claims).
"""
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CLAIMS = os.path.join(HERE, 'covid_test_blind_e.jsonl')
BENCH = os.path.join(HERE, '..', '..', '..', 'shared', 'benchmarks', 'covid-qa')
CORPUS = os.path.join(BENCH, 'corpus.jsonl')
QUESTIONS = os.path.join(BENCH, 'questions.jsonl')
EARLIER = ['covid_test_blind.jsonl', 'covid_test_blind_b.jsonl', 'covid_test_blind_c.jsonl',
           'covid_test_blind_d.jsonl']

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
    'tce-006': ('neither the ELISA-array nor traditional ELISA displayed cross-reactivity', 'both the ELISA-array and the traditional ELISA displayed cross-reactivity'),
    'tce-009': ('no significant linear relationship', 'did find a significant linear relationship'),
    'tce-012': ('April and July 2013', 'April and July 2012'),
    'tce-014': ('positive-sense', 'negative-sense'),
    'tce-017': ('in Shenzhen city by reconstructing', 'Shenzhen is racing to build'),
    'tce-019': ('much smaller than ELs', 'much larger than endolysosomes'),
    'tce-023': ('declined from 10.2/100,000', 'rose between the 1940s and the 1990s'),
    'tce-025': ('one male and six female', 'six men and one woman'),
    'tce-030': ('Toronto', 'Vancouver'),
    'tce-032': ('Hong Kong', 'Singapore'),
    'tce-034': ('There are not yet any approved antiviral treatments', 'are already available'),
    'tce-037': ('ENT physician', 'ophthalmologist'),
    'tce-039': ('Six-week-old', 'ten weeks old'),
    'tce-042': ('A and U were the major elements of ORF2 against ORF1', 'ORF2 was higher than that of ORF1'),
    'tce-044': ('only two did not test positive', 'seven of the 57'),
    'tce-046': ('Stenotrophomonas maltophilia', 'Klebsiella pneumoniae'),
    'tce-048': ('August 17, 2012', 'August 17, 2011'),
    'tce-051': ('February 12, 2020', 'February 16, 2020'),
    'tce-052': ('close the seafood market could decrease the b W', 'closing the seafood market could lower bP'),
    'tce-056': ('most frequently with RSV', 'most often adenovirus'),
    'tce-058': ('higher than 10.8%', 'was lower than the A/H1N1 vaccination rate'),
    'tce-061': ('case-fatality rate, 34%', 'case-fatality rate of 43%'),
    'tce-066': ('about 100 positions', '400 positions'),
    'tce-067': ('10 January', '20 January'),
    'tce-070': ('100q = 2.1%', '4.2%'),
    'tce-072': ('TBEV and EEEV was conducted in biosafety level 3', 'TBEV and EEEV were grown under biosafety level 2'),
    'tce-073': ('Kentucky', 'Florida'),
    'tce-075': ('Vero E6 but not 293T', '293T cells but not Vero E6'),
    'tce-079': ('6 times increased odds', 'three times the odds'),
    'tce-080': ('has not been previously reported', 'had already been reported'),
}
# Hand-recorded: wrong-source id -> key facts (in claim and in source_doc, absent from cited article).
WRONG_SOURCE = {
    'tce-003': ['0.005%', 'New Zealand'],
    'tce-005': ['18,172', '214'],
    'tce-008': ['2.5-7.2'],
    'tce-010': ['40,000', '70 years'],
    'tce-022': ['9.3 days', '12.5 days'],
    'tce-031': ['250,000', '500,000'],
    'tce-040': ['0.8%', '1.9%'],
    'tce-049': ['552', '1.6%'],
    'tce-053': ['27.3%', '3.0%'],
    'tce-076': ['89%', 'ZXC21', 'Tor2'],
}
# Hand-recorded: unsupported id -> list of (terms that must all occur, case-insensitive;
# exact set of corpus articles (all 98) returned, each read by hand and found not to state the claim).
UNSUPPORTED = {
    'tce-011': [(['copper'], ['1620'])],
    'tce-026': [(['genotype 6'], [])],
    'tce-029': [(['cryptosporidium'], ['1589'])],
    'tce-038': [(['cidofovir'], ['1562'])],
    'tce-064': [(['organoid'], ['2504'])],
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
        if r['id'] != f'tce-{i:03d}':
            fail(f'line {i}: id {r["id"]!r} != tce-{i:03d}')

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
