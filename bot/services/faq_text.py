"""Turn FAQ wording and members' questions into comparable terms.

Members type the way people talk ("my bf cheated", "cant trust ppl", "jelous"),
not the way an FAQ is written. Text is lower-cased, contractions and slang are
expanded, known phrases are folded into one concept, endings are stripped
lightly, and words that mean the same thing here map onto one concept term (a
small thesaurus for this support group's topics). Typos are fixed against the
index's vocabulary in `bot.services.faq`, where that vocabulary is known.
"""

from __future__ import annotations

import re
from functools import lru_cache

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
_WORD = re.compile(r"[a-z0-9]+")

_CONTRACTIONS = (
    (re.compile(r"\bcan't\b|\bcannot\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'d\b"), " would"),
    (re.compile(r"'s\b"), ""),
)

# Words people type without an apostrophe, or as shorthand.
SLANG = {
    "cant": "can not", "dont": "do not", "doesnt": "does not", "didnt": "did not", "wont": "will not",
    "isnt": "is not", "arent": "are not", "wasnt": "was not", "havent": "have not", "shouldnt": "should not",
    "couldnt": "could not", "wouldnt": "would not", "im": "i am", "ive": "i have", "youre": "you are",
    "theyre": "they are", "hes": "he is", "shes": "she is", "whats": "what is", "thats": "that is",
    "u": "you", "ur": "your", "ppl": "people", "peeps": "people", "bc": "because", "cuz": "because",
    "coz": "because", "cos": "because", "bf": "boyfriend", "gf": "girlfriend", "hubby": "husband",
    "bff": "best friend", "pls": "please", "plz": "please", "tho": "though", "rn": "right now",
    "idk": "i do not know", "abt": "about", "w": "with", "diff": "difference", "kinda": "kind of",
    "gonna": "going to", "wanna": "want to", "gotta": "have to", "sh": "self harm", "kms": "kill myself",
    "smth": "something", "sth": "something", "thx": "thanks", "ok": "okay", "mom's": "mom",
    "so's": "partner", "ex's": "ex", "tbh": "", "ngl": "", "lol": "", "pfft": "",
}

