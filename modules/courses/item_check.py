"""The item-writing check of `content check` (docs/content-format.md, "Item-writing check"):
warnings, by `path:line`, about questions a test-wise learner answers without knowing the
matter, and about self-assessment statements that ask two things at once.

Per question: a key longer than every distractor by half again (a strong cue), "all/none of the
above" options, a negative question not emphasised, a key that repeats four or more words of
the stem where no distractor does, a Likert statement joining several behaviours.

Per bank (the graded questions of one quiz file with single or scenario questions of four or
more options; fixed thresholds):
- the key is strictly the longest option in at most 35 % of them;
- without shuffled options, each key position holds 15–35 % of the keys;
- the score of "always pick the longest option" is at most the random score + 0.05;
- no word is in half the keys or more while in less than half as many distractors (the same
  verbs in most keys: "melapor", "mengusulkan"…)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.i18n import N_, format_number, tr
from modules.courses.schemas import CourseContent, Question, QuizContent

LONGEST_KEY_SHARE = 0.35
POSITION_SHARE = (0.15, 0.35)
LONGEST_OVER_RANDOM = 0.05
KEY_WORD_SHARE = 0.5
CUE_RATIO = 1.5  # a key this much longer than the longest distractor is a cue by itself
TAG = re.compile(r"<[^>]+>")
WORD = re.compile(r"[a-zA-Z\u00c0-\u024f]+")
EMPHASIS = re.compile(r"<(strong|em|b)>.*?</\1>", re.IGNORECASE | re.DOTALL)
NEGATIVE = re.compile(r"\b(tidak|bukan|kecuali|not|except)\b", re.IGNORECASE)
ALL_NONE = re.compile(
    r"\b(semua (jawaban|pilihan|pernyataan)?\s*(di atas )?benar|semua (jawaban )?di atas|"
    r"tidak ada (jawaban |pilihan )?yang benar|all of the above|none of the above)\b",
    re.IGNORECASE,
)
JOINERS = re.compile(r"\b(dan|serta|atau|maupun|and|or)\b", re.IGNORECASE)
# an Indonesian active verb (me-, ber-) names a behaviour; these words only look like one
VERB = re.compile(r"^(me[mnr]?|meng|meny|ber)[a-z]{3,}$")
NOT_VERBS = frozenset({"meskipun", "melalui", "mengenai", "menurut", "menjadi", "memang",
                       "menuju", "berapa", "bersama", "berdasarkan", "beserta", "berkaitan",
                       "berbagai", "berikut", "berupa", "merupakan"})  # fmt: skip
# words that carry no meaning of their own: never "the wording that gives the key away"
FUNCTION_WORDS = frozenset(
    """
yang dan atau dengan untuk dari dalam pada kepada oleh tidak bukan agar supaya karena bahwa
sesuai akan telah sudah lebih tetap lalu secara setelah sebelum sehingga juga masih hanya
antara tentang seperti adalah yaitu para bila jika apabila walaupun meskipun namun tetapi
serta maupun sebagai setiap semua anda saya mereka kita kami itu ini tersebut dapat bisa
harus perlu ketika saat sambil tanpa hingga sampai demi terhadap melalui the and with that
""".split()  # noqa: SIM905 - a block of words reads better than a list
)


@dataclass(frozen=True)
class Warning:
    """One warning, printed as `path:line: warning: message`."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {tr('warning')}: {self.message}"


def text(fragment: str) -> str:
    """Rendered HTML as the plain words a learner reads."""
    return " ".join(html.unescape(TAG.sub(" ", fragment)).split())


def _words(value: str) -> list[str]:
    return [w.lower() for w in WORD.findall(value)]


@dataclass
class _Item:
    """A single or scenario question as the check sees it: option texts, each option's score
    (1 for the key of a single question; weight / best weight for a scenario) and the key."""

    question: Question
    options: list[str]
    scores: list[float]

    @property
    def key(self) -> int:
        return max(range(len(self.scores)), key=lambda i: self.scores[i])

    @property
    def longest(self) -> int:
        return max(range(len(self.options)), key=lambda i: len(self.options[i]))

    @property
    def key_strictly_longest(self) -> bool:
        key_length = len(self.options[self.key])
        return all(len(o) < key_length for i, o in enumerate(self.options) if i != self.key)


