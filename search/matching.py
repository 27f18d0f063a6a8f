"""Match scoring and explanations, shared by every adapter.

The adapters only *retrieve* candidates (open tasks or solvers sharing a skill, matching
a profile term, or working in the industry); this module scores and explains them, so a
match means the same thing whatever the backend:

    score = W_SKILL * skill_overlap          (the task's skills covered by the solver's,
                                               a synonym counting SYNONYM_CREDIT)
          + W_TEXT * text_relevance          (field-weighted share of the profile's terms
                                               found in the other side's texts)
          + W_INDUSTRY * industry_match      (the task's industry is one of the solver's)
          + W_DISTRICT * district_match      (same district)
          + W_REPUTATION * rating / 5        (solvers for a task only)

Candidates are scored in the order of an upper bound of their score (everything but the
text, which counts as a full match) and the scan stops when no remaining one can enter
the top `limit`; the texts are tested as plain substrings of a `MatchText` (which an
index may store at indexing time), so a candidate costs a few `in` tests per term.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import msgspec

from search import synonyms
from search.port import MatchExplanation, MatchHit, SkillMatch, SolverDocument, TaskDocument
from search.text import WORD_RE, Concept, fold, light_stem, parse_query

OPEN_STATUS = "published"
SYNONYM_CREDIT = 0.9
MAX_PROFILE_CONCEPTS = 16
CANDIDATES_PER_SOURCE = 200

TASK_WEIGHTS = {"skill": 0.55, "text": 0.25, "industry": 0.12, "district": 0.08}
SOLVER_WEIGHTS = {"skill": 0.5, "text": 0.22, "industry": 0.1, "district": 0.08, "reputation": 0.1}

TASK_TEXT_FIELDS: tuple[tuple[str, float], ...] = (
    ("title_zh", 3.0),
    ("title_en", 3.0),
    ("summary_zh", 2.0),
    ("summary_en", 2.0),
    ("description_zh", 1.0),
    ("description_en", 1.0),
)
SOLVER_TEXT_FIELDS: tuple[tuple[str, float], ...] = (
    ("headline_zh", 3.0),
    ("headline_en", 3.0),
    ("bio_zh", 1.0),
    ("bio_en", 1.0),
)
TEXT_FIELDS: dict[str, tuple[tuple[str, float], ...]] = {
    "tasks": TASK_TEXT_FIELDS,
    "solvers": SOLVER_TEXT_FIELDS,
}


@dataclass(frozen=True)
class Profile:
    """What one side looks for: its skills, its terms, its industries and district."""

    skills: tuple[str, ...]
    concepts: tuple[Concept, ...]
    industries: tuple[str, ...]
    district: str | None

    @property
    def skill_variants(self) -> list[str]:
        """Every normalized spelling of the skills, synonyms included (for retrieval)."""
        return synonyms.expand(self.skills)


def _profile_concepts(skills: Iterable[str], texts: Iterable[str]) -> tuple[Concept, ...]:
    concepts: dict[frozenset[str], Concept] = {}
    for skill in skills:
        if skill.strip():
            concept = Concept.of(skill)
            concepts.setdefault(concept.key, concept)
    for text in texts:
        for concept in parse_query(text, known_only=True):
            concepts.setdefault(concept.key, concept)
    return tuple(list(concepts.values())[:MAX_PROFILE_CONCEPTS])


def solver_profile(solver: SolverDocument) -> Profile:
    return Profile(
        skills=tuple(solver.skills),
        concepts=_profile_concepts(
            solver.skills, (solver.headline_zh, solver.headline_en, solver.bio_zh, solver.bio_en)
        ),
        industries=tuple(solver.fields),
        district=solver.district,
    )


def task_profile(task: TaskDocument) -> Profile:
    return Profile(
        skills=tuple(task.skills),
        concepts=_profile_concepts(
            task.skills, (task.title_zh, task.title_en, task.summary_zh, task.summary_en)
        ),
        industries=(task.industry,),
        district=task.district,
    )


def skill_matches(wanted: Sequence[str], offered: Sequence[str]) -> list[SkillMatch]:
    """For each wanted skill, the offered skill covering it (same term first, else a synonym)."""
    return _matches_in(wanted, _offered_norms(offered))


def _offered_norms(offered: Sequence[str]) -> dict[str, str]:
    """Normalized spelling -> its first offered form (dict order = offer order)."""
    offered_norm: dict[str, str] = {}
    for o in offered:
        offered_norm.setdefault(synonyms.normalize(o), o)
    return offered_norm


def _matches_in(wanted: Sequence[str], offered_norm: Mapping[str, str]) -> list[SkillMatch]:
    """`skill_matches` against offered skills normalized once (`_offered_norms`): a
    solver's skills are tested against hundreds of candidate tasks in a row."""
    out: list[SkillMatch] = []
    for want in wanted:
        exact = offered_norm.get(synonyms.normalize(want))
        if exact is not None:
            out.append(SkillMatch(wanted=want, matched=exact, via_synonym=False))
            continue
        group = synonyms.equivalents(want)
        if group.isdisjoint(offered_norm):
            continue
        synonym = next(o for n, o in offered_norm.items() if n in group)
        out.append(SkillMatch(wanted=want, matched=synonym, via_synonym=True))
    return out