# Phrases that carry one idea, matched on whole words after slang is expanded. A phrase may
# become several concept words ("cause people").
PHRASES = {
    # crisis and self-harm
    "self harm": "selfharm", "self harming": "selfharm", "hurt myself": "selfharm",
    "hurting myself": "selfharm", "harm myself": "selfharm", "harming myself": "selfharm",
    "kill myself": "suicide", "end my life": "suicide", "ending my life": "suicide", "end it all": "suicide",
    "ending it all": "suicide", "end it": "suicide", "want to die": "suicide", "wish i was dead": "suicide",
    "not want to live": "suicide", "not want to be alive": "suicide", "not want to be here": "suicide",
    "can not go on": "suicide", "better off dead": "suicide", "better off without me": "suicide",
    "no reason to live": "suicide", "no point living": "suicide", "not okay": "crisis",
    "not safe": "crisis",
    # letting down, leaving, cheating, betrayal
    "let down": "disappoint", "letting down": "disappoint", "letting me down": "disappoint",
    "let me down": "disappoint", "flake on": "disappoint", "flakes on": "disappoint",
    "flaked on": "disappoint", "bail on": "disappoint", "bailed on": "disappoint",
    "follow through": "disappoint", "keep their promises": "disappoint", "keeps their promises": "disappoint",
    "broken promises": "disappoint", "break up": "leave", "broke up": "leave", "breaking up": "leave",
    "split up": "leave", "walk out": "leave", "walked out": "leave", "give up on me": "leave",
    "stay or go": "stay leave", "stay or leave": "stay leave", "worth staying": "stay",
    "cheated on": "cheat", "slept with": "cheat", "hooked up with": "cheat", "other woman": "cheat",
    "other man": "cheat", "went behind my back": "betray", "behind my back": "betray",
    "stabbed in the back": "betray", "stab in the back": "betray", "sold me out": "betray",
    "does not trust me": "mistrusted", "do not trust me": "mistrusted", "not trust me": "mistrusted",
    "thinks i am cheating": "mistrusted", "think i am cheating": "mistrusted", "accuses me": "mistrusted",
    "accusing me": "mistrusted", "suspects me": "mistrusted",
    # time
    "how long": "duration", "how much time": "duration", "how many months": "duration",
    "how many years": "duration", "how much longer": "duration", "taking forever": "duration",
    "used to": "later", "all of a sudden": "later", "no longer": "later", "these days": "later",
    "last year": "later", "last month": "later", "later in life": "adult", "as an adult": "adult",
    "grown up": "adult",
    # childhood
    "grow up": "childhood", "grew up": "childhood", "growing up": "childhood", "brought up": "childhood",
    "raised": "childhood", "when i was little": "childhood", "when i was young": "childhood",
    "when i was a kid": "childhood", "as a kid": "childhood", "as a child": "childhood",
    # causes, signs, meaning
    "come from": "cause", "comes from": "cause", "came from": "cause", "stem from": "cause",
    "where from": "cause", "what makes": "cause", "lead to": "cause", "leads to": "cause",
    "why do some people": "cause people", "why are some people": "cause people",
    "why does someone": "cause people", "why do people": "cause people",
    "red flag": "sign", "red flags": "sign", "if i have": "sign", "whether i have": "sign",
    "do i have trust": "sign trust", "what is trust issue": "define trust issue",
    "what are trust issues": "define trust issues", "what is a trust issue": "define trust issue",
    # healing
    "get over": "heal", "get past": "heal", "move on": "heal", "go away": "heal", "get better": "heal",
    "getting better": "heal", "for good": "permanent", "all the way": "permanent",
    "step by step": "gradual", "little by little": "gradual", "bit by bit": "gradual",
    "baby steps": "gradual", "small steps": "gradual", "small ways": "gradual",
    "first step": "start", "first steps": "start", "first thing": "start",
    "falling back": "setback", "fall back": "setback", "fell back": "setback", "slipped back": "setback",
    "square one": "setback", "old habits": "setback", "old ways": "setback",
    # openness, walls, boundaries
    "arms length": "distance", "arm length": "distance", "shut out": "wall", "shutting out": "wall",
    "shut people out": "wall", "shutting people out": "wall", "keep people away": "wall",
    "keeping people away": "wall", "push away": "pushaway", "pushing away": "pushaway",
    "pushed away": "pushaway", "push people away": "pushaway", "push everyone away": "pushaway",
    "bottle up": "open", "bottled up": "open", "let people in": "open", "let anyone in": "open",
    "letting people in": "open", "keep to myself": "open", "closed off": "open",
    # control and doing it all
    "hand off": "control", "hand over": "control", "do it myself": "control",
    "do everything myself": "control", "let go of control": "control",
    # jealousy and checking
    "look through": "snoop", "looking through": "snoop", "go through": "snoop", "going through": "snoop",
    "went through": "snoop", "check his phone": "snoop phone", "check her phone": "snoop phone",
    "check their phone": "snoop phone", "get mad when": "jealous", "gets mad when": "jealous",
    # being used
    "taken advantage": "exploit", "take advantage": "exploit", "walk all over": "exploit",
    "walks all over": "exploit", "pay me back": "exploit money",
    # feelings in the moment
    "on edge": "hypervigilant", "on guard": "hypervigilant", "freak out": "panic", "freaking out": "panic",
    "freaked out": "panic", "lose it": "panic",
    # therapy and help
    "eye movement": "emdr", "thought record": "cbt", "support group": "group", "group therapy": "group",
    "couples therapy": "couples", "couples counseling": "couples", "couples counselling": "couples",
    "marriage counseling": "couples", "marriage counselling": "couples", "go together": "couples",
    "mental health": "mentalhealth", "group project": "job", "group projects": "job",
    "mommy issues": "parent", "daddy issues": "parent", "mummy issues": "parent",
    "best friend": "friend", "right now": "now", "back in": "reconnect", "back into": "reconnect",
    "someone i love": "lovedone", "loved one": "lovedone", "help him": "lovedone", "help her": "lovedone",
    "help them": "lovedone", "support him": "lovedone", "support her": "lovedone",
    "support them": "lovedone",
}

