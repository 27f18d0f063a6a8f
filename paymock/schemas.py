"""Wire formats: Stripe-style parameters in, Stripe-shaped objects and errors out."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec

CURRENCIES = ("cny",)
# Stripe's limit: amounts have at most eight digits.
MAX_AMOUNT = 99_999_999
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LEN = 40
MAX_METADATA_VALUE_LEN = 500
MAX_IDEMPOTENCY_KEY_LEN = 255
API_VERSION = "2024-06-20"

# ---------------------------------------------------------------------------------------
# Errors


class StripeError(Exception):
    """An error answered in Stripe's shape: {"error": {"type", "code", "message", "param"}}."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            err["code"] = self.code
        if self.param is not None:
            err["param"] = self.param
        if self.decline_code is not None:
            err["decline_code"] = self.decline_code
        err.update(self.extra)
        return {"error": err}

    def body(self) -> bytes:
        return msgspec.json.encode(self.to_dict())


def invalid(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> StripeError:
    return StripeError(status, "invalid_request_error", message, code=code, param=param)


def missing(resource: str, ident: str, param: str = "id") -> StripeError:
    return StripeError(
        404,
        "invalid_request_error",
        f"No such {resource}: '{ident}'",
        code="resource_missing",
        param=param,
    )


def api_error(message: str = "An unknown error occurred") -> StripeError:
    return StripeError(500, "api_error", message)


# ---------------------------------------------------------------------------------------
# Parameters

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def parse_form(raw: bytes | str) -> dict[str, Any]:
    """Decode Stripe's form encoding: ``metadata[k]=v`` nests, ``expand[]=x`` appends."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    out: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        m = _KEY.match(key)
        if not m:
            raise invalid(f"Invalid parameter name: {key}", param=key, code="parameter_unknown")
        parts = [m.group(1), *_PART.findall(m.group(2))]
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_list = not last and parts[i + 1] == ""
            if isinstance(node, list):
                if not last:
                    raise invalid(f"Invalid array parameter: {key}", param=parts[0])
                node.append(value)
                break
            if last:
                if part in node:
                    raise invalid(f"Duplicate parameter: {key}", param=parts[0])
                node[part] = value
            else:
                default: Any = [] if nxt_is_list else {}
                node = node.setdefault(part, default)
                if isinstance(node, str):
                    raise invalid(f"Invalid parameter nesting: {key}", param=parts[0])
    return out


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    if "json" in content_type.lower():
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise invalid(f"Invalid JSON body: {exc}") from exc
        if not isinstance(data, dict):
            raise invalid("A JSON body must be an object")
        return data
    try:
        return parse_form(raw)
    except UnicodeDecodeError as exc:
        raise invalid("The request body is not valid UTF-8") from exc


def _canonical(value: Any) -> Any:
    # Form values are strings while JSON has numbers and booleans; compare them as Stripe
    # would see them once decoded, so a retry may switch encodings.
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def params_fingerprint(params: dict[str, Any]) -> str:
    encoded = json.dumps(_canonical(params), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


class Params:
    """Typed access to request parameters with Stripe's error messages and codes.

    Each accessor marks the parameter as known; ``finish()`` then rejects the rest, so a
    misspelt parameter is an error instead of being silently ignored.
    """

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self._known: set[str] = {"expand"}  # accepted for client-library compatibility

    def _get(self, name: str) -> Any:
        self._known.add(name)
        return self.raw.get(name)

    def _scalar(self, name: str, value: Any) -> str:
        if isinstance(value, dict | list):
            raise invalid(f"Invalid value for {name}: expected a single value", param=name)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def string(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int = 5000,
        choices: tuple[str, ...] | None = None,
        default: str | None = None,
    ) -> str | None:
        value = self._get(name)
        if value is None:
            if required:
                raise invalid(
                    f"Missing required param: {name}.", param=name, code="parameter_missing"
                )
            return default
        text = self._scalar(name, value)
        if text == "":
            if required or choices:
                raise invalid(
                    f"You passed an empty string for '{name}'. We assume empty values are an "
                    f"attempt to unset a parameter; however '{name}' cannot be unset.",
                    param=name,
                    code="parameter_invalid_empty",
                )
            return None
        if len(text) > max_length:
            raise invalid(
                f"Invalid {name}: must be at most {max_length} characters",
                param=name,
                code="parameter_invalid_string",
            )
        if choices is not None and text not in choices:
            raise invalid(
                f"Invalid {name}: must be one of {', '.join(choices)}",
                param=name,
                code="parameter_invalid_string",
            )
        return text

    def amount(self, name: str, *, required: bool = False) -> int | None:
        """A positive integer in minor units, at most eight digits."""
        value = self._get(name)
        if value is None:
            if required:
                raise invalid(
                    f"Missing required param: {name}.", param=name, code="parameter_missing"
                )
            return None
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise invalid(f"Invalid integer: {value}", param=name, code="parameter_invalid_integer")
        text = self._scalar(name, value).strip()
        if text == "":
            raise invalid(
                f"You passed an empty string for '{name}'; '{name}' cannot be unset.",
                param=name,
                code="parameter_invalid_empty",
            )
        try:
            number = int(float(text)) if isinstance(value, float) else int(text)
        except ValueError:
            raise invalid(
                f"Invalid integer: {text}", param=name, code="parameter_invalid_integer"
            ) from None
        if number < 1:
            raise invalid(
                f"Invalid {name}: must be a positive integer in the currency's minor unit "
                f"(got {number})",
                param=name,
                code="amount_too_small",
            )
        if number > MAX_AMOUNT:
            raise invalid(
                f"Invalid {name}: must be at most {MAX_AMOUNT}",
                param=name,
                code="amount_too_large",
            )
        return number

    def integer(self, name: str, *, default: int, minimum: int, maximum: int) -> int:
        value = self._get(name)
        if value is None or value == "":
            return default
        try:
            number = int(self._scalar(name, value))
        except ValueError:
            raise invalid(
                f"Invalid integer: {value}", param=name, code="parameter_invalid_integer"
            ) from None
        if not minimum <= number <= maximum:
            raise invalid(
                f"Invalid {name}: must be between {minimum} and {maximum}",
                param=name,
                code="parameter_invalid_integer",
            )
        return number

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self._get(name)
        if value is None:
            return default
        text = self._scalar(name, value).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0", ""):
            return False
        raise invalid(f"Invalid boolean: {value}", param=name, code="parameter_invalid_boolean")

    def currency(self) -> str:
        text = self.string("currency", required=True, max_length=3)
        assert text is not None
        code = text.lower()
        if code not in CURRENCIES:
            raise invalid(
                f"Invalid currency: {text}. This mock supports only: {', '.join(CURRENCIES)}",
                param="currency",
                code="parameter_invalid_string",
            )
        return code

    def metadata(self) -> dict[str, str]:
        value = self._get("metadata")
        if value is None or value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid("Invalid metadata: must be a hash of keys to values", param="metadata")
        if len(value) > MAX_METADATA_KEYS:
            raise invalid(f"Invalid metadata: at most {MAX_METADATA_KEYS} keys", param="metadata")
        out: dict[str, str] = {}
        for key, item in value.items():
            param = f"metadata[{key}]"
            if len(key) > MAX_METADATA_KEY_LEN:
                raise invalid(
                    f"Metadata keys can be at most {MAX_METADATA_KEY_LEN} characters", param=param
                )
            if isinstance(item, dict | list):
                raise invalid("Metadata values must be strings", param=param)
            text = self._scalar(param, item) if item is not None else ""
            if len(text) > MAX_METADATA_VALUE_LEN:
                raise invalid(
                    f"Metadata values can be at most {MAX_METADATA_VALUE_LEN} characters",
                    param=param,
                )
            if text != "":  # Stripe: an empty value unsets the key
                out[str(key)] = text
        return out

    def finish(self) -> None:
        for name in self.raw:
            if name not in self._known:
                raise invalid(
                    f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
                )


# ---------------------------------------------------------------------------------------
# Objects


class PaymentIntentOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "payment_intent"
    amount: int
    amount_capturable: int
    amount_received: int
    capture_method: str
    confirmation_method: str = "automatic"
    currency: str
    status: str
    payment_method: str | None
    payment_method_types: list[str] = msgspec.field(default_factory=lambda: ["card"])
    latest_charge: str | None
    last_payment_error: dict[str, Any] | None
    description: str | None
    metadata: dict[str, str]
    canceled_at: int | None
    cancellation_reason: str | None
    transfer_group: str | None
    created: int
    livemode: bool = False


class ChargeOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "charge"
    amount: int
    amount_captured: int
    amount_refunded: int
    balance_transaction: str | None
    captured: bool
    currency: str
    failure_code: str | None
    failure_message: str | None
    metadata: dict[str, str]
    paid: bool
    payment_intent: str
    payment_method: str | None
    refunded: bool
    status: str
    created: int
    livemode: bool = False


class TransferOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "transfer"
    amount: int
    amount_reversed: int = 0
    balance_transaction: str
    currency: str
    description: str | None
    destination: str
    metadata: dict[str, str]
    reversed: bool = False
    source_type: str = "card"
    transfer_group: str | None
    created: int
    livemode: bool = False


class RefundOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "refund"
    amount: int
    balance_transaction: str
    charge: str
    currency: str
    metadata: dict[str, str]
    payment_intent: str
    reason: str | None
    status: str
    created: int


class BalanceTransactionOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "balance_transaction"
    amount: int
    currency: str
    description: str | None
    fee: int = 0
    net: int
    source: str
    status: str = "available"
    type: str
    created: int
    available_on: int


class BalanceAmount(msgspec.Struct):
    amount: int
    currency: str


class BalanceOut(msgspec.Struct, kw_only=True):
    object: str = "balance"
    available: list[BalanceAmount]
    pending: list[BalanceAmount]
    livemode: bool = False


class ListOut(msgspec.Struct, kw_only=True):
    object: str = "list"
    url: str
    has_more: bool
    data: list[Any]


def encode(obj: Any) -> bytes:
    return msgspec.json.encode(obj)
