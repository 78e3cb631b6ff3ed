"""The OpenAPI document says every answer a client can get: besides each operation's own responses,
the refusals app.web.errors and the middlewares give (401 not signed in, 403 not allowed or CSRF,
404 not found or not visible, 409 conflict, 422 bad input with `field` and `rule` or FastAPI's list
of validation errors; for operations with a body, 400 malformed, 408 too slow, 413 too large). The
schemathesis tests check every answer against this document (status code and schema)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

SERVICE_ERROR = {
    "title": "ServiceError",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "what is wrong, in Chinese, for the user"},
        "field": {"type": "string", "description": "the input at fault (422)"},
        "rule": {"type": "string", "description": "the rule it broke (422)"},
    },
}
_REF = {"$ref": "#/components/schemas/ServiceError"}
_VALIDATION = {"$ref": "#/components/schemas/HTTPValidationError"}
REFUSALS = {
    "401": "not signed in (no or an invalid session or bearer token)",
    "403": "signed in, but not allowed to do this (or a cookie-authenticated write without its CSRF token)",
    "404": "does not exist, or is not visible to this user",
    "409": "someone else changed it first, or it would break a uniqueness, budget or route rule",
}
BODY_REFUSALS = {
    "400": "the body could not be parsed",
    "408": "the body did not arrive in time",
    "413": "the body is larger than this operation accepts",
}
PUBLIC = {("post", "/api/v1/tokens")}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def with_refusals(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's document with the refusals added to every /api/ operation (in place, once)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ServiceError" in components:
        return schema
    components["ServiceError"] = SERVICE_ERROR
    components.setdefault("HTTPValidationError", _validation_schema())
    components.setdefault("ValidationError", _validation_item())
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code, description in REFUSALS.items():
                if code == "401" and (method, path) in PUBLIC:
                    continue
                responses.setdefault(code, _json(_REF, description))
            if "requestBody" in operation:
                for code, description in BODY_REFUSALS.items():
                    responses.setdefault(code, _json(_REF, description))
            _document_422(responses)
    return schema


def _document_422(responses: dict[str, Any]) -> None:
    """422: the operation's own schema (if any), FastAPI's validation errors, or a ServiceError."""
    current = responses.get("422")
    own = current["content"]["application/json"]["schema"] if current and "content" in current else None
    options = [s for s in (own,) if s is not None and s != _VALIDATION] + [_VALIDATION, _REF]
    description = current["description"] if current and own != _VALIDATION else "bad input: the field and the rule"
    responses["422"] = _json({"anyOf": options}, description)


def _validation_item() -> dict[str, Any]:
    return {"title": "ValidationError", "type": "object", "required": ["loc", "msg", "type"], "properties": {
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"}, "type": {"type": "string"}}}


def _validation_schema() -> dict[str, Any]:
    return {"title": "HTTPValidationError", "type": "object", "properties": {
        "detail": {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}}}


def install(app: FastAPI) -> None:
    """Make app.openapi() (and so /openapi.json) FastAPI's own document with the refusals added."""
    generate = app.openapi
    app.openapi = lambda: with_refusals(generate())  # type: ignore[method-assign]