# Words that mean the same thing for this FAQ, folded onto one concept term. Both the words and
# their stems are looked up, so "cheating", "cheated" and "cheats" all land on "cheat".
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "partner": ("partner", "boyfriend", "girlfriend", "husband", "wife", "spouse", "fiance", "fiancee",
                "lover", "bae", "hubby", "significant", "marriage", "married", "ex"),
    "parent": ("parent", "mom", "mum", "mother", "mommy", "mummy", "mama", "dad", "father", "daddy",
               "papa", "caregiver", "stepdad", "stepmom", "stepmum", "maternal", "paternal"),
    "family": ("family", "relative", "sibling", "brother", "sister", "cousin", "aunt", "uncle",
               "grandparent", "grandma", "grandpa", "inlaws"),
    "friend": ("friend", "mate", "bestie", "buddy", "pal", "friendship"),
    "job": ("job", "coworker", "colleague", "boss", "manager", "workplace", "office", "career",
            "employer", "employee", "team", "teammate", "promotion", "professional"),
    "dating": ("dating", "date", "romance", "romantic", "crush"),
    "childhood": ("childhood", "child", "kid", "upbring", "upbringing", "little", "young", "baby",
                  "teen", "teenager"),
    "cheat": ("cheat", "affair", "infidelity", "unfaithful", "adultery"),
    "betray": ("betray", "betrayal", "backstab", "backstabbed", "traitor"),
    "lie": ("lie", "liar", "lying", "dishonest", "deceive", "deceived", "deception"),
    "abuse": ("abuse", "abused", "abusive", "violence", "violent", "hit", "beat", "beaten"),
    "leave": ("leave", "abandon", "abandonment", "desert", "left", "ditch", "dump", "dumped", "divorce",
              "divorced", "breakup", "separate", "separated", "end", "ending", "ended", "gone"),
    "disappoint": ("disappoint", "disappointment", "flake", "flaky", "unreliable", "letdown", "promise"),
    "heal": ("heal", "recover", "recovery", "overcome", "cure", "cured", "fix", "improve", "healing"),
    "duration": ("duration", "timeline", "month", "year", "week", "longer", "forever"),
    "permanent": ("permanent", "permanently", "completely", "fully", "totally", "entirely"),
    "later": ("later", "suddenly", "anymore", "until", "lately", "recently", "recent"),
    "adult": ("adult", "adulthood", "grown", "grownup", "older", "twenties", "thirties", "forties",
              "20s", "30s", "40s", "50s"),
    "setback": ("setback", "relapse", "slip", "slipped", "backwards", "regress", "backslide"),
    "fear": ("fear", "scare", "scared", "afraid", "terrify", "terrified", "frighten", "dread"),
    "jealous": ("jealous", "jealousy", "envy", "envious", "possessive"),
    "suspicious": ("suspicious", "suspicion", "suspect", "paranoid", "paranoia", "accuse", "accus"),
    "careful": ("careful", "cautious", "caution", "wary", "wariness", "skeptic", "skeptical", "sceptical",
                "skepticism", "scepticism"),
    "healthy": ("healthy", "reasonable", "sensible", "okay"),
    "naive": ("naive", "gullible", "pushover"),
    "exploit": ("exploit", "exploited", "used", "manipulate", "manipulated", "manipulation", "lend",
                "lending"),
    "money": ("money", "financial", "finance", "scam", "scammed", "fraud", "steal", "stole", "stolen"),
    "snoop": ("snoop", "snooping", "spy", "spying", "stalk", "stalking", "track", "tracking"),
    "phone": ("phone", "messages", "message", "texts", "text", "texting", "dms", "dm", "inbox", "email",
              "instagram", "snapchat", "whatsapp", "socials"),
    "open": ("open", "vulnerable", "vulnerability", "confide", "express", "share", "tell", "hide", "hiding",
             "guarded", "mask"),
    "feeling": ("feeling", "emotion", "emotional", "emotionally", "affection"),
    "wall": ("wall", "walls", "isolate", "isolating"),
    "boundary": ("boundary", "boundaries", "boundry", "boundries", "limit"),
    "control": ("control", "controlling", "micromanage", "micromanag", "perfectionism", "perfectionist",
                "perfect", "delegate", "delegating"),
    "people": ("people", "person", "anyone", "everyone", "someone", "anybody", "everybody", "somebody",
               "others", "folk", "human", "guy", "guys"),
    "anxious": ("anxious", "anxiety", "anxiou", "nervous", "overthink", "overthinking", "worry", "worried",
                "worrying"),
    "depress": ("depress", "depression", "depressed", "hopeless", "sad", "empty", "numb"),
    "lonely": ("lonely", "loneliness", "alone", "isolated", "isolation", "single"),
    "panic": ("panic", "spiral", "spiraling", "spiralling", "freak", "overwhelm", "overwhelmed",
              "meltdown"),
    "calm": ("calm", "relax", "soothe", "settle", "chill", "breathe", "breathing", "grounding", "cope",
             "coping"),
    "start": ("start", "begin", "beginning", "first"),
    "sign": ("sign", "symptom", "trait", "indicator", "checklist"),
    "cause": ("cause", "reason", "root", "origin"),
    "define": ("define", "definition", "meaning", "mean", "means", "explain"),
    "difference": ("difference", "different", "differ", "distinguish", "versus", "vs"),
    "trigger": ("trigger", "triggered", "triggering"),
    "pattern": ("pattern", "patterns", "habit", "habits"),
    "journal": ("journal", "journaling", "journalling", "diary", "write", "writing", "notebook"),
    "therapy": ("therapy", "therapist", "therapi", "counsel", "counsell", "counselor", "counsellor",
                "counseling", "counselling", "shrink", "psychologist", "psychotherapy", "psychotherapist",
                "psychiatrist", "treatment"),
    "cbt": ("cbt", "cognitive"),
    "emdr": ("emdr",),
    "trauma": ("trauma", "traumatic", "traumatised", "traumatized", "ptsd", "flashback", "flashbacks"),
    "crisis": ("crisis", "emergency", "urgent", "danger"),
    "suicide": ("suicide", "suicidal"),
    "selfharm": ("selfharm", "cutting"),
    "help": ("help", "support", "assist"),
    "mistrust": ("mistrust", "distrust", "distrustful", "untrusting", "mistrustful"),
    "issue": ("issue", "issu", "problem", "struggle", "difficulty", "difficulti"),
    "affect": ("affect", "hurt", "harm", "damage", "impact", "mess", "ruin", "effect", "influence"),
    "sabotage": ("sabotage", "wreck", "destroy"),
    "good": ("good", "great", "fine", "happy", "loving", "nice", "decent"),
    "hope": ("hope", "hopeful", "chance"),
}

