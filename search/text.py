"""Text handling shared by the adapters: query parsing, term finding, highlighting.

A query becomes a list of `Concept`s that are ANDed; each concept has one or more
alternative `Term`s (synonyms, Chinese and English) that are ORed. Chinese runs are
segmented greedily with the synonym dictionary (the leftovers are kept as literal
substrings); English words are grouped into known multi-word phrases where possible.

Chinese terms match as substrings; English terms match word by word after a light
suffix stripping (`light_stem`), so "welding" finds "welded" and "weld".
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from search import synonyms

CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_CJK_RE = re.compile(f"[{CJK_CLASS}]")
_TOKEN_RE = re.compile(f"(?P<cjk>[{CJK_CLASS}]+)|(?P<word>[0-9a-z]+)")
WORD_RE = re.compile(r"[0-9a-z]+")
_WORD_RE = WORD_RE
_MAX_PHRASE_WORDS = 6

MARK_PRE = "\ue000"
"""Private-use sentinel placed before a match (rendered as ``<mark>``)."""
MARK_POST = "\ue001"
"""Private-use sentinel placed after a match (rendered as ``</mark>``)."""
CROP_MARKER = "…"
CROP_CONTEXT = 40
"""Characters kept on each side of the first match when a long field is cropped."""


def has_cjk(text: str) -> bool:
    return _CJK_RE.search(text) is not None


def fold(text: str) -> str:
    """NFKC + case folding (the form every engine-side text and term is compared in)."""
    return unicodedata.normalize("NFKC", text).casefold()


def fold_with_map(text: str) -> tuple[str, list[int] | None]:
    """`fold(text)` plus, for each folded character, the index of its source character
    (None when folding kept every character in place, the common case)."""
    folded = text.casefold()
    if len(folded) == len(text) and unicodedata.is_normalized("NFKC", text):
        return folded, None
    # Character by character (memoized: texts repeat the same few hundred characters).
    out = [_fold_char(ch) for ch in text]
    if all(len(f) == 1 for f in out):
        return "".join(out), None  # e.g. full-width punctuation: every character in place
    index: list[int] = []
    for i, f in enumerate(out):
        index.extend([i] * len(f))
    return "".join(out), index


@lru_cache(maxsize=65_536)
def _fold_char(ch: str) -> str:
    return fold(ch)


def latin_only(folded: str) -> str:
    """The text with Chinese characters blanked out (for word-based English indexing)."""
    return _CJK_RE.sub(" ", folded)


def cjk_grams(folded: str) -> str:
    """Space-separated unigrams and bigrams of every Chinese run (1-2 character search)."""
    grams: list[str] = []
    for run in re.findall(f"[{CJK_CLASS}]+", folded):
        grams.extend(run)
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return " ".join(grams)


@lru_cache(maxsize=65_536)  # pure, and called for every word of every highlighted text
def light_stem(word: str) -> str:
    """A small English suffix stripper: plurals, -ing, -ed, -ation."""
    for suffix, replacement in (
        ("ational", "ate"),
        ("ations", "ate"),
        ("ation", "ate"),
        ("ings", ""),
        ("ing", ""),
        ("ies", "y"),
        ("ied", "y"),
        ("ed", ""),
        ("es", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + replacement
    if word.endswith("s") and len(word) > 3 and word[-2] not in "sui":
        return word[:-1]
    return word


@dataclass(frozen=True)
class Term:
    """One searchable form: Chinese (matched as a substring) or English words."""

    text: str
    cjk: bool
    words: tuple[str, ...] = ()

    @classmethod
    def of(cls, raw: str) -> Term:
        norm = synonyms.normalize(raw)
        if has_cjk(norm):
            return cls(text=norm, cjk=True)
        words = tuple(_WORD_RE.findall(norm))
        return cls(text=" ".join(words), cjk=False, words=words)

    @property
    def empty(self) -> bool:
        return not self.text


@dataclass(frozen=True)
class Concept:
    """One part of a query: any of its alternatives matches."""

    label: str
    alternatives: tuple[Term, ...]
    known: bool = False
    """True when it comes from the synonym dictionary."""

    @classmethod
    def of(cls, raw: str) -> Concept:
        norm = synonyms.normalize(raw)
        if synonyms.is_known(norm):
            others = sorted(synonyms.equivalents(norm) - {norm})
            terms = tuple(t for t in (Term.of(x) for x in (norm, *others)) if not t.empty)
            return cls(label=raw.strip(), alternatives=terms, known=True)
        return cls(label=raw.strip(), alternatives=(Term.of(norm),))

    @property
    def key(self) -> frozenset[str]:
        return frozenset(t.text for t in self.alternatives)


def _segment_cjk(run: str, known_only: bool) -> list[Concept]:
    pieces: list[tuple[str, bool]] = []  # (text, is a dictionary term), in query order
    buffer = ""
    longest = synonyms.max_term_length()
    i = 0
    while i < len(run):
        found = ""
        for length in range(min(longest, len(run) - i), 1, -1):
            candidate = run[i : i + length]
            if synonyms.is_known(candidate):
                found = candidate
                break
        if found:
            if buffer:
                pieces.append((buffer, False))
                buffer = ""
            pieces.append((found, True))
            i += len(found)
        else:
            buffer += run[i]
            i += 1
    if buffer:
        pieces.append((buffer, False))
    any_known = any(known for _, known in pieces)
    # A lone character left between dictionary words is noise ("的", "与"): it is kept only
    # when the run has no dictionary word.
    return [
        Concept.of(text)
        for text, known in pieces
        if known or (not known_only and (len(text) > 1 or not any_known))
    ]


def parse_query(text: str, *, known_only: bool = False) -> list[Concept]:
    """Split a query (or, with `known_only`, any text) into ANDed concepts.

    With `known_only`, only dictionary terms are kept (used to read a profile's texts).
    """
    folded = fold(text)
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN_RE.finditer(folded)]
    concepts: list[Concept] = []
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "cjk":
            concepts.extend(_segment_cjk(value, known_only))
            i += 1
            continue
        run_end = i
        while run_end < len(tokens) and tokens[run_end][0] == "word":
            run_end += 1
        taken = 0
        for n in range(min(_MAX_PHRASE_WORDS, run_end - i), 0, -1):
            phrase = " ".join(v for _, v in tokens[i : i + n])
            if synonyms.is_known(phrase):
                concepts.append(Concept.of(phrase))
                taken = n
                break
        if not taken:
            if not known_only and value not in synonyms.STOP_WORDS:
                concepts.append(Concept.of(value))
            taken = 1
        i += taken
    unique: dict[frozenset[str], Concept] = {}
    for concept in concepts:
        unique.setdefault(concept.key, concept)
    return list(unique.values())


class PreparedText:
    """A text ready for repeated term look-ups (spans are offsets in the original)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.folded, self._map = fold_with_map(text)
        self._stemmed: list[tuple[int, int, str]] | None = None
        self._at: dict[str, list[int]] | None = None

    def _words(self) -> list[tuple[int, int, str]]:
        if self._stemmed is None:
            self._stemmed = [
                (m.start(), m.end(), light_stem(m.group())) for m in _WORD_RE.finditer(self.folded)
            ]
        return self._stemmed

    def _positions(self) -> dict[str, list[int]]:
        """Stem -> indexes of the words with that stem, ascending (matching checks only
        where a term's first word occurs, not at every word of the text)."""
        if self._at is None:
            self._at = {}
            for i, (_s, _e, stem) in enumerate(self._words()):
                self._at.setdefault(stem, []).append(i)
        return self._at

    def _span(self, start: int, end: int) -> tuple[int, int]:
        if self._map is None:
            return start, end
        return self._map[start], self._map[end - 1] + 1

    def spans(self, term: Term) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        if term.empty or not self.text:
            return found
        if term.cjk:
            start = self.folded.find(term.text)
            while start != -1:
                end = start + len(term.text)
                found.append(self._span(start, end))
                start = self.folded.find(term.text, end)
            return found
        stems = [light_stem(w) for w in term.words]
        if not stems or stems[0][:3] not in self.folded:
            return found
        words = self._words()
        n = len(stems)
        for i in self._positions().get(stems[0], ()):
            if i + n <= len(words) and all(words[i + k][2] == stems[k] for k in range(1, n)):
                found.append(self._span(words[i][0], words[i + n - 1][1]))
        return found

    def contains(self, concept: Concept) -> bool:
        return any(self.spans(term) for term in concept.alternatives)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def render_marked(marked: str) -> str:
    """HTML-escape a text whose matches are wrapped in the sentinels, then turn the
    sentinels into ``<mark>`` tags (the one renderer of every adapter's highlights)."""
    escaped = html.escape(marked, quote=True)
    return escaped.replace(MARK_PRE, "<mark>").replace(MARK_POST, "</mark>")


def highlight(text: str, terms: Sequence[Term], *, crop: bool = False) -> str | None:
    """The text with every occurrence of the terms marked; None when nothing matches."""
    clean = text.replace(MARK_PRE, "").replace(MARK_POST, "")
    prepared = PreparedText(clean)
    spans = _merge(span for term in terms for span in prepared.spans(term))
    if not spans:
        return None
    window_start, window_end = 0, len(clean)
    if crop:
        window_start = max(0, spans[0][0] - CROP_CONTEXT)
        window_end = min(len(clean), spans[0][1] + CROP_CONTEXT)
    parts: list[str] = [CROP_MARKER] if window_start > 0 else []
    cursor = window_start
    for start, end in spans:
        if start >= window_end:
            break
        end = min(end, window_end)
        parts.extend((clean[cursor:start], MARK_PRE, clean[start:end], MARK_POST))
        cursor = end
    parts.append(clean[cursor:window_end])
    if window_end < len(clean):
        parts.append(CROP_MARKER)
    return render_marked("".join(parts))


def highlight_value(value: object, terms: Sequence[Term], *, crop: bool = False) -> str | None:
    """Highlight a string field or a list of strings (joined with ", ")."""
    if isinstance(value, str):
        return highlight(value, terms, crop=crop)
    if isinstance(value, list):
        items = [str(v) for v in value]
        marked = [highlight(item, terms) for item in items]
        if all(m is None for m in marked):
            return None
        return ", ".join(
            m if m is not None else render_marked(item)
            for m, item in zip(marked, items, strict=True)
        )
    return None
