"""Word tokenisation, stop words and stemming shared by cleaning, BM25 and sentence scoring."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

# A standard English stop-word list (close to NLTK's), used for stop-word density and BM25.
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further had hadn't has hasn't have haven't having he
    he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in
    into is isn't it it's its itself let's me more most mustn't my myself no nor not of off on once
    only or other ought our ours ourselves out over own same shan't she she'd she'll she's should
    shouldn't so some such than that that's the their theirs them themselves then there there's these
    they they'd they'll they're they've this those through to too under until up very was wasn't we
    we'd we'll we're we've were weren't what what's when when's where where's which while who who's
    whom why why's will with won't would wouldn't you you'd you'll you're you've your yours yourself
    yourselves may might must shall us via per""".split()
)

# Words that carry the question's intent but rarely appear in an answer sentence.
QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how much many does do did is are was were can could would "
    "should tell explain describe name list give according".split()
)

_WORD = re.compile(r"[^\W_]+(?:[-'’.][^\W_]+)*", re.UNICODE)
_stemmer = Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits, keeping inner hyphens, apostrophes, dots)."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball English stem of a lower-case word."""
    return _stemmer.stemWord(word)


# Medical words of Greek roots spelled the British way that breame's list lacks (haematopoietic, oedema,
# ischaemia): their American spelling drops the a or o of "ae" / "oe".
_BRITISH_ROOTS = re.compile(r"^haem|aemi(?=[ac])|^(?:oed|oes|foet|paed|aetio|anaes|gynaec|faec|amoeb|coeli|caesar)|oea$")


@lru_cache(maxsize=200_000)
def american_spelling(word: str) -> str:
    """The American spelling of a lower-case word written the British way (haemophilia -> hemophilia,
    tumour -> tumor, randomised -> randomized; breame's list of 3,400 words, then the Greek roots of
    ``_BRITISH_ROOTS``); any other word unchanged. For telling one word in two spellings from two words."""
    from breame.spelling import get_american_spelling  # a 140 kB table, loaded on first use

    spelled = get_american_spelling(word)
    if spelled != word:
        return spelled
    return _BRITISH_ROOTS.sub(lambda m: m.group(0).replace("ae", "e").replace("oe", "e"), word)


def spelling_stem(word: str) -> str:
    """``stem`` of the word's American spelling: one stem for "haemophilia" and "hemophilia"."""
    return stem(american_spelling(word))


@lru_cache(maxsize=1)
def _places() -> dict[str, frozenset[str]]:
    """Lower-case one-word country names, alternative spellings and demonyms -> the countries they name
    (countryinfo's table: "ireland" and "irish" -> Ireland; "chinese" -> China, Hong Kong, Macau)."""
    import countryinfo  # a 1.4 MB data package, read on first use

    found: dict[str, set[str]] = {}
    for country in countryinfo.all_countries():
        forms = [country.name(), *(country.alt_spellings() or []), *(country.demonym() or "").split(",")]
        for form in (f.strip() for f in forms):
            if len(form) > 3 and form.isalpha():  # not codes ("IE", "US": "us" is a pronoun)
                found.setdefault(form.lower(), set()).add(country.name())
    return {form: frozenset(countries) for form, countries in found.items()}


def same_place(a: str, b: str) -> bool:
    """Whether two words name one country, as its name or its people's adjective (Ireland / Irish,
    China / Chinese, Netherlands / Dutch): one place said two ways, not a swapped name."""
    places = _places()
    return bool(places.get(a.lower(), frozenset()) & places.get(b.lower(), frozenset()))


@lru_cache(maxsize=20_000)
def place_forms(word: str) -> frozenset[str]:
    """Every one-word form that names the same country as ``word`` (empty for a word naming none)."""
    places = _places()
    countries = places.get(word.lower(), frozenset())
    return frozenset(form for form, named in places.items() if named & countries) if countries else frozenset()


def _expand(word: str) -> list[str]:
    # "AAV-PHP.eB" or "CRISPR-Cas9" also match their parts; "4.7" stays whole.
    if any(sep in word for sep in "-'.") and not word.replace(".", "").isdigit():
        parts = [p for p in re.split(r"[-'.]", word) if p]
        return [word, *parts] if len(parts) > 1 else [word]
    return [word]


def terms(text: str, drop_question_words: bool = False) -> list[str]:
    """Stemmed content terms for lexical matching (stop words dropped)."""
    out = []
    for word in words(text):
        for part in _expand(word):
            if part in STOP_WORDS or (drop_question_words and part in QUESTION_WORDS):
                continue
            out.append(stem(part))
    return out


def key_words(text: str, drop_question_words: bool = False) -> list[str]:
    """The words of a question or claim that carry its content, lower-cased, in order: no stop words
    (nor, with ``drop_question_words``, question words). Unlike ``terms``: unstemmed and whole
    ("CRISPR-Cas9" stays one word), for naming what it asks about or comparing it to a source."""
    return [w for w in words(text) if w not in STOP_WORDS and not (drop_question_words and w in QUESTION_WORDS)]


def key_stems(text: str, drop_question_words: bool = False) -> set[str]:
    """The stems of ``key_words``: what a source must contain to say what ``text`` says."""
    return {stem(w) for w in key_words(text, drop_question_words)}


def stop_word_density(text: str) -> float:
    """Share of word tokens that are stop words (0 for text without words)."""
    tokens = words(text)
    if not tokens:
        return 0.0
    return sum(1 for t in tokens if t in STOP_WORDS) / len(tokens)


SPECIALISED_ZIPF = 3.0


@lru_cache(maxsize=100_000)
def is_specialised(word: str) -> bool:
    """A word rare in general English (Zipf frequency below 3, e.g. 'dystrophin', 'lentiviral'):
    a term of the field, which a paraphrase keeps rather than rewords."""
    from wordfreq import zipf_frequency

    return len(word) > 3 and not word.isdigit() and zipf_frequency(word, "en") < SPECIALISED_ZIPF
