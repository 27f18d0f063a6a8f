from __future__ import annotations

from sqlalchemy import Engine, select

from market.accounts.models import ApiToken, User
from tests.helpers import PASSWORD, Api


def test_passwords_are_argon2_hashed_and_tokens_stored_as_digests(api: Api, engine: Engine) -> None:
    solver = api.solver()
    with engine.connect() as conn:
        stored = conn.scalar(select(User.password_hash).where(User.id == solver.id))
        token_hashes = list(conn.scalars(select(ApiToken.token_hash)))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert solver.token not in token_hashes and len(token_hashes) == 1


def test_wrong_password_is_401_and_repeated_failures_are_rate_limited(api: Api) -> None:
    c = api.c
    solver = api.solver()
    for _ in range(5):
        r = c.post("/auth/login", json={"email": solver.email, "password": "wrong-password"})
        assert r.status_code == 401
        assert r.json()["errors"][0]["field"] == "password"
    # The sixth try is refused even with the right password, and says when to come back.
    r = c.post("/auth/login", json={"email": solver.email, "password": PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["errors"][0]["rule"] == "rate_limited"
    # Other accounts are not affected.
    other = api.solver()
    assert (
        c.post("/auth/login", json={"email": other.email, "password": PASSWORD}).status_code == 200
    )


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(api: Api) -> None:
    r = api.c.post("/auth/login", json={"email": "nobody@x.example", "password": "whatever-1"})
    assert r.status_code == 401 and r.json()["detail"] == "wrong e-mail address or password"


def test_logout_revokes_the_token(api: Api) -> None:
    c = api.c
    solver = api.solver()
    assert c.get("/me", headers=solver.headers).status_code == 200
    assert c.post("/auth/logout", headers=solver.headers).status_code == 204
    r = c.get("/me", headers=solver.headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.get("/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert c.get("/me").status_code == 401


def test_registration_rules(api: Api) -> None:
    c = api.c
    base = {"password": PASSWORD, "display_name": "x"}
    # A poster needs an enterprise.
    r = c.post("/auth/register", json={**base, "email": "p@x.example", "role": "poster"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "organisation"
    # Officials and admins are not self-service.
    r = c.post("/auth/register", json={**base, "email": "o@x.example", "role": "official"})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "role"
    # E-mail addresses are unique, whatever their case.
    assert (
        c.post(
            "/auth/register", json={**base, "email": "s@x.example", "role": "solver"}
        ).status_code
        == 201
    )
    r = c.post("/auth/register", json={**base, "email": "S@X.example", "role": "solver"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "email"


def test_solver_profile_in_chinese_and_english(api: Api) -> None:
    c = api.c
    profile = {
        "headline_zh": "海洋工程焊接专家",
        "headline_en": "Offshore welding specialist",
        "skills": ["焊接", "welding metallurgy", "焊接", "有限元分析"],
        "fields": ["offshore_equipment", "new_materials"],
        "bio_zh": "十五年海工焊接研究。",
        "bio_en": "Fifteen years of offshore welding research.",
        "languages": ["zh", "en"],
        "district": "tongzhou",
    }
    solver = api.solver(profile=profile)
    public = c.get(f"/solvers/{solver.id}").json()
    assert public["profile"]["skills"] == [
        "焊接",
        "welding metallurgy",
        "有限元分析",
    ]  # de-duplicated
    assert public["profile"]["headline_zh"] == "海洋工程焊接专家"
    assert "email" not in public
    poster = api.poster()
    assert c.put("/me/profile", json=profile, headers=poster.headers).status_code == 403
