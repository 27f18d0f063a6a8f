"""paymock: a stand-in payment provider shaped like a subset of Stripe's API.

It has its own app and its own database and imports nothing from the marketplace, so a
real provider can replace it behind the same HTTP contract.
"""

from paymock.settings import PaymockSettings
from paymock.signing import verify_signature

__all__ = ["PaymockSettings", "create_app", "verify_signature"]


def __getattr__(name: str) -> object:
    # Lazy, so that `from paymock.signing import ...` does not pull in Litestar.
    if name == "create_app":
        from paymock.app import create_app

        return create_app
    raise AttributeError(name)
