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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from search import synonyms
from search.port import MatchExplanation, MatchHit, SkillMatch, SolverDocument, TaskDocument
from search.text import Concept, PreparedText, parse_query

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
    offered_norm = [(synonyms.normalize(o), o) for o in offered]
    out: list[SkillMatch] = []
    for want in wanted:
        norm = synonyms.normalize(want)
        exact = next((o for n, o in offered_norm if n == norm), None)
        if exact is not None:
            out.append(SkillMatch(wanted=want, matched=exact, via_synonym=False))
            continue
        group = synonyms.equivalents(want)
        synonym = next((o for n, o in offered_norm if n in group), None)
        if synonym is not None:
            out.append(SkillMatch(wanted=want, matched=synonym, via_synonym=True))
    return out


def text_relevance(
    concepts: Sequence[Concept], doc: object, fields: Sequence[tuple[str, float]]
) -> tuple[float, list[str]]:
    """Field-weighted share of the concepts found in the document's texts, and their labels."""
    if not concepts:
        return 0.0, []
    prepared = [(PreparedText(str(getattr(doc, name, "") or "")), w) for name, w in fields]
    top = max(w for _, w in fields)
    total = 0.0
    matched: list[str] = []
    for concept in concepts:
        best = max((w for p, w in prepared if p.contains(concept)), default=0.0)
        if best:
            total += best
            matched.append(concept.label)
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
    skills = skill_matches(task.skills, solver.skills)
    relevance, terms = text_relevance(profile.concepts, task, TASK_TEXT_FIELDS)
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
    skills = skill_matches(task.skills, solver.skills)
    relevance, terms = text_relevance(profile.concepts, solver, SOLVER_TEXT_FIELDS)
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


def tasks_for_solver(
    solver: SolverDocument,
    profile: Profile,
    candidates: Iterable[TaskDocument],
    exclude: frozenset[int],
    limit: int,
) -> list[MatchHit]:
    """Score and rank candidate tasks (open ones only, excluded ids dropped)."""
    hits: dict[int, MatchHit] = {}
    for task in candidates:
        if task.status != OPEN_STATUS or task.id in exclude or task.id in hits:
            continue
        hit = score_task_for_solver(solver, profile, task)
        if hit is not None:
            hits[task.id] = hit
    return rank(hits.values(), limit)


def solvers_for_task(
    task: TaskDocument, profile: Profile, candidates: Iterable[SolverDocument], limit: int
) -> list[MatchHit]:
    hits: dict[int, MatchHit] = {}
    for solver in candidates:
        if solver.id in hits:
            continue
        hit = score_solver_for_task(task, profile, solver)
        if hit is not None:
            hits[solver.id] = hit
    return rank(hits.values(), limit)


def rank(hits: Iterable[MatchHit], limit: int) -> list[MatchHit]:
    return sorted(hits, key=lambda h: (-h.score, h.id))[:limit]
