"""The OpenAPI document is complete: every operation says what it does, what it
answers and shows an example of what it takes; and the `keys` and `serve`
commands behave as the README says."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from tests.api_support import make_app
from ticketledger.api.cli.main import app as cli
from ticketledger.service.ledger import TicketLedger

METHODS = ("get", "post", "put", "patch", "delete")


def component(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref", "")
    found: dict[str, Any] = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    return found


def test_every_operation_has_a_summary_documented_problems_and_example_requests(
    ledger: TicketLedger,
) -> None:
    app, _ = make_app(ledger, followers=False)
    document = app.openapi()  # what /openapi.json serves
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operations) >= 40
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        if path == "/health":  # public: a key only adds the quarantined items
            assert operation.get("security") == [{}, {"ApiKey": []}], where
            continue
        declared = set(operation["responses"])
        assert {"401", "403", "404", "422", "503"} <= declared, where
        # A read claims none of a command's refusals but a position not written
        # yet (409) when it waits for one; a command claims them all.
        command_only = {"400", "409", "412", "413"}
        waits = any(p["name"] == "after" for p in operation.get("parameters", []))
        read_claims = {"409"} if waits else set()
        if method == "post":
            assert command_only <= declared, where
        else:
            assert command_only & declared == read_claims, where
        assert operation.get("security") == [{"ApiKey": []}], where
        body = operation.get("requestBody")
        if body is not None:
            schema = body["content"]["application/json"]["schema"]
            assert component(document, schema).get("examples"), f"{where} has no example body"
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter.get("examples") or parameter["schema"].get("examples"), (
                    f"{where}: path parameter {parameter['name']} has no example"
                )
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_keys_are_created_listed_and_revoked_from_the_command_line(database_url: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        cli,
        [
            "keys",
            "create",
            "--role",
            "requester",
            "--customer",
            "Móveis Serra Gaúcha",
            "--requester",
            "compras@moveisserra.com.br",
            "--database-url",
            database_url,
        ],
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("tl_") and len(token) > 40
    listed = runner.invoke(cli, ["keys", "list", "--database-url", database_url])
    assert "requester" in listed.stdout and token not in listed.stdout
    key_id = listed.stdout.split()[0]
    revoked = runner.invoke(cli, ["keys", "revoke", key_id, "--database-url", database_url])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    again = runner.invoke(cli, ["keys", "revoke", key_id, "--database-url", database_url])
    assert again.exit_code == 1
    unbound = runner.invoke(
        cli, ["keys", "create", "--role", "requester", "--database-url", database_url]
    )
    assert unbound.exit_code == 1


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    refused = CliRunner().invoke(cli, ["serve", "--workers", "2", "--database-url", url])
    assert refused.exit_code == 1
    assert "PostgreSQL" in refused.output


def test_options_names_every_method_a_path_takes(api: Any) -> None:
    answered = api.http.options(api.base + "/tickets")
    assert answered.status_code == 204
    assert set(answered.headers["Allow"].split(", ")) == {"GET", "POST", "OPTIONS"}
    only_get = api.http.options(api.base + "/health")
    assert set(only_get.headers["Allow"].split(", ")) == {"GET", "OPTIONS"}
    assert api.http.options(api.base + "/nowhere").status_code == 404