class _Needles:
    """A concept as plain substrings: its Chinese alternatives (looked up in the folded
    text) and its English ones as `` stem stem `` (looked up in the stemmed word text) --
    the same test as `PreparedText.contains`, without building spans."""

    __slots__ = ("cjk", "words")

    def __init__(self, concept: Concept) -> None:
        self.cjk = tuple(t.text for t in concept.alternatives if t.cjk and not t.empty)
        self.words = tuple(
            " " + " ".join(light_stem(w) for w in t.words) + " "
            for t in concept.alternatives
            if not t.cjk and not t.empty
        )


_last_needles: tuple[Sequence[Concept], list[tuple[_Needles, str]]] | None = None


def _all_needles(concepts: Sequence[Concept]) -> list[tuple[_Needles, str]]:
    """The concepts' needles; the last list is reused (one profile's concepts are asked
    for every candidate in a row; identity, not equality: no hashing per candidate)."""
    global _last_needles
    last = _last_needles
    if last is not None and last[0] is concepts:
        return last[1]
    needles = [(_Needles(c), c.label) for c in concepts]
    _last_needles = (concepts, needles)
    return needles


class StoredTexts(Protocol):
    """Where an index keeps its documents' `MatchText`s (read when first asked for)."""

    def get(self, doc_id: int) -> MatchText | None: ...


class MatchText:
    """A document's texts prepared once for containment tests: per weight (descending),
    the folded fields joined by NUL and their stemmed words joined by spaces (``|``
    between fields, so a phrase never spans two fields)."""

    __slots__ = ("levels",)

    def __init__(self, levels: list[tuple[float, str, str]]) -> None:
        self.levels = levels

    @classmethod
    def of(cls, doc: object, fields: Sequence[tuple[str, float]]) -> MatchText:
        by_weight: dict[float, list[str]] = {}
        for name, weight in fields:
            # `fold` of the whole text (no per-character source map: nothing is marked).
            by_weight.setdefault(weight, []).append(fold(str(getattr(doc, name, "") or "")))
        levels: list[tuple[float, str, str]] = []
        for weight in sorted(by_weight, reverse=True):
            texts = by_weight[weight]
            stemmed = " | ".join(" ".join(map(light_stem, WORD_RE.findall(t))) for t in texts)
            levels.append((weight, "\0".join(texts), f" {stemmed} "))
        return cls(levels)

    def encode(self) -> bytes:
        """Stored by an index next to the document (built once, at indexing)."""
        return msgspec.msgpack.encode(self.levels)

    @classmethod
    def decode(cls, data: bytes) -> MatchText:
        return cls(msgspec.msgpack.decode(data, type=list[tuple[float, str, str]]))

    def best_weight(self, needles: _Needles) -> float:
        """The highest weight among the fields containing the concept (0.0 if none)."""
        # Plain loops, not any() over generators: called for every candidate and concept.
        cjk, words = needles.cjk, needles.words
        for weight, folded, stemmed in self.levels:
            for c in cjk:
                if c in folded:
                    return weight
            for w in words:
                if w in stemmed:
                    return weight
        return 0.0