def _item(question: Question) -> _Item | None:
    if question.type == "single":
        scores = [1.0 if o.correct else 0.0 for o in question.options]
    elif question.type == "scenario":
        weights = [o.weight or 0 for o in question.options]
        best = max(weights, default=0) or 1
        scores = [w / best for w in weights]
    else:
        return None
    if len(question.options) < 2 or max(scores, default=0) <= 0:
        return None
    return _Item(question, [text(o.html) for o in question.options], scores)


def check_course(course: CourseContent, folder_name: str) -> list[Warning]:
    """Every warning for the course's quizzes; paths as `content check` prints them."""
    found: list[Warning] = []
    for module in course.modules:
        for quiz in module.quizzes:
            found.extend(check_quiz(quiz, f"{folder_name}/{quiz.source}"))
    found.extend(check_course_wide(course, f"{folder_name}/course.md"))
    return found


def check_quiz(quiz: QuizContent, path: str) -> list[Warning]:
    found = [w for q in quiz.questions for w in _question(q, path)]
    items = [i for i in map(_item, quiz.questions) if i is not None]
    found.extend(_bank(quiz, items, path))
    return found


def _question(question: Question, path: str) -> Iterable[Warning]:
    stem = text(question.stem_html)
    here = question.line
    if question.type == "likert":
        verbs = _verbs(stem)
        if len(verbs) >= 3 and JOINERS.search(stem):
            yield Warning(path, here, tr(
                "the statement joins several behaviours ({verbs}): ask one behaviour per "
                "statement",
                verbs=", ".join(verbs),
            ))  # fmt: skip
        return
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", stem) if s.strip()]
    asked = next((s for s in reversed(sentences) if s.endswith("?")), stem)
    emphasised = " ".join(text(m.group(0)) for m in EMPHASIS.finditer(question.stem_html))
    plain = [
        word
        for word in NEGATIVE.findall(asked)
        if not word.isupper() and word.lower() not in emphasised.lower().split()
    ]
    if plain:
        yield Warning(path, here, tr(
            "a negative question ('{word}') not emphasised: write it in bold or capitals, "
            "or ask it positively",
            word=plain[0],
        ))  # fmt: skip
    for option in question.options:
        if ALL_NONE.search(text(option.html)):
            yield Warning(path, here, tr(
                "an 'all/none of the above' option: it rewards test-wiseness; write a real "
                "alternative"
            ))  # fmt: skip
            break
    item = _item(question)
    if item is None or len(item.options) < 3:
        return
    key = item.options[item.key]
    others = [len(o) for i, o in enumerate(item.options) if i != item.key]
    if others and len(key) > CUE_RATIO * max(others):
        yield Warning(path, here, tr(
            "the key is much longer than every other option ({key} against at most {other} "
            "characters): a cue by itself",
            key=len(key),
            other=max(others),
        ))  # fmt: skip
    stem_grams = _grams(_words(stem), 4)
    echoes = [bool(_grams(_words(o), 4) & stem_grams) for o in item.options]
    if echoes[item.key] and sum(echoes) == 1:
        yield Warning(path, here, tr(
            "only the key repeats words of the question: a cue pointing to it"
        ))  # fmt: skip


def _verbs(statement: str) -> list[str]:
    """The distinct active verbs of a statement, in order."""
    found = [w for w in _words(statement) if VERB.match(w) and w not in NOT_VERBS]
    return list(dict.fromkeys(found))


