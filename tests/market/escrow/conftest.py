"""Escrow tests that count money need a provider of their own, fresh for each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Provider, payment_provider


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[Provider]:
    with payment_provider(tmp_path / "paymock.db") as p:
        yield p