SYNONYMS: dict[str, str] = {word: canon for canon, words in _CONCEPTS.items() for word in words}

# Words that carry no meaning for matching.
STOPWORDS = frozenset(
    """
    a an and are as at be been being but by could did do does doing for from had has have having he her
    hers him his i if in into is it its itself just me my myself of on or our ours out over she so
    some such than that the their them then there these they this those to too very was we were what
    where which who whom will with would you your yours yourself am any all also about again really
    actually even ever still get got gets getting go going thing things stuff like kind sort way lot
    lots much many make makes made want wants wanted know knew think say said shall might may must one
    ones other here just yes no not please thanks hi hello hey gonna back because though whats whether
    till possible normal maybe someone's anything something everything nothing
    """.split()  # noqa: SIM905 (the list reads better as text)
)

# Words that stay even though they look like filler.
KEEP = frozenset({"now"})

# Words that say something, but too little to decide a match on their own: they count,
# with at most this weight, however rare they are in the FAQ.
WEAK_TERMS = frozenset({
    "always", "never", "good", "bad", "better", "worse", "new", "old", "today", "life", "people",
    "feel", "feeling", "need", "help", "happen", "start", "again", "every", "everi", "trust", "issue",
    "person", "right", "wrong", "hard", "easy", "eas", "time", "day", "why", "how", "when", "should",
    "can", "okay", "healthy", "affect", "now", "work",
})
WEAK_WEIGHT = 0.5


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip common English endings so 'trusting', 'trusted' and 'trusts' compare equal."""
    if len(word) <= 3:
        return word
    base = word
    for suffix, replacement, minimum in (
        ("iness", "y", 5), ("fulness", "", 5), ("ness", "", 5), ("ments", "", 5), ("ment", "", 5),
        ("ingly", "", 4), ("edly", "", 4), ("ies", "y", 3), ("ied", "y", 3), ("ing", "", 3),
        ("ed", "", 3), ("ly", "", 4), ("es", "", 4), ("s", "", 3),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= minimum and not word.endswith("ss"):
            base = word[: len(word) - len(suffix)] + replacement
            if suffix == "es" and not base.endswith(("sh", "ch", "x", "z")):
                base = word[:-1]
            # "stopped" -> "stopp" -> "stop"; "hopping" -> "hop".
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]
            break
    # "take" and "taking" meet at "tak".
    if len(base) >= 4 and base.endswith("e"):
        base = base[:-1]
    return base


_SYNONYM_STEMS: dict[str, str] = {stem(word): canon for word, canon in SYNONYMS.items()}


@lru_cache(maxsize=65536)
def canonical(word: str) -> str:
    """Return the term a word is indexed under: its concept, else its stem (or the stem's concept)."""
    if word in SYNONYMS:
        return SYNONYMS[word]
    stemmed = stem(word)
    return _SYNONYM_STEMS.get(stemmed, stemmed)


_PHRASE_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(p) for p in sorted(PHRASES, key=len, reverse=True)) + r")\b"
)


def expand(text: str) -> str:
    """Lower-case text and expand contractions, slang and known phrases (still words, not terms)."""
    lowered = text.lower().translate(_APOSTROPHES)
    for pattern, replacement in _CONTRACTIONS:
        lowered = pattern.sub(replacement, lowered)
    words = _WORD.findall(lowered.replace("'", ""))
    spaced = " ".join(SLANG.get(w, w) for w in words)
    return _PHRASE_PATTERN.sub(lambda m: PHRASES[m.group(1)], " ".join(spaced.split()))


def words_of(text: str) -> list[str]:
    """Return the meaningful words of a text (expanded, stopwords removed), before stemming."""
    return [w for w in expand(text).split() if w not in STOPWORDS or w in KEEP]


def terms_of(text: str) -> list[str]:
    """Return the canonical terms of a text, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in words_of(text):
        term = canonical(word)
        if term not in STOPWORDS or term in KEEP:
            seen.setdefault(term, None)
    return list(seen)