def text_relevance(
    concepts: Sequence[Concept],
    doc: object,
    fields: Sequence[tuple[str, float]],
    text: MatchText | None = None,
) -> tuple[float, list[str]]:
    """Field-weighted share of the concepts found in the document's texts, and their
    labels (`text`: the document's `MatchText` when the index stored it)."""
    if not concepts:
        return 0.0, []
    if text is None:
        text = MatchText.of(doc, fields)
    top = max(w for _, w in fields)
    total = 0.0
    matched: list[str] = []
    for needles, label in _all_needles(concepts):
        best = text.best_weight(needles)
        if best:
            total += best
            matched.append(label)
    return total / (top * len(concepts)), matched


def _finish(
    doc_id: int,
    weights: dict[str, float],
    components: dict[str, float],
    skills: list[SkillMatch],
    terms: list[str],
    facts: dict[str, str],
) -> MatchHit | None:
    if not (
        components["skill_overlap"] or components["text_relevance"] or components["industry_match"]
    ):
        return None
    score = (
        weights["skill"] * components["skill_overlap"]
        + weights["text"] * components["text_relevance"]
        + weights["industry"] * components["industry_match"]
        + weights["district"] * components["district_match"]
        + weights.get("reputation", 0.0) * components.get("reputation", 0.0)
    )
    signals: dict[str, float | str] = {k: round(v, 4) for k, v in components.items()}
    signals.update(facts)
    return MatchHit(
        id=doc_id,
        score=round(score, 6),
        explanation=MatchExplanation(matched_skills=skills, matched_terms=terms, signals=signals),
    )


def _overlap(wanted: Sequence[str], matches: Sequence[SkillMatch]) -> float:
    if not wanted:
        return 0.0
    credit = sum(SYNONYM_CREDIT if m.via_synonym else 1.0 for m in matches)
    return credit / len(wanted)


def score_task_for_solver(
    solver: SolverDocument, profile: Profile, task: TaskDocument
) -> MatchHit | None:
    """How well an open task suits a solver (None when nothing relevant is shared)."""
    return _score_task(solver, profile, task, skill_matches(task.skills, solver.skills), None)


def _score_task(
    solver: SolverDocument,
    profile: Profile,
    task: TaskDocument,
    skills: list[SkillMatch],
    texts: StoredTexts | None,
) -> MatchHit | None:
    text = texts.get(task.id) if texts is not None and profile.concepts else None
    relevance, terms = text_relevance(profile.concepts, task, TASK_TEXT_FIELDS, text)
    components = {
        "skill_overlap": _overlap(task.skills, skills),
        "text_relevance": relevance,
        "industry_match": 1.0 if task.industry in solver.fields else 0.0,
        "district_match": 1.0 if solver.district and solver.district == task.district else 0.0,
    }
    facts = {"industry": task.industry, "district": task.district}
    return _finish(task.id, TASK_WEIGHTS, components, skills, terms, facts)


def score_solver_for_task(
    task: TaskDocument, profile: Profile, solver: SolverDocument
) -> MatchHit | None:
    """How well a solver suits a task (None when nothing relevant is shared)."""
    return _score_solver(task, profile, solver, skill_matches(task.skills, solver.skills), None)


def _score_solver(
    task: TaskDocument,
    profile: Profile,
    solver: SolverDocument,
    skills: list[SkillMatch],
    texts: StoredTexts | None,
) -> MatchHit | None:
    text = texts.get(solver.id) if texts is not None and profile.concepts else None
    relevance, terms = text_relevance(profile.concepts, solver, SOLVER_TEXT_FIELDS, text)
    components = {
        "skill_overlap": _overlap(task.skills, skills),
        "text_relevance": relevance,
        "industry_match": 1.0 if task.industry in solver.fields else 0.0,
        "district_match": 1.0 if solver.district and solver.district == task.district else 0.0,
        "reputation": (solver.rating_avg or 0.0) / 5.0,
    }
    facts = {"industry": task.industry}
    if solver.district:
        facts["district"] = solver.district
    return _finish(solver.id, SOLVER_WEIGHTS, components, skills, terms, facts)


