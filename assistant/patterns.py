"""Text patterns every stage shares, defined once."""

from __future__ import annotations

import re

# A source's own reference marks inside its sentences: "[3]", "[12–14]", "[4, 7]". They are part of the
# quoted text, never our citations, and never values (a count or a date).
# A word of a question as written, names and codes whole (AAV9, CD4-positive, C.difficile).
QUESTION_TOKEN = re.compile(r"[\w\-‑.]*\w")
REFERENCE_MARK = re.compile(r"\[\d+(?:\s?[-–,]\s?\d+)*\]")

# Our own citation markers in an answer's text, "First sentence. [1] Second sentence. [2]", with the white
# space before each (group 1: the number). ``citation_marker`` writes one.
CITATION_MARKER = re.compile(r"\s*\[(\d+)\]")


def display_text(text: str) -> str:
    """A quote with its white space collapsed, for reading in an answer."""
    return " ".join(text.split())


def citation_marker(number: int) -> str:
    """The marker that cites citation ``number`` in an answer's text: ``[number]``."""
    return f"[{number}]"


# Month names and their abbreviations, to their number (1-12): dates in documents and in claims.
MONTHS = {name: number for number, names in enumerate(
    [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
     ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
     ("november", "nov"), ("december", "dec")], 1) for name in names}


# Opposite words, in two lists for two rules. OPPOSITES: a claim using one where its source uses the other
# says the opposite (the checker's "negation" difference, which overrules the judge), so it holds only
# pairs that never paraphrase each other; a side may list forms of one word ("shorter|shortened"), any of
# which stands against any form of the other side. DIRECTION_PAIRS: words of a direction, broader (high / low,
# before / after), read as a judge feature and used to alter claims for training, never as a veto.
OPPOSITES = (("rarely", "often"), ("rarely", "frequently"), ("rarely", "commonly"), ("seldom", "often"),
             ("never", "always"),
             ("increase|increases|increased|increasing", "decrease|decreases|decreased|decreasing|reduction|reductions"),
             ("increase|increases|increased|increasing|raise|raises|raised|raising", "reduce|reduces|reduced|reducing"),
             ("higher", "lower"), ("larger", "smaller"), ("safe", "unsafe"), ("effective", "ineffective"),
             ("permanent", "temporary"), ("permanently", "temporarily"), ("dominant", "recessive"),
             ("best", "worst"), ("most", "least"), ("large", "small"), ("more", "less"), ("improved", "reduced"),
             ("improve", "reduce"), ("improves", "reduces"), ("improved", "worsened"), ("broader", "narrower"),
             ("wider", "narrower"), ("early", "late"), ("acute", "chronic"), ("benign", "malignant"),
             ("present", "absent"), ("presence", "absence"), ("susceptible", "resistant"), ("maximum", "minimum"),
             ("agonist", "antagonist"), ("inside", "outside"), ("gain", "loss"),
             ("faster", "slower"), ("stronger", "weaker"), ("male|males|men", "female|females|women"),
             ("shorter|shorten|shortens|shortened", "longer|lengthen|lengthens|lengthened|prolong|prolongs|prolonged"),
             ("upregulated|upregulates|upregulation", "downregulated|downregulates|downregulation"),
             ("activates|activated", "inhibits|inhibited"))
# Words of a change or comparison by the way it points, for the checker's "direction" veto
# (``check/direction.py``): a claim saying only RISING words where its source says only FALLING ones, about the
# same thing, reverses it ("slower" against "more rapid", "more active" against "8-fold lower activity").
# Words that name a good or bad outcome (improved, worse) are left out: "reduced mortality" says
# "improved survival".
RISING = frozenset(
    "more higher greater larger bigger increase increases increased increasing rise rises rose risen raise raises "
    "raised raising elevate elevates elevated upregulate upregulates upregulated upregulation faster quicker rapid "
    "rapidly accelerate accelerates accelerated enhance enhances enhanced enhancing boost boosts boosted stronger "
    "strengthened augment augments augmented exceed exceeds exceeded longer lengthened prolonged expand expands "
    "expanded grew grow grows".split())
FALLING = frozenset(
    "less lower fewer smaller reduce reduces reduced reducing reduction decrease decreases decreased decreasing "
    "decline declines declined fall falls fell drop drops dropped lowered diminish diminishes diminished "
    "downregulate downregulates downregulated downregulation slower slow slows slowed slowing weaker weakened "
    "weakens attenuate attenuates attenuated suppress suppresses suppressed inhibit inhibits inhibited impaired "
    "shorter shortened shrink shrinks shrank".split())
# Everyday terms of one kind that a claim may swap for another (the liver for the brain, vomiting for diarrhoea,
# duck eggs for chicken eggs): the checker's "term" veto (``check/term_kinds.py``) when a claim names a member
# its source does not and the source another member the claim does not. A member lists its forms and plain
# synonyms ("lung|lungs|pulmonary"). The four kinds came from misses of the blind claim sets A-C; each list
# names the common members of its kind, not only the ones those claims swapped.
KIND_TERMS = {
    "organ": ("liver|livers|hepatic", "brain|brains|cerebral", "lung|lungs|pulmonary", "kidney|kidneys|renal",
              "spleen|spleens|splenic", "heart|hearts|cardiac", "skin|cutaneous|dermal", "bone|bones",
              "intestine|intestines|intestinal|gut|bowel", "stomach|gastric", "colon|colonic", "pancreas|pancreatic",
              "retina|retinal", "bladder", "placenta|placental", "ovary|ovaries|ovarian", "testis|testes|testicular",
              "thymus", "tonsil|tonsils", "esophagus|oesophagus|esophageal"),
    "sample": ("saliva|salivary", "urine|urinary", "stool|stools|feces|faeces|fecal|faecal", "sputum", "tears",
               "semen"),
    "symptom": ("fever|fevers|febrile|pyrexia", "cough|coughs|coughing", "vomiting|vomit|emesis",
                "diarrhea|diarrhoea", "nausea", "headache|headaches", "fatigue|tiredness", "rash|rashes",
                "myalgia|myalgias", "dyspnea|dyspnoea|breathlessness", "sneezing", "rhinorrhea|rhinorrhoea"),
    "host": ("chicken|chickens", "duck|ducks", "mouse|mice|murine", "rat|rats", "pig|pigs|swine|porcine",
             "bat|bats", "camel|camels", "ferret|ferrets", "monkey|monkeys|macaque|macaques", "hamster|hamsters",
             "cattle|cow|cows|calf|calves|bovine", "sheep|ovine", "goat|goats", "horse|horses|equine", "dog|dogs|canine",
             "cat|cats|feline", "rabbit|rabbits"),
}
DIRECTION_PAIRS = (("increase", "decrease"), ("increased", "decreased"), ("increases", "decreases"),
                   ("increasing", "decreasing"), ("higher", "lower"), ("more", "less"), ("more", "fewer"),
                   ("rise", "fall"), ("gain", "loss"), ("positive", "negative"), ("before", "after"),
                   ("larger", "smaller"), ("longer", "shorter"), ("greater", "lesser"), ("most", "least"),
                   ("maximum", "minimum"), ("earlier", "later"), ("inhibit", "promote"), ("inhibits", "promotes"),
                   ("upregulated", "downregulated"), ("above", "below"), ("high", "low"), ("elevated", "reduced"),
                   ("stronger", "weaker"), ("strong", "weak"))