def stem(word: str) -> str:
    """A rough Indonesian stem: `melaporkan`, `laporan`, `dilaporkan` all give `lapor`."""
    for prefix in ("memper", "meng", "meny", "mem", "men", "ber", "me", "di", "ter", "pe"):
        if word.startswith(prefix) and len(word) - len(prefix) >= 4:
            word = word[len(prefix) :]
            break
    for suffix in ("kan", "nya", "an", "i"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _grams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def bank_figures(items: list[_Item]) -> dict[str, float]:
    """The bank-level figures the thresholds apply to (also for tests and the docs)."""
    wide = [i for i in items if len(i.options) >= 4]
    longest_share = sum(i.key_strictly_longest for i in wide) / len(wide) if wide else 0.0
    longest_score = sum(i.scores[i.longest] for i in items) / len(items) if items else 0.0
    random_score = sum(sum(i.scores) / len(i.scores) for i in items) / len(items) if items else 0
    return {
        "items": float(len(items)),
        "longest_key_share": longest_share,
        "always_longest": longest_score,
        "random": float(random_score),
    }


def _bank(quiz: QuizContent, items: list[_Item], path: str) -> Iterable[Warning]:
    if len(items) < 4:  # too few for a pattern to mean anything
        return
    line = min(i.question.line for i in items)
    figures = bank_figures(items)
    if figures["longest_key_share"] > LONGEST_KEY_SHARE:
        yield Warning(path, line, tr(
            "the key is the longest option in {share}% of the questions (at most 35%): "
            "make some distractors the longest",
            share=round(100 * figures["longest_key_share"]),
        ))  # fmt: skip
    if figures["always_longest"] > figures["random"] + LONGEST_OVER_RANDOM:
        yield Warning(path, line, tr(
            "always picking the longest option scores {longest} against {random} at random "
            "(at most 0.05 more)",
            longest=format_number(round(figures["always_longest"], 2)),
            random=format_number(round(figures["random"], 2)),
        ))  # fmt: skip
    wide = [i for i in items if len(i.options) >= 4]
    if not quiz.shuffle_options and len(wide) >= 4:
        width = max(len(i.options) for i in wide)
        low, high = POSITION_SHARE
        for position in range(min(width, 4)):
            share = sum(i.key == position for i in wide) / len(wide)
            if not low <= share <= high:
                yield Warning(path, line, tr(
                    "option {position} is the key in {share}% of the questions (15% to 35% "
                    "each): move some keys",
                    position=position + 1,
                    share=round(100 * share),
                ))  # fmt: skip
    if len(items) >= 20:  # fewer: three words cover half the keys by chance
        yield from _key_words(items, path, line)


def _key_words(items: list[_Item], path: str, line: int) -> Iterable[Warning]:
    """The wording that gives keys away: up to three words (stems: `melaporkan` is
    `lapor`), each far more common in keys than in other options, that together are in half
    the keys or more while in less than half as many other options."""

    def stems(option: str) -> set[str]:
        return {stem(w) for w in _words(option) if w not in FUNCTION_WORDS and len(w) >= 4}

    keys = [stems(i.options[i.key]) for i in items]
    distractors = [stems(o) for i in items for n, o in enumerate(i.options) if n != i.key]
    if not distractors:
        return

    def share(group: set[str], options: list[set[str]]) -> float:
        return sum(bool(group & o) for o in options) / len(options)

    lifted = sorted(
        (
            (share({w}, keys) - share({w}, distractors), w)
            for w in set().union(*keys)
            if share({w}, keys) >= 0.1 and share({w}, keys) >= 3 * share({w}, distractors)
        ),
        reverse=True,
    )
    group = {w for _lift, w in lifted[:3]}
    in_keys, in_distractors = share(group, keys), share(group, distractors) if group else 0
    if group and in_keys >= KEY_WORD_SHARE and in_distractors < in_keys / 2:
        yield Warning(path, line, tr(
            "the words {words} are in {keys}% of the keys and {distractors}% of the other "
            "options: the wording gives the key away",
            words=", ".join(f"'{w}'" for w in sorted(group)),
            keys=round(100 * in_keys),
            distractors=round(100 * in_distractors),
        ))  # fmt: skip


def check_course_wide(course: CourseContent, path: str) -> list[Warning]:
    """The key-wording pattern across every quiz of the course (a pattern no single quiz
    shows can still teach learners to pick "the one that reports")."""
    items = [
        item
        for module in course.modules
        for quiz in module.quizzes
        for item in map(_item, quiz.questions)
        if item is not None
    ]
    found: list[Warning] = []
    for kind in ("single", "scenario"):  # a type's keys are written alike, or not
        of_kind = [i for i in items if i.question.type == kind]
        if len(of_kind) >= 20:
            found.extend(_key_words(of_kind, path, 1))
    return found


MESSAGES = (N_("warning"),)  # the label each warning line carries
