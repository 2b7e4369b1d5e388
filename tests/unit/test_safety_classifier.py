"""The crisis classifier against a table of phrases: what it must catch and what it must leave alone.

The figures (crisis recall, care recall and false positives on everyday speech) are
printed by `test_the_table_meets_the_targets`, and quoted in the README's safety section.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content import load_content
from bot.services.safety import CrisisLevel, PhraseBook, classify

CONTENT = Path(__file__).resolve().parents[2] / "content"

CRISIS = CrisisLevel.CRISIS
CONCERN = CrisisLevel.CONCERN
NONE = CrisisLevel.NONE

# Words of crisis: the member may be about to harm themselves. All must be caught as crisis.
CRISIS_TEXTS = [
    "I don't want to be here anymore",
    "everyone would be better off without me",
    "I want to kill myself",
    "i keep thinking about ending my life",
    "I'm going to end it all tonight",
    "I wish I was dead",
    "honestly i just want to die",
    "I've been cutting myself again",
    "I took all my pills an hour ago",
    "I've been saving up pills for weeks",
    "this is my goodbye. thank you all for everything",
    "There's no reason for me to live anymore",
    "I'm suicidal",
    "feeling really suicidal tonight",
    "kms",
    "i want to unalive myself",
    "I wannaaa diiiie",
    "I can't go on anymore",
    "life isn't worth living",
    "I wish I could go to sleep and never wake up",
    "nobody would even notice if I was gone",
    "My family would be better off if I was gone",
    "I'm thinking about suicide again",
    "I've got the rope ready",
    "I'm going to jump off the bridge after work",
    "I self harm when it gets bad",
    "I hurt myself again last night",
    "i dont want to live anymore",
    "I'm done. I want it all to end",
    "I just want to disappear forever",
    "I'm not sure I want to be alive anymore",
    "I have a plan to end my life",
    "I wrote a suicide note",
    "i want to overdose",
    "I don’t see any reason to keep living",
    "I should just die",
    "I'm tired of living and I want it to stop",
    "goodbye everyone, I won't be around anymore",
    "i can't take this anymore, i want to die",
    "im so sucidal",
    "I'm going to kil myslef",
    "everyone would be beter off without me",
    "Thinking of taking my own life",
    "I’m going to hang myself",
    "I DON'T WANT TO LIVE LIKE THIS ANYMORE",
    "nobody would care if i died",
    "I want to stop existing",
]

# Words of struggle or danger that deserve gentle, private resources, but not (by default) an alert.
CONCERN_TEXTS = [
    "I feel so alone",
    "what's the point anymore",
    "I hate myself",
    "nobody cares about me",
    "I can't cope with this anymore",
    "I feel completely hopeless",
    "I'm such a burden to everyone",
    "I'm not sure I can do this anymore",
    "My partner hits me when he's angry",
    "I'm scared to go home tonight",
    "I had a panic attack at work",
    "I'm not going to hurt myself, I just feel awful",
    "I don't want to die, but I don't know how to keep going",
    "I relapsed last night",
    "my friend said she wants to kill herself",
    "I'm in a really dark place",
    "I want to end it",
    "I'm not suicidal, just exhausted",
    "I would never kill myself but I think about it",
]

# Everyday speech, much of it with dark idioms. None of it should be flagged.
EVERYDAY_TEXTS = [
    "You're killing it with these drawings!",
    "I'm dying to see you this weekend",
    "I'd die for pizza right now",
    "this traffic is killing me",
    "I could murder a burger",
    "my phone is dying, talk later",
    "I nearly died laughing at that video",
    "that exam killed me",
    "the suspense is killing me",
    "my feet are killing me after that hike",
    "I'd kill for a coffee",
    "over my dead body will I watch that film again",
    "this chocolate cake is to die for",
    "let's kill two birds with one stone",
    "I'm dead tired today",
    "I want to die of embarrassment, I called my teacher mum",
    "I hurt myself at the gym yesterday",
    "I cut myself a big slice of cake",
    "I'm hanging out with friends tonight",
    "lol I'm dead 😂",
    "I'm so done with this homework",
    "break a leg at your audition!",
    "I'm hopeless at maths",
    "this game is killing my battery",
    "I'm going to kill my brother if he eats my leftovers again",
    "I don't want to live in this city forever",
    "I'm ending things with my boyfriend tonight",
    "I want to end this relationship, it isn't healthy",
    "We watched Suicide Squad last night",
    "I burnt myself on the oven tray",
    "that joke absolutely killed",
    "I've been dying my hair purple",
    "I need to kill some time before my appointment",
    "the plant in my kitchen is dead again",
    "my laptop died in the middle of the meeting",
    "honestly the new season is to die for",
    "I'm going to sleep, goodnight everyone",
    "goodbye everyone, see you tomorrow!",
    "I would never hurt anyone",
    "we're a dying breed, us vinyl collectors",
    "she murdered that song at karaoke",
    "my therapist says I'm making progress",
    "I finally trusted my friend with a secret and it went well",
    "I feel hopeful about therapy this week",
    "I want to disappear under a blanket and read all day",
    "I can't wait to see you all on Friday",
    "I'm so tired of this weather",
    "I could kill myself for forgetting her birthday",
    "he was killing himself laughing",
    "my mum would kill me if she found out",
    "That workout nearly killed me",
    "I'm not going to the party, I'd rather stay in",
    "don't worry, I'm fine, just busy with work",
    "I'm starving, I could eat a horse",
]

TABLE = (
    [(text, CRISIS) for text in CRISIS_TEXTS]
    + [(text, CONCERN) for text in CONCERN_TEXTS]
    + [(text, NONE) for text in EVERYDAY_TEXTS]
)


@pytest.fixture(scope="module")
def book() -> PhraseBook:
    return load_content(CONTENT).parts["safety"]


def level_of(book: PhraseBook, text: str) -> CrisisLevel:
    return book.classify(text).level


def test_the_table_is_big_and_balanced() -> None:
    flagged = len(CRISIS_TEXTS) + len(CONCERN_TEXTS)
    assert len(TABLE) >= 80
    assert flagged >= 40 and len(EVERYDAY_TEXTS) >= 40
    assert len({text for text, _ in TABLE}) == len(TABLE)


def test_the_table_meets_the_targets(book: PhraseBook, capsys: pytest.CaptureFixture[str]) -> None:
    crisis_hits = [t for t in CRISIS_TEXTS if level_of(book, t) is CRISIS]
    care_texts = CRISIS_TEXTS + CONCERN_TEXTS
    care_hits = [t for t in care_texts if level_of(book, t) is not NONE]
    false_positives = [t for t in EVERYDAY_TEXTS if level_of(book, t) is not NONE]
    false_alerts = [t for t in EVERYDAY_TEXTS if level_of(book, t) is CRISIS]
    crisis_recall = len(crisis_hits) / len(CRISIS_TEXTS)
    care_recall = len(care_hits) / len(care_texts)
    fp_rate = len(false_positives) / len(EVERYDAY_TEXTS)
    with capsys.disabled():
        print(
            f"\nsafety classifier: {len(TABLE)} phrases; "
            f"crisis recall {len(crisis_hits)}/{len(CRISIS_TEXTS)} = {crisis_recall:.1%}; "
            f"care recall (flagged at all) {len(care_hits)}/{len(care_texts)} = {care_recall:.1%}; "
            f"false positives {len(false_positives)}/{len(EVERYDAY_TEXTS)} = {fp_rate:.1%} "
            f"(of which crisis: {len(false_alerts)})"
        )
    missed = sorted(set(CRISIS_TEXTS) - set(crisis_hits))
    assert crisis_recall >= 0.95, f"missed crisis: {missed}"
    assert fp_rate <= 0.05, f"false positives: {false_positives}"
    assert not false_alerts, f"everyday speech that would alert moderators: {false_alerts}"


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_each_phrase(book: PhraseBook, text: str, expected: CrisisLevel) -> None:
    assert level_of(book, text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I’m fine", NONE),  # curly apostrophe
        ("Im going to kill myself", CRISIS),  # no apostrophe at all
        ("I'M GOING TO KILL MYSELF", CRISIS),
        ("i want to dieeeeee", CRISIS),
        ("I won't hurt myself, I promise", CONCERN),
        ("I’m not going to hurt myself", CONCERN),
        ("I can't stop thinking about killing myself", CRISIS),  # "can't stop" is not a negation
        ("I'm not okay, I want to die", CRISIS),  # negation in another clause
        ("nobody knows I want to die", CRISIS),
        ("", NONE),
        ("   ...   ", NONE),
    ],
)
def test_normalisation_and_negation(book: PhraseBook, text: str, expected: CrisisLevel) -> None:
    assert level_of(book, text) is expected


def test_matched_phrases_are_reported_in_order(book: PhraseBook) -> None:
    result = classify("I feel so alone. I want to kill myself", book.phrases, book.spelling)
    assert result.level is CRISIS
    assert result.matched == ("i feel alone", "want to kill myself")  # "so" is a filler
    assert result.needs_care
    negated = classify("I'm not going to hurt myself", book.phrases, book.spelling)
    assert negated.matched == ("going to hurt myself (negated)",)


# A second round, written after the list was tuned on the table above. Before the list was
# tuned on it too, it measured: crisis recall 9/20 (45%), care recall 13/30, false positives
# 1/30. It is kept as a regression check; the honest estimates are the first-look figures
# recorded in tests/unit/safety_dev*.toml (see test_safety_classifier_devsets.py).
SECOND_CRISIS = [
    "I can't see myself being alive next year",
    "I'm planning how I'll do it, I've picked a date",
    "tonight's the night, I'm ending it",
    "I just want to go to sleep forever",
    "there's nothing left for me here, I'm going to end my life",
    "I'm going to take every pill in the cabinet",
    "I want to stop living",
    "I'd rather be dead than keep feeling this way",
    "if I'm not here tomorrow, it's not your fault",
    "I've started hurting myself again",
    "the world would be better without me in it",
    "I keep thinking about killing myself",
    "nobody will miss me when I'm gone",
    "I'm writing letters to my family to say goodbye",
    "I feel like ending it all",
    "i dont wanna be alive anymore",
    "I want to die so badly",
    "I bought pills to end it",
    "Im thinking of suicide",
    "I'm standing on the edge of the roof",
]
SECOND_CONCERN = [
    "I feel worthless",
    "everything is falling apart and I can't handle it",
    "I'm so lonely it hurts",
    "I'm scared of my husband",
    "my sister keeps talking about wanting to die",
    "I hate who I am",
    "I've been having really dark thoughts",
    "I can't breathe, I'm having a panic attack",
    "I feel empty all the time",
    "no one would notice if I stopped showing up",
]
SECOND_EVERYDAY = [
    "this homework is going to be the death of me",
    "I'm literally dying, this meme is too good",
    "my battery is about to die",
    "I'd kill to have your patience",
    "that horror film scared me to death",
    "we slayed that presentation",
    "I'm crushing it at work this week",
    "the dog nearly gave me a heart attack",
    "dead serious, this is the best soup ever",
    "I cut my finger chopping onions",
    "I overdid it at the gym and now everything hurts",
    "I'm drowning in emails today",
    "I want to hide under my duvet all weekend",
    "time to end this meeting, thanks all",
    "I'm so tired I could sleep for a week",
    "my ex is dead to me",
    "I nearly killed my plants by overwatering them",
    "I'm going to scream if the bus is late again",
    "I'm over the moon with my new job",
    "goodbye for now, back next week",
    "that's a killer outfit",
    "I'm sick of this rain",
    "this song slaps",
    "I'd rather die than sing karaoke",
    "I'm never going back to that restaurant",
    "I feel like a zombie before coffee",
    "my code is a total disaster",
    "I'm done for today, see you tomorrow",
    "the heat is unbearable",
    "I trust my partner more every day",
]


# A third round, written after tuning on the first two. Before the list was tuned on it, it
# measured: crisis recall 10/20 (50%), care recall 17/30 (57%), false positives 0/30.
THIRD_CRISIS = [
    "I don't think I'll be around much longer",
    "I've decided tonight is when I end my life",
    "I keep looking up ways to die",
    "there's no point in me living anymore",
    "I want to fall asleep and not wake up",
    "I've been thinking that everyone would be happier if I was dead",
    "I'm about to swallow the whole bottle",
    "I can't keep living like this, I want to end it all",
    "I'm going to drive my car into a wall",
    "I feel like killing myself",
    "im gonna end my life tonight",
    "I have been self-harming again",
    "I'm so close to ending everything",
    "It would be easier if I just didn't exist anymore",
    "I'm researching how many pills it takes",
    "I just wrote my goodbye letter",
    "nobody would care if I disappeared forever",
    "I want to be gone for good",
    "I'm sitting here with a knife, I want to cut",
    "I have no will to live",
]
THIRD_CONCERN = [
    "I'm struggling to see the point of anything",
    "I feel like a burden to my friends",
    "my dad hit me again last night",
    "I feel so numb and empty",
    "I'm exhausted of pretending I'm okay",
    "nobody would even notice if I stopped talking",
    "I can't handle this anymore",
    "my best friend told me he wants to kill himself",
    "I feel hopeless about everything",
    "I'm at breaking point",
]
THIRD_EVERYDAY = [
    "I'm dying for a cup of tea",
    "this cold is killing me",
    "I nearly died when I saw the price",
    "my mum is going to murder me, I broke her vase",
    "I'd rather die than run a marathon",
    "we're killing time at the airport",
    "she absolutely slayed that speech",
    "I'm so done with this week, roll on Friday",
    "the battery died halfway through the film",
    "he's dead set on moving to Spain",
    "that meme sent me to another dimension",
    "I'm going to bed, goodnight all",
    "I want to disappear into a good book",
    "this spreadsheet will be the death of me",
    "I cut myself some slack today and rested",
    "my knee hurts after football",
    "I'm literally starving",
    "I'm not going to lie, that was fun",
    "I don't want to go to work tomorrow",
    "the cake I made was to die for",
    "I am dead on my feet after that shift",
    "I killed it at my job interview",
    "my plant is hanging on by a thread",
    "I'd kill for a day off",
    "I'm fine, just tired after the gym",
    "the wifi keeps dying on me",
    "I'm over it, moving on",
    "this song makes me want to dance",
    "I'm shattered after the hike",
    "I can't live without my morning coffee",
]


@pytest.mark.parametrize(
    ("name", "crisis", "concern", "everyday", "least_crisis_recall"),
    [
        pytest.param("second", SECOND_CRISIS, SECOND_CONCERN, SECOND_EVERYDAY, 0.85, id="second"),
        pytest.param("third", THIRD_CRISIS, THIRD_CONCERN, THIRD_EVERYDAY, 0.95, id="third"),
    ],
)
def test_a_later_round_meets_its_targets(
    book: PhraseBook,
    capsys: pytest.CaptureFixture[str],
    name: str,
    crisis: list[str],
    concern: list[str],
    everyday: list[str],
    least_crisis_recall: float,
) -> None:
    crisis_hits = [t for t in crisis if level_of(book, t) is CRISIS]
    care = crisis + concern
    care_hits = [t for t in care if level_of(book, t) is not NONE]
    false_positives = [t for t in everyday if level_of(book, t) is not NONE]
    with capsys.disabled():
        print(
            f"\nsafety classifier, {name} round: crisis recall {len(crisis_hits)}/{len(crisis)} "
            f"= {len(crisis_hits) / len(crisis):.1%}; care recall {len(care_hits)}/{len(care)} "
            f"= {len(care_hits) / len(care):.1%}; false positives {len(false_positives)}/"
            f"{len(everyday)} = {len(false_positives) / len(everyday):.1%}"
        )
        print("  missed crisis:", sorted(set(crisis) - set(crisis_hits)))
        print("  missed care:", sorted(set(care) - set(care_hits)))
        print("  false positives:", false_positives)
    assert len(crisis_hits) / len(crisis) >= least_crisis_recall
    assert len(false_positives) / len(everyday) <= 0.05