def _best(
    candidates: Iterable[tuple[float, int, Callable[[], MatchHit | None]]], limit: int
) -> list[MatchHit]:
    """The `limit` best hits, scoring in the order of an upper bound of the score and
    stopping once no remaining candidate can enter the top (same result as scoring all:
    the bound only skips the text scan of candidates that cannot make it)."""
    kth: list[float] = []  # min-heap of the best `limit` scores so far
    hits: list[MatchHit] = []
    for bound, _id, score in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if len(kth) == limit and bound + 1e-6 < kth[0]:
            break  # sorted by bound: nothing after this can beat the current top
        hit = score()
        if hit is None:
            continue
        hits.append(hit)
        if len(kth) < limit:
            heapq.heappush(kth, hit.score)
        elif hit.score > kth[0]:
            heapq.heapreplace(kth, hit.score)
    return rank(hits, limit)


def tasks_for_solver(
    solver: SolverDocument,
    profile: Profile,
    candidates: Iterable[TaskDocument],
    exclude: frozenset[int],
    limit: int,
    texts: StoredTexts | None = None,
) -> list[MatchHit]:
    """Score and rank candidate tasks (open ones only, excluded ids dropped); `texts`:
    the candidates' stored `MatchText`s, if the index keeps them (asked only for the
    candidates whose text is scanned)."""
    text_weight = TASK_WEIGHTS["text"] if profile.concepts else 0.0
    district = solver.district
    fields = set(solver.fields)
    offered = _offered_norms(solver.skills)
    seen: set[int] = set()
    bounded: list[tuple[float, int, Callable[[], MatchHit | None]]] = []
    for task in candidates:
        if task.status != OPEN_STATUS or task.id in exclude or task.id in seen:
            continue
        seen.add(task.id)
        # The cheap components give an upper bound (text relevance counted as 1).
        skills = _matches_in(task.skills, offered)
        bound = (
            TASK_WEIGHTS["skill"] * _overlap(task.skills, skills)
            + TASK_WEIGHTS["industry"] * (task.industry in fields)
            + TASK_WEIGHTS["district"] * bool(district and district == task.district)
            + text_weight
        )
        bounded.append(
            (
                bound,
                task.id,
                partial(
                    _score_task,
                    solver,
                    profile,
                    task,
                    skills,
                    texts,
                ),
            )
        )
    return _best(bounded, limit)


def solvers_for_task(
    task: TaskDocument,
    profile: Profile,
    candidates: Iterable[SolverDocument],
    limit: int,
    texts: StoredTexts | None = None,
) -> list[MatchHit]:
    text_weight = SOLVER_WEIGHTS["text"] if profile.concepts else 0.0
    seen: set[int] = set()
    bounded: list[tuple[float, int, Callable[[], MatchHit | None]]] = []
    for solver in candidates:
        if solver.id in seen:
            continue
        seen.add(solver.id)
        skills = skill_matches(task.skills, solver.skills)
        bound = (
            SOLVER_WEIGHTS["skill"] * _overlap(task.skills, skills)
            + SOLVER_WEIGHTS["industry"] * (task.industry in solver.fields)
            + SOLVER_WEIGHTS["district"]
            * bool(solver.district and solver.district == task.district)
            + SOLVER_WEIGHTS["reputation"] * (solver.rating_avg or 0.0) / 5.0
            + text_weight
        )
        bounded.append(
            (
                bound,
                solver.id,
                partial(
                    _score_solver,
                    task,
                    profile,
                    solver,
                    skills,
                    texts,
                ),
            )
        )
    return _best(bounded, limit)


def complete(hits: Sequence[MatchHit], limit: int, weights: dict[str, float]) -> bool:
    """True when `hits` (ranked, from the skill and text candidates) is full and its last
    score beats anything a candidate found only by its industry could reach (no skill
    shared: the other components at most) -- the industry source can then be skipped."""
    industry_only = sum(w for name, w in weights.items() if name != "skill")
    return len(hits) == limit and hits[-1].score > industry_only + 1e-6


def rank(hits: Iterable[MatchHit], limit: int) -> list[MatchHit]:
    return sorted(hits, key=lambda h: (-h.score, h.id))[:limit]
