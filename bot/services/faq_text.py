"""Turn FAQ wording and members' questions into comparable terms.

Members type the way people talk ("my bf cheated", "cant trust ppl", "jelous"),
not the way an FAQ is written. Text is lower-cased, contractions and slang are
expanded, known phrases are folded into one concept, a few patterns of who does
what to whom add a concept ("she checks MY phone" means being mistrusted, "my
friend has trust issues" means supporting someone), endings are stripped
lightly, and words that mean the same thing here map onto one concept term (a
thesaurus for this support group's topics). A term may also suggest a wider
concept more weakly ("cheated" is also about betrayal). Typos are fixed against
the index's vocabulary in `bot.services.faq`, where that vocabulary is known.
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
    "isnt": "is not", "arent": "are not", "wasnt": "was not", "werent": "were not", "havent": "have not",
    "hasnt": "has not", "shouldnt": "should not", "couldnt": "could not", "wouldnt": "would not",
    "im": "i am", "ive": "i have", "youre": "you are", "theyre": "they are", "theyll": "they will",
    "theyve": "they have", "hes": "he is", "shes": "she is", "whats": "what is", "thats": "that is",
    "wheres": "where is", "whos": "who is", "hows": "how is", "itll": "it will", "youll": "you will",
    "u": "you", "ur": "your", "r": "are", "y": "why", "ya": "you", "yu": "you", "wat": "what",
    "wut": "what", "wht": "what", "ppl": "people", "peeps": "people", "ppls": "people",
    "bc": "because", "bcs": "because", "bcuz": "because", "cuz": "because", "coz": "because",
    "cos": "because", "b4": "before", "thru": "through", "tho": "though", "altho": "although",
    "bf": "boyfriend", "gf": "girlfriend", "bfs": "boyfriend", "gfs": "girlfriend", "hubby": "husband",
    "hubs": "husband", "wifey": "wife",
    "bff": "best friend", "sis": "sister", "bro": "brother", "fam": "family", "mom's": "mom",
    "so's": "partner", "ex's": "ex", "pls": "please", "plz": "please", "rn": "right now",
    "idk": "i do not know", "dunno": "do not know", "abt": "about", "w": "with", "diff": "difference",
    "kinda": "kind of", "sorta": "sort of", "gonna": "going to", "wanna": "want to", "gotta": "have to",
    "tryna": "trying to", "lil": "little", "yrs": "years", "yr": "year", "mos": "months",
    "wks": "weeks", "hrs": "hours", "msgs": "messages", "msg": "message", "txt": "text",
    "txts": "texts", "insta": "instagram", "ig": "instagram", "convo": "conversation",
    "convos": "conversations", "sh": "self harm", "kms": "kill myself", "unalive": "kill",
    "smth": "something", "sth": "something", "thx": "thanks", "ok": "okay", "prob": "probably",
    "rly": "really", "srsly": "seriously", "every1": "everyone", "any1": "anyone", "some1": "someone",
    "no1": "no one", "tbh": "", "ngl": "", "lol": "", "lmao": "", "pfft": "", "ugh": "", "omg": "",
    "fr": "", "tbf": "", "imo": "", "jk": "",
    # filler that would otherwise split a phrase ("what exactly are trust issues")
    "exactly": "", "actually": "", "really": "", "literally": "", "basically": "", "honestly": "",
    "seriously": "", "truly": "", "even": "", "kidding": "",
}

# Phrases that carry one idea, matched on whole words after slang is expanded. A phrase may
# become several concept words ("cause people").
PHRASES = {
    # crisis and self-harm
    "self harm": "selfharm", "self harming": "selfharm", "hurt myself": "selfharm",
    "hurting myself": "selfharm", "harm myself": "selfharm", "harming myself": "selfharm",
    "kill myself": "suicide", "end my life": "suicide", "ending my life": "suicide", "end it all": "suicide",
    "ending it all": "suicide", "want to end it": "suicide", "going to end it": "suicide",
    "want to die": "suicide", "wish i was dead": "suicide", "wish i were dead": "suicide",
    "not want to live": "suicide", "not want to be alive": "suicide", "not want to be here": "suicide",
    "can not go on": "suicide", "better off dead": "suicide", "better off without me": "suicide",
    "no reason to live": "suicide", "no point living": "suicide", "not okay": "crisis",
    "not safe": "crisis", "can not do this anymore": "crisis", "can not take it anymore": "crisis",
    "can not take this anymore": "crisis", "want it to stop": "crisis", "want it all to stop": "crisis",
    "can not cope": "crisis",
    # letting down, leaving, being left, cheating, betrayal
    "let down": "disappoint", "letting down": "disappoint", "letting me down": "disappoint",
    "let me down": "disappoint", "lets me down": "disappoint", "flake on": "disappoint",
    "flakes on": "disappoint", "flaked on": "disappoint", "flaking on": "disappoint",
    "bail on": "disappoint", "bailed on": "disappoint", "bails on": "disappoint",
    "stood me up": "disappoint", "cancel on": "disappoint", "cancels on": "disappoint",
    "cancelled on": "disappoint", "canceled on": "disappoint",
    "follow through": "disappoint", "keep their promises": "disappoint", "keeps their promises": "disappoint",
    "keep their word": "disappoint", "break their word": "disappoint", "breaks their word": "disappoint",
    "broke their word": "disappoint", "broken promises": "disappoint",
    "break up": "leave", "broke up": "leave", "breaking up": "leave", "split up": "leave",
    "walk away": "leave", "walked away": "leave", "should i end it": "stay leave",
    "give up on me": "abandon", "leave me": "abandon", "leaves me": "abandon", "left me": "abandon",
    "leaving me": "abandon", "walk out": "abandon", "walked out": "abandon", "walks out": "abandon",
    "stay or go": "stay leave", "stay or leave": "stay leave", "worth staying": "stay",
    "cheated on": "cheat", "slept with": "cheat", "hooked up with": "cheat", "other woman": "cheat",
    "other man": "cheat", "went behind my back": "betray",
    "behind my back": "betray", "stabbed in the back": "betray", "stab in the back": "betray",
    "sold me out": "betray", "broke my trust": "betray", "broken trust": "betray",
    "does not trust me": "mistrusted", "do not trust me": "mistrusted", "not trust me": "mistrusted",
    "thinks i am cheating": "mistrusted", "think i am cheating": "mistrusted", "accuses me": "mistrusted",
    "accusing me": "mistrusted", "accused me": "mistrusted", "suspects me": "mistrusted",
    "proving myself": "mistrusted", "prove myself": "mistrusted",
    "hiding something": "suspicious", "hiding things": "suspicious", "hiding stuff": "suspicious",
    "is hiding": "suspicious", "up to something": "suspicious", "second guess": "mistrust",
    "second guessing": "mistrust",
    # time
    "how long": "duration", "how much time": "duration", "how many months": "duration",
    "how many years": "duration", "how much longer": "duration", "taking forever": "duration",
    "takes forever": "duration", "so slow": "duration", "for ages": "duration", "how fast": "duration",
    "how quickly": "duration", "how soon": "duration", "used to": "later", "all of a sudden": "later",
    "out of nowhere": "later", "no longer": "later", "these days": "later", "last year": "later",
    "last month": "later", "later in life": "adult", "as an adult": "adult", "grown up": "adult",
    # forever, hope, possibility
    "like this forever": "permanent", "be like this": "permanent", "live with it": "permanent",
    "for good": "permanent", "all the way": "permanent", "for life": "permanent",
    "someone like me": "hope", "people like me": "hope",
    # childhood
    "grow up": "childhood", "grew up": "childhood", "growing up": "childhood", "brought up": "childhood",
    "raised": "childhood", "when i was little": "childhood", "when i was young": "childhood",
    "when i was a kid": "childhood", "as a kid": "childhood", "as a child": "childhood",
    "never around": "neglect", "never there": "neglect", "not there for me": "neglect",
    "was not there": "neglect", "were not there": "neglect",
    # causes, signs, meaning
    "come from": "cause", "comes from": "cause", "came from": "cause", "stem from": "cause",
    "where from": "cause", "what makes": "cause", "lead to": "cause", "leads to": "cause",
    "why do some people": "cause people", "why are some people": "cause people",
    "why does someone": "cause people", "why do people": "cause people", "why would someone": "cause people",
    "red flag": "sign", "red flags": "sign", "if i have": "sign", "whether i have": "sign",
    "do i have trust": "sign trust", "what is trust issue": "define trust issue",
    "what are trust issues": "define trust issues", "what is a trust issue": "define trust issue",
    "or just": "difference", "or am i just": "difference",
    # healing
    "get over": "heal", "get past": "heal", "move on": "heal", "go away": "heal", "get better": "heal",
    "getting better": "heal", "step by step": "gradual", "little by little": "gradual",
    "bit by bit": "gradual",
    "baby steps": "gradual", "small steps": "gradual", "small ways": "gradual",
    "first step": "start firststep", "first steps": "start firststep", "first thing": "start firststep",
    "where do i start": "start firststep", "where to start": "start firststep",
    "where do i begin": "start firststep", "where to begin": "start firststep",
    "how do i start": "start firststep", "how do i begin": "start firststep",
    "at what point": "threshold", "bad enough": "threshold", "serious enough": "threshold",
    "when is it time": "threshold", "time to": "threshold",
    "recovery time": "duration", "healing time": "duration", "time frame": "duration",
    "go back to": "cause", "goes back to": "cause", "trace back": "cause", "traces back": "cause",
    "messed up again": "setback", "screwed up again": "setback", "did it again": "setback",
    "slipped up": "setback", "act fine": "mask", "act okay": "mask", "pretend": "mask", "pretending": "mask",
    "falling back": "setback", "fall back": "setback", "fell back": "setback", "slipped back": "setback",
    "square one": "setback", "old habits": "setback", "old ways": "setback", "going backwards": "setback",
    "go backwards": "setback",
    # openness, walls, boundaries, distance
    "arms length": "distance", "arm length": "distance", "shut out": "wall", "shutting out": "wall",
    "shut people out": "wall", "shutting people out": "wall", "keep people away": "wall",
    "keeping people away": "wall", "push away": "pushaway", "pushing away": "pushaway",
    "pushed away": "pushaway", "push people away": "pushaway", "push everyone away": "pushaway",
    "bottle up": "open", "bottled up": "open", "let people in": "open", "let anyone in": "open",
    "letting people in": "open", "letting anyone in": "open", "keep to myself": "open",
    "closed off": "open", "clam up": "open", "open up": "open", "opening up": "open",
    "cut off": "estrange", "cut out": "estrange", "cut ties": "estrange", "no contact": "estrange",
    "cutting off": "estrange", "cutting people off": "estrange", "cut them off": "estrange",
    # control and doing it all
    "hand off": "control", "hand over": "control", "do it myself": "control",
    "do everything myself": "control", "let go of control": "control", "my way": "control",
    "control freak": "control",
    # jealousy and checking
    "look through": "snoop", "looking through": "snoop", "go through": "snoop", "going through": "snoop",
    "went through": "snoop", "goes through": "snoop", "check his phone": "snoop phone",
    "check her phone": "snoop phone", "check their phone": "snoop phone", "get mad when": "jealous",
    "gets mad when": "jealous",
    # being used
    "taken advantage": "exploit", "take advantage": "exploit", "walk all over": "exploit",
    "walks all over": "exploit", "pay me back": "exploit money", "get it back": "exploit money",
    "too nice": "naive", "too trusting": "naive", "trust too easily": "naive",
    "benefit of the doubt": "naive", "get burned": "hurt", "got burned": "hurt", "getting burned": "hurt",
    # feelings in the moment
    "on edge": "hypervigilant", "on guard": "hypervigilant", "on high alert": "hypervigilant",
    "on alert": "hypervigilant", "freak out": "panic", "freaking out": "panic",
    "freaked out": "panic", "lose it": "panic", "calm down": "calm", "worked up": "panic",
    "text back": "reply", "texts back": "reply", "texting back": "reply", "write back": "reply",
    "writes back": "reply", "call back": "reply", "calls back": "reply",
    "wound up": "panic", "riled up": "panic",
    # therapy and help
    "eye movement": "emdr", "thought record": "cbt", "support group": "group", "group therapy": "group",
    "couples therapy": "couples", "couples counseling": "couples", "couples counselling": "couples",
    "marriage counseling": "couples", "marriage counselling": "couples", "go together": "couples",
    "mental health": "mentalhealth", "group project": "job", "group projects": "job",
    "mommy issues": "parent", "daddy issues": "parent", "mummy issues": "parent",
    "best friend": "friend", "right now": "now", "back in": "reconnect", "back into": "reconnect",
    "someone i love": "lovedone", "loved one": "lovedone", "help him": "lovedone", "help her": "lovedone",
    "help them": "lovedone", "support him": "lovedone", "support her": "lovedone",
    "support them": "lovedone", "see someone": "professional", "talk to someone": "professional",
    "see a professional": "professional", "get help": "professional help",
    "thought i was better": "setback", "thought i was over": "setback", "thought i was healed": "setback",
    "new relationship": "dating",
    "someone new": "newpeople",
    "new people": "newpeople", "new person": "newpeople", "just met": "newpeople",
    "new friends": "newpeople friend", "new friend": "newpeople friend", "people i meet": "newpeople",
    "give up": "giveup", "giving up": "giveup", "gave up": "giveup", "all the time": "always",
    "will i ever": "hope possible",
    "deal with": "handle", "dealing with": "handle", "cope with": "handle",
}

_WHO = (r"(?:he|she|they|partner|boyfriend|girlfriend|husband|wife|spouse|fiance|fiancee|ex|"
        r"friend|mom|mum|mother|dad|father|parents?|brother|sister|son|daughter|sibling|"
        r"coworker|colleague|boss)")

_THEIR_THINGS = r"(?:phone|texts|messages|emails|email|dms|stuff|things|socials|instagram|snapchat)"

# Patterns of who does what to whom: each match is replaced by the words given (`\\1` keeps a
# group), so "she checks my phone" reads as being mistrusted, not as checking a phone.
CUES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\b({_WHO}) (?:\w+ )?(?:checks|reads|goes through|went through|looks through|tracks|"
                rf"snoops through|snoops on) (?:all )?(?:of )?my (?:{_THEIR_THINGS}\b)?"), r"\1 mistrusted "),
    (re.compile(rf"\b(?:checking|reading|going through|tracking) (?:all )?my {_THEIR_THINGS}\b"),
     "mistrusted"),
    # questions whose words are spread out
    (re.compile(r"\bwhat (?:\w+ ){0,2}(?:is|are) (?:a |the )?trust (?:issue|issues|problem|problems)\b"),
     "define trust issues"),
    (re.compile(r"\bwhere (?:do|does|did) (?!i\b|we\b)(?:\w+ ){0,3}(?:start|begin)\b"), r"\g<0> cause"),
    (re.compile(r"\bnot (?:feel|feeling|felt) safe\b"), "not safe"),
    (re.compile(r"\btrust(?:ing|s)? (?:\w+ ){0,2}(?:too|so) (?:fast|quickly|easily|soon|much)\b"),
     "trust naive"),
    (re.compile(r"\b(?:dump|dumps|dumped|ditch|ditches|ditched|ghost|ghosts|ghosted|reject|rejects|rejected|"
                r"drop|drops|dropped|replace|replaces|replaced|abandon|abandons|abandoned) me\b"), "abandon"),
    (re.compile(r"\b(?:am|i am|so|this|too) (?:\w+ )?(?:messed up|broken|damaged|screwed up|fucked up)\b"),
     "damaged"),
    (re.compile(r"\bback (?:at|to) (?:zero|square one|the start|the beginning|step one)\b"), "setback"),
    (re.compile(r"\b(?:was|were|had been|been) doing (?:so |really |pretty |very )?"
                r"(?:well|good|great|better|fine)\b"), "setback"),
    (re.compile(r"\b(?:no|never|without|nothing) (?:\w+ ){0,2}"
                r"(?:trauma|abuse|abused|divorce|bad happened)\b"), "notrauma"),
    # someone the member cares about struggles to trust: supporting them
    (re.compile(rf"\bmy ({_WHO}) (?:\w+ )?(?:(?:has|have|had) (?:trust|serious trust|big trust|"
                r"a lot of trust)|struggles to trust|struggles with trust|never trusts|is scared to trust|"
                r"(?:does not|do not|can not) trust(?! me\b))\b"), r"my \1 lovedone"),
    (re.compile(rf"\b(help|support|reassure|convince|get|encourage) my ({_WHO})\b"), r"\1 my \2 lovedone"),
    (re.compile(rf"\b(?:show|prove to|convince|help|get|make) (?:my )?{_WHO} (?:\w+ ){{0,3}}trust me\b"),
     "lovedone trustworthy"),
)

# A cue is only tried on text holding one of these words (most text holds none of them).
_CUE_NEEDS: tuple[tuple[str, ...], ...] = (
    ("check", "read", "through", "track", "snoop"),
    ("checking", "reading", "going through", "tracking"),
    ("trust",),
    ("where",),
    ("safe",),
    ("trust",),
    (" me",),
    ("messed", "broken", "damaged", "screwed", "fucked"),
    ("back",),
    ("doing",),
    ("no ", "never", "without", "nothing"),
    ("trust",),
    ("my ",),
    ("trust me",),
)
_CUE_CHECKS = tuple(
    (pattern, replacement, needs) for (pattern, replacement), needs in zip(CUES, _CUE_NEEDS, strict=True)
)

# Words that mean the same thing for this FAQ, folded onto one concept term. Both the words and
# their stems are looked up, so "cheating", "cheated" and "cheats" all land on "cheat".
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "partner": ("partner", "boyfriend", "girlfriend", "husband", "wife", "spouse", "fiance", "fiancee",
                "lover", "bae", "significant", "ex", "exes"),
    "relationship": ("relationship", "marriage", "married"),
    "parent": ("parent", "mom", "mum", "mother", "mommy", "mummy", "mama", "dad", "father", "daddy",
               "papa", "caregiver", "stepdad", "stepmom", "stepmum", "maternal", "paternal"),
    "family": ("family", "relative", "sibling", "brother", "sister", "cousin", "aunt", "uncle",
               "grandparent", "grandma", "grandpa", "inlaws", "stepbrother", "stepsister", "christmas",
               "holidays"),
    "friend": ("friend", "mate", "bestie", "buddy", "pal", "friendship", "homie"),
    "job": ("job", "coworker", "colleague", "boss", "manager", "workplace", "office", "career",
            "employer", "employee", "team", "teammate", "promotion", "business", "company"),
    "dating": ("dating", "date", "romance", "romantic", "crush", "tinder", "hinge", "bumble",
               "situationship"),
    "childhood": ("childhood", "child", "kid", "upbring", "upbringing", "little", "young", "baby",
                  "teen", "teenager", "kiddo"),
    "neglect": ("neglect", "neglected", "neglectful", "absent", "ignored", "unavailable"),
    "addiction": ("addiction", "addict", "addicted", "alcohol", "alcoholic", "drunk", "drinking",
                  "drugs"),
    "cheat": ("cheat", "affair", "infidelity", "unfaithful", "adultery"),
    "betray": ("betray", "betrayal", "backstab", "backstabbed", "traitor", "gossip", "rumour", "rumor"),
    "lie": ("lie", "liar", "lying", "lied", "dishonest", "deceive", "deceived", "deception", "gaslight",
            "gaslighting", "gaslit"),
    "abuse": ("abuse", "abused", "abusive", "violence", "violent", "hit", "beat", "beaten", "narcissist",
              "narcissistic"),
    "leave": ("leave", "desert", "dump", "dumped", "divorce", "divorced", "breakup", "separate",
              "separated", "end", "ending", "ended"),
    "abandon": ("abandon", "abandonment", "abandoned", "ditch", "ditched", "ghost", "ghosted", "ghosting",
                "gone", "left"),
    "reject": ("reject", "rejection", "rejected", "unwanted"),
    "reply": ("reply", "replies", "respond", "response", "answer", "unanswered", "ignore", "ignoring"),
    "disappoint": ("disappoint", "disappointment", "flake", "flaky", "unreliable", "letdown", "promise",
                   ),
    "heal": ("heal", "recover", "recovery", "overcome", "cure", "cured", "fix", "fixed", "improve",
             "healing", "curable", "fixable"),
    "duration": ("duration", "timeline", "timeframe", "longer", "slow"),
    "timespan": ("month", "year", "week", "decade", "ages"),
    "permanent": ("permanent", "permanently", "completely", "fully", "totally", "entirely", "forever",
                  "lifelong"),
    "possible": ("possible", "able", "capable", "impossible"),
    "later": ("later", "suddenly", "anymore", "until", "lately", "recently", "recent"),
    "adult": ("adult", "adulthood", "grown", "grownup", "older", "twenties", "thirties", "forties",
              "fifties", "20s", "30s", "40s", "50s", "60s"),
    "setback": ("setback", "relapse", "relapsed", "slip", "slipped", "backwards", "regress", "backslide"),
    "fear": ("fear", "scare", "scared", "afraid", "terrify", "terrified", "frighten", "dread"),
    "jealous": ("jealous", "jealousy", "envy", "envious", "possessive", "insecure", "insecurity"),
    "suspicious": ("suspicious", "suspicion", "suspect", "paranoid", "paranoia", "accuse", "accus"),
    "careful": ("careful", "cautious", "caution", "wary", "wariness", "skeptic", "skeptical", "sceptical",
                "skepticism", "scepticism", "smart", "sensible", "wise"),
    "healthy": ("healthy", "reasonable", "okay", "unhealthy"),
    "naive": ("naive", "gullible", "pushover"),
    "exploit": ("exploit", "exploited", "used", "manipulate", "manipulated", "manipulation", "lend",
                "lending", "borrow"),
    "money": ("money", "financial", "finance", "scam", "scammed", "fraud", "steal", "stole", "stolen",
              "rob", "robbed"),
    "snoop": ("snoop", "snooping", "spy", "spying", "stalk", "stalking", "track", "tracking"),
    "phone": ("phone", "messages", "message", "texts", "text", "texting", "dms", "dm", "inbox", "email",
              "instagram", "snapchat", "whatsapp", "socials", "emails"),
    "open": ("open", "vulnerable", "vulnerability", "confide", "express", "share", "tell", "hide",
             "hiding", "guarded", "mask"),
    "feeling": ("feeling", "emotion", "emotional", "emotionally", "affection", "bother", "bothering"),
    "wall": ("wall", "walls", "isolate", "isolating"),
    "estrange": ("estrange", "estranged", "estrangement", "distance", "distant"),
    "boundary": ("boundary", "boundaries", "boundry", "boundries", "limit"),
    "control": ("control", "controlling", "micromanage", "micromanag", "perfectionism", "perfectionist",
                "perfect", "delegate", "delegating", "redo"),
    "people": ("people", "person", "anyone", "everyone", "someone", "anybody", "everybody", "somebody",
               "others", "folk", "human", "guy", "guys"),
    "newpeople": ("newpeople", "stranger", "strangers", "newcomer", "acquaintance"),
    "anxious": ("anxious", "anxiety", "anxiou", "nervous", "overthink", "overthinking", "worry", "worried",
                "worrying"),
    "depress": ("depress", "depression", "depressed", "hopeless", "sad", "empty", "numb", "worthless"),
    "lonely": ("lonely", "loneliness", "alone", "isolated", "isolation", "single"),
    "panic": ("panic", "spiral", "spiraling", "spiralling", "freak", "overwhelm", "overwhelmed",
              "meltdown"),
    "calm": ("calm", "relax", "soothe", "settle", "chill", "breathe", "breathing", "grounding", "cope",
             "coping"),
    "practice": ("practice", "practise", "technique", "tip", "strategy", "exercise", "tool", "skill"),
    "start": ("start", "begin", "beginning", "first"),
    "sign": ("sign", "symptom", "trait", "indicator", "checklist"),
    "cause": ("cause", "reason", "root", "origin"),
    "define": ("define", "definition", "meaning", "mean", "means", "explain", "explained"),
    "difference": ("difference", "different", "differ", "distinguish", "versus", "vs"),
    "trigger": ("trigger", "triggered", "triggering"),
    "pattern": ("pattern", "patterns", "habit", "habits"),
    "journal": ("journal", "journaling", "journalling", "diary", "write", "writing", "notebook"),
    "therapy": ("therapy", "therapist", "therapi", "counsel", "counsell", "counselor", "counsellor",
                "counseling", "counselling", "shrink", "psychologist", "psychotherapy", "psychotherapist",
                "psychiatrist", "treatment", "psych"),
    "professional": ("professional", "expert", "doctor", "gp"),
    "cbt": ("cbt", "cognitive"),
    "emdr": ("emdr",),
    "trauma": ("trauma", "traumatic", "traumatised", "traumatized", "ptsd", "flashback", "flashbacks"),
    "crisis": ("crisis", "emergency", "urgent", "danger"),
    "suicide": ("suicide", "suicidal"),
    "selfharm": ("selfharm", "cutting"),
    "help": ("help", "support", "assist"),
    "mistrust": ("mistrust", "distrust", "distrustful", "untrusting", "mistrustful"),
    "mistrusted": ("mistrusted",),
    "issue": ("issue", "issu", "problem", "struggle", "difficulty", "difficulti"),
    "affect": ("affect", "harm", "damage", "impact", "mess", "effect", "influence", "consequence"),
    "sabotage": ("sabotage", "wreck", "destroy", "ruin", "ruining"),
    "good": ("good", "great", "fine", "happy", "loving", "nice", "decent", "amazing"),
    "hope": ("hope", "hopeful", "chance"),
    "damaged": ("damaged", "broken", "unlovable", "baggage"),
    "gradual": ("gradual", "gradually", "slowly"),
    "hurt": ("hurt", "pain", "painful"),
}

# Wider concepts a term also suggests, with how strongly: a question about a parent is also about
# family, one about cheating is also about betrayal. Only queries are widened.
BROADER: dict[str, tuple[tuple[str, float], ...]] = {
    "cheat": (("betray", 0.6),),
    "lie": (("betray", 0.3),),
    "parent": (("family", 0.6),),
    "abandon": (("leave", 0.5), ("fear", 0.3)),
    "reject": (("abandon", 0.6),),
    "leave": (("abandon", 0.4),),
    "partner": (("relationship", 0.5),),
    "relationship": (("partner", 0.5),),
    "dating": (("partner", 0.5), ("relationship", 0.5)),
    "snoop": (("jealous", 0.5), ("phone", 0.4)),
    "suspicious": (("jealous", 0.3), ("mistrust", 0.5)),
    "jealous": (("suspicious", 0.5),),
    "mistrusted": (("suspicious", 0.4),),
    "neglect": (("childhood", 0.5),),
    "addiction": (("childhood", 0.3),),
    "estrange": (("distance", 0.6), ("wall", 0.3)),
    "heal": (("permanent", 0.3),),
    "permanent": (("heal", 0.5),),
    "naive": (("exploit", 0.5),),
    "exploit": (("naive", 0.5),),
    "disappoint": (("reliable", 0.5),),
    "panic": (("calm", 0.4), ("anxious", 0.4)),
    "anxious": (("mentalhealth", 0.4),),
    "depress": (("mentalhealth", 0.5),),
    "lonely": (("mentalhealth", 0.4),),
    "professional": (("therapy", 0.6),),
    "trauma": (("therapy", 0.3),),
    "money": (("exploit", 0.4),),
    "pushaway": (("sabotage", 0.4), ("wall", 0.4)),
    "sabotage": (("pushaway", 0.4),),
    "careful": (("healthy", 0.4),),
    "practice": (("calm", 0.3), ("gradual", 0.3)),
    "setback": (("heal", 0.3),),
}

SYNONYMS: dict[str, str] = {word: canon for canon, words in _CONCEPTS.items() for word in words}

# Words that carry no meaning for matching.
STOPWORDS = frozenset(
    """
    a an and are as at be been being but by could did do does doing for from had has have having he her
    hers him his i if in into is it its itself just me my myself of on or our ours out over she so
    some such than that the their them then there these they this those to too very was we were what
    where which who whom will with would you your yours yourself am any all also about again really
    actually even ever still get got gets getting go going thing things like kind sort way lot
    lots much many make makes made want wants wanted know knew think say said shall might may must one
    ones other here just yes no not please thanks hi hello hey gonna back because though whats whether
    till normal maybe someone's anything something everything nothing whenever wherever whatever
    however anyway anyways yeah yea literally basically honestly seriously probably definitely
    although while since tell me us ok okay oh well guess quite rather
    """.split()  # noqa: SIM905 (the list reads better as text)
) - {"okay", "tell"}

# Words that stay even though they look like filler.
KEEP = frozenset({"now"})

# Words that say something, but too little to decide a match on their own: they count,
# with at most this weight, however rare they are in the FAQ.
_WEAK_WORDS = frozenset({
    "always", "never", "good", "bad", "better", "worse", "new", "old", "today", "life", "people",
    "feel", "feeling", "need", "help", "happen", "start", "again", "every", "everi", "trust", "issue",
    "person", "right", "wrong", "hard", "easy", "eas", "time", "day", "why", "how", "when", "should",
    "can", "okay", "healthy", "affect", "now", "work", "keep", "possible", "constant", "all", "handle",
    "deal", "manage", "stop", "take", "let", "give", "find", "see", "look", "come", "try", "put", "seem",
    "become", "use", "ask", "talk", "show", "live", "able", "whole", "real", "true",
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
        ("ingly", "", 4), ("edly", "", 4), ("ability", "", 3), ("ibility", "", 3), ("able", "", 3),
        ("ible", "", 3), ("fully", "", 4), ("ful", "", 4), ("ies", "y", 3), ("ied", "y", 3),
        ("ing", "", 3), ("ed", "", 3), ("ly", "", 4), ("es", "", 4), ("s", "", 3),
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


# A stem belongs to the concept of the shortest word that has it: "reasons" is a reason (cause),
# though "reasonable" (healthy) has the same stem.
_SYNONYM_STEMS: dict[str, str] = {}
for _word in sorted(SYNONYMS, key=lambda w: (len(w), w)):
    _SYNONYM_STEMS.setdefault(stem(_word), SYNONYMS[_word])


# The one-word concepts that phrases and cues produce ("lovedone", "giveup") stand for themselves,
# unstemmed, unless they are already a concept's word.
for _expansion in (*PHRASES.values(), *(replacement for _, replacement in CUES)):
    for _token in _expansion.split():
        if _token.isalpha() and _token not in STOPWORDS and _token not in SYNONYMS \
                and stem(_token) not in _SYNONYM_STEMS:
            SYNONYMS[_token] = _token


@lru_cache(maxsize=65536)
def canonical(word: str) -> str:
    """Return the term a word is indexed under: its concept, else its stem (or the stem's concept)."""
    if word in SYNONYMS:
        return SYNONYMS[word]
    stemmed = stem(word)
    return _SYNONYM_STEMS.get(stemmed, stemmed)


# Phrases by their first word, longest first: replacing them is a walk over the words.
_PHRASES_BY_FIRST: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _phrase, _replacement in sorted(PHRASES.items(), key=lambda item: -len(item[0].split())):
    _words = tuple(_phrase.split())
    _PHRASES_BY_FIRST.setdefault(_words[0], []).append((_words, _replacement))


def _fold_phrases(words: list[str]) -> list[str]:
    """Replace known phrases (leftmost, longest first) with their concept words."""
    folded: list[str] = []
    i = 0
    while i < len(words):
        for phrase, replacement in _PHRASES_BY_FIRST.get(words[i], ()):
            if tuple(words[i : i + len(phrase)]) == phrase:
                folded.extend(replacement.split())
                i += len(phrase)
                break
        else:
            folded.append(words[i])
            i += 1
    return folded


@lru_cache(maxsize=4096)
def expand(text: str) -> str:
    """Lower-case text and expand contractions, slang, cues and known phrases (still words, not terms)."""
    lowered = text.lower().translate(_APOSTROPHES)
    if "'" in lowered or "cannot" in lowered:
        for pattern, replacement in _CONTRACTIONS:
            lowered = pattern.sub(replacement, lowered)
    words = _WORD.findall(lowered.replace("'", ""))
    spaced = " ".join(" ".join(SLANG.get(w, w) for w in words).split())
    for pattern, replacement, needs in _CUE_CHECKS:
        if any(word in spaced for word in needs):
            spaced = pattern.sub(replacement, spaced)
    return " ".join(_fold_phrases(spaced.split()))


def words_of(text: str) -> list[str]:
    """Return the meaningful words of a text (expanded, stopwords removed), before stemming."""
    return [w for w in expand(text).split() if w not in STOPWORDS or w in KEEP]


def terms_of(text: str, *, unique: bool = True) -> list[str]:
    """Return the canonical terms of a text, in order (without repeats unless `unique` is False)."""
    terms = [canonical(word) for word in words_of(text)]
    terms = [t for t in terms if t not in STOPWORDS or t in KEEP]
    return list(dict.fromkeys(terms)) if unique else terms


# The weak words as the index sees them ("time" is indexed as "tim").
WEAK_TERMS = _WEAK_WORDS | frozenset(canonical(word) for word in _WEAK_WORDS)
