"""Helpers of the search tests.

They run through the HTTP API on both databases with the embedded engine. The index is the
per-test file `tmp_path/search.db`: conftest's `settings` put the data directory in
`tmp_path`, and the app and the job context both open the index from those settings, so
what the background work (run after each write) puts in the index is what the API reads.
"""

from __future__ import annotations

from typing import Any

from tests.helpers import Actor, Api

BLANK_TEXTS = {
    "title_zh": "",
    "title_en": "",
    "summary_zh": "",
    "summary_en": "",
    "description_zh": "",
    "description_en": "",
}


def publish(api: Api, poster: Actor, **fields: Any) -> dict[str, Any]:
    """A published task whose texts are only the ones given."""
    return api.published_task(poster, **{**BLANK_TEXTS, **fields})


def get_ok(api: Api, path: str, actor: Actor | None = None, **params: Any) -> Any:
    r = api.c.get(path, params=params, headers=actor.headers if actor else {})
    assert r.status_code == 200, r.text
    return r.json()


def task_ids(body: dict[str, Any]) -> list[int]:
    return [hit["task"]["id"] for hit in body["items"]]


def solver_ids(body: dict[str, Any]) -> list[int]:
    return [hit["solver"]["id"] for hit in body["items"]]


def profile(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"languages": ["zh"]}
    body.update(fields)
    return body
