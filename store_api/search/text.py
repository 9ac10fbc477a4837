"""The analyser: how product text and queries become terms (pure functions, no database).

Both sides go through the same steps, so what a seller types meets what the catalogue says:

* case and accents do not matter, nor ligatures (``œ``) or curly apostrophes;
* French elisions are dropped ("l'eau", "d'eau" -> "eau"), other apostrophes join
  ("De'Longhi" -> "de", "longhi" and the compound "delonghi");
* hyphens, dots and slashes between two words make a compound as well as the two words
  ("lave-linge" -> "lave", "linge", "lavelinge"; "micro-ondes" -> ..., "microonde");
* plural and singular meet: a final ``s`` or ``x`` is dropped from words of 4+ letters
  ("réfrigérateurs", "pouces", "eaux");
* a number next to a word is also indexed glued to it ("55 pouces" -> "55pouce",
  "WWD 120" -> "wwd120"), which finds sizes and model numbers typed with or without spaces;
* stop words ("de", "à", "pour"...) are not terms of their own, but still glue
  ("de longhi" -> "delonghi").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# fmt: off
STOP_WORDS = frozenset((
    "le", "la", "les", "l", "de", "des", "du", "d", "un", "une", "et", "ou", "a", "au", "aux",
    "en", "pour", "avec", "sur", "par", "qu", "que", "se", "ce",
))
ELISIONS = frozenset(("l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu"))
# fmt: on
_WORD = re.compile(r"[0-9a-z]+")
# Written between two parts of one word: "lave-linge", "de'longhi", "12.60", "eq.6", "1/2".
_JOINERS = frozenset("-'./,+")
# Ligatures, and the apostrophes and dashes of phones and word processors, as plain ASCII.
_FOLD = str.maketrans(
    {
        "\u0153": "oe",
        "\u00e6": "ae",
        "\u00df": "ss",
        "\u2019": "'",
        "\u2018": "'",
        "`": "'",
        "\u00b4": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2013": "-",
        "\u2014": "-",
    }
)


def fold(text: str) -> str:
    """Lower case, accents and ligatures removed, apostrophes and dashes made plain.

    What is left outside ASCII once accents are split off (emoji, other scripts) cannot be
    a term (terms are ``[0-9a-z]+``), so it is dropped here.
    """
    lowered = text.casefold()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered.translate(_FOLD))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def stem(word: str) -> str:
    """Singular of a French (or English) word, the light way: drop a final s or x."""
    if len(word) > 3 and word[-1] in "sx" and word[-2] != "s" and word.isalpha():
        return word[:-1]
    return word


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a text: ``raw`` as folded, ``joined``: glued to the previous word."""

    raw: str
    joined: bool
    stop: bool

    @property
    def term(self) -> str:
        return stem(self.raw)


@functools.lru_cache(maxsize=8192)
def words(text: str) -> tuple[Word, ...]:
    """The words of ``text`` in order, elisions dropped (cached: brands, categories and
    descriptions repeat across a catalogue)."""
    return tuple(_words(text))


def _words(text: str) -> list[Word]:
    folded = fold(text)
    found: list[Word] = []
    end = 0
    for match in _WORD.finditer(folded):
        gap = folded[end : match.start()]
        raw = match.group()
        end = match.end()
        joined = bool(found) and len(gap) == 1 and gap in _JOINERS
        if gap == "'" and found and found[-1].raw in ELISIONS:
            found.pop()  # "l'eau", "d'eau", "main-d'oeuvre": the article is not a word
            joined = False
        found.append(Word(raw, joined, raw in STOP_WORDS))
    return found


def has_digit(term: str) -> bool:
    return any(ch.isdigit() for ch in term)


def is_number(term: str) -> bool:
    return term.isdigit()


def glue(left: str, right: str) -> str:
    """Two words written as one; a glued word made only of letters is stemmed."""
    both = left + right
    return stem(both) if both.isalpha() else both


def compounds(items: Sequence[Word]) -> list[tuple[int, int, str]]:
    """Compound terms as (first index, last index, term).

    * Whole chains of joined words ("lave-linge", "micro-ondes", "haf-qin", "12.60").
    * A number next to a word, or a word next to a number, written apart ("55 pouces",
      "wwd 120"): the way sizes and model numbers are typed with or without spaces.
    """
    out: list[tuple[int, int, str]] = []
    start = 0
    for i in range(1, len(items) + 1):
        if i < len(items) and items[i].joined:
            continue
        if i - start > 1:
            head = "".join(w.raw for w in items[start : i - 1])
            out.append((start, i - 1, glue(head, items[i - 1].raw)))
        start = i
    for i in range(len(items) - 1):
        left, right = items[i], items[i + 1]
        if right.joined:
            continue
        if (is_number(left.raw) and right.raw.isalpha() and not right.stop) or (
            left.raw.isalpha() and not left.stop and is_number(right.raw)
        ):
            out.append((i, i + 1, left.raw + stem(right.raw)))
    return out


def terms(text: str) -> list[str]:
    """Every term ``text`` is findable by (words that are not stop words, and compounds)."""
    items = words(text)
    found = [w.term for w in items if not w.stop]
    found += [term for _first, _last, term in compounds(items)]
    return found
