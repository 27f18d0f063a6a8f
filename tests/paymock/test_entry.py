"""Settings from the environment, the package boundary and `python -m paymock`."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from paymock_testkit import AUTH, ROOT

from paymock.settings import PaymockSettings


def test_settings_defaults() -> None:
    s = PaymockSettings()
    assert s.database_url == "sqlite:///./var/paymock.db"
    assert (s.secret_key, s.host, s.port) == ("sk_test_mock", "127.0.0.1", 8090)
    assert (s.error_rate, s.timeout_rate, s.latency_ms, s.seed) == (0.0, 0.0, 0, None)
    assert s.idempotency_ttl_s == 24 * 3600


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "PAYMOCK_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/pm",
        "PAYMOCK_SECRET_KEY": "sk_test_other",
        "PAYMOCK_HOST": "10.1.2.3",
        "PAYMOCK_PORT": "9999",
        "PAYMOCK_WEBHOOK_URL": "http://market:8000/webhooks/payments",
        "PAYMOCK_WEBHOOK_SECRET": "whsec_x",
        "PAYMOCK_ERROR_RATE": "0.1",
        "PAYMOCK_TIMEOUT_RATE": "0.05",
        "PAYMOCK_LATENCY_MS": "20",
        "PAYMOCK_DUPLICATE_WEBHOOK_RATE": "0.2",
        "PAYMOCK_REORDER_WEBHOOKS": "true",
        "PAYMOCK_SEED": "7",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = PaymockSettings.from_env()
    assert s.database_url == env["PAYMOCK_DATABASE_URL"]
    assert (s.secret_key, s.host, s.port) == ("sk_test_other", "10.1.2.3", 9999)
    assert (s.webhook_url, s.webhook_secret) == (env["PAYMOCK_WEBHOOK_URL"], "whsec_x")
    assert (s.error_rate, s.timeout_rate, s.latency_ms) == (0.1, 0.05, 20)
    assert (s.duplicate_webhook_rate, s.reorder_webhooks, s.seed) == (0.2, True, 7)
    s.validate()


@pytest.mark.parametrize(
    "bad",
    [{"error_rate": 1.5}, {"timeout_rate": -0.1}, {"error_rate": 0.6, "timeout_rate": 0.6}],
)
def test_settings_reject_impossible_rates(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="rate"):
        PaymockSettings(**bad).validate()  # type: ignore[arg-type]


def test_paymock_imports_nothing_of_the_marketplace() -> None:
    forbidden = {"market", "search", "workers"}
    for path in (ROOT / "paymock").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_python_m_paymock_serves(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "PAYMOCK_PORT": str(port),
        "PAYMOCK_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "PAYMOCK_LOG_LEVEL": "warning",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "paymock"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                _, err = proc.communicate(timeout=5) if proc.poll() is not None else (b"", b"")
                pytest.fail(f"python -m paymock did not serve: {err.decode(errors='replace')}")
            time.sleep(0.05)
        r = httpx.get(f"{base}/v1/balance", headers=AUTH, timeout=5)
        assert r.status_code == 200
        assert r.json()["object"] == "balance"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
