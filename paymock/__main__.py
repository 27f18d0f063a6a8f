"""`python -m paymock`: serve the mock with uvicorn on PAYMOCK_HOST:PAYMOCK_PORT."""

from __future__ import annotations

import logging
import os

import uvicorn

from paymock.app import create_app
from paymock.settings import PaymockSettings


def main() -> None:
    settings = PaymockSettings.from_env()
    logging.basicConfig(level=os.environ.get("PAYMOCK_LOG_LEVEL", "INFO").upper())
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=os.environ.get("PAYMOCK_LOG_LEVEL", "info").lower(),
    )


if __name__ == "__main__":
    main()
