"""The OpenAPI document, stating rules the API enforces that FastAPI does not
derive from the models, so that a client generated from it sends what the API
accepts: text in a request body holds no control characters (schemas.Body), and
a parameter left out is absent, never the text `null`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

# schemas.unprintable: no C0 control but tab, line feed and carriage return.
# It also refuses lone surrogates, which are no Unicode text and so outside what
# a JSON Schema string is; naming them here makes generators drop the pattern.
PRINTABLE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
STATED_ELSEWHERE = ("enum", "const", "pattern", "format", "$ref")
# What a client does next with what a command answers: the OpenAPI links from
# opening a ticket (its number) and signing a contract (its id) to every
# operation on that ticket or contract.
LINKS = (
    ("/tickets", "201", "/tickets/{number}", "number", "$response.body#/number"),
    ("/contracts", "201", "/contracts/{contract_id}", "contract_id", "$response.body#/id"),
)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            state_enforced_rules(FastAPI.openapi(app))
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def state_enforced_rules(document: dict[str, Any]) -> None:
    link_operations(document)
    components = document.get("components", {}).get("schemas", {})
    for _, operation in operations(document):
        for parameter in operation.get("parameters", []):
            drop_null(parameter["schema"])
        body = operation.get("requestBody", {}).get("content", {})
        for content in body.values():
            for name in referenced(content.get("schema", {}), components):
                printable(components[name])


def link_operations(document: dict[str, Any]) -> None:
    paths = document.get("paths", {})
    for source, status, prefix, name, value in LINKS:
        response = paths[source]["post"]["responses"][status]
        links = response.setdefault("links", {})
        for path, operation in operations(document):
            if path == prefix or (path.startswith(prefix + "/") and path.count("{") == 1):
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {f"path.{name}": value},
                }


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        yield from ((path, op) for method, op in item.items() if method != "parameters")


def drop_null(schema: dict[str, Any]) -> None:
    """An optional parameter is one left out: `str | None` is a string."""
    branches = schema.get("anyOf")
    if not branches:
        return
    kept = [branch for branch in branches if branch != {"type": "null"}]
    if len(kept) == 1 and len(kept) < len(branches):
        del schema["anyOf"]
        schema.update(kept[0])


def referenced(schema: Any, components: dict[str, Any]) -> set[str]:
    """The component schemas a request body's schema reaches."""
    found: set[str] = set()
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            name = ref.rsplit("/", 1)[-1]
            if ref.startswith("#/components/schemas/") and name not in found:
                found.add(name)
                pending.append(components[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def printable(schema: Any) -> None:
    """Every free text of a request body, its map keys included, is printable."""
    if isinstance(schema, list):
        for item in schema:
            printable(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not any(k in schema for k in STATED_ELSEWHERE):
        schema["pattern"] = PRINTABLE_PATTERN
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        schema.setdefault("propertyNames", {"pattern": PRINTABLE_PATTERN})
    for key, value in schema.items():
        if key not in ("examples", "default", "enum", "const"):
            printable(value)
