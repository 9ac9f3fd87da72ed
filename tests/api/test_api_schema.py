"""schemathesis against the app's own OpenAPI: every operation, generated
requests (valid and invalid) with every role's key, all checks, on SQLite and
PostgreSQL (the admin) and SQLite (the other roles). No response may be a
server error, every response must conform to the status codes, content types,
headers and schemas the OpenAPI document states, and a request valid by that
document is refused only by a rule JSON Schema cannot state (below)."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.failures import FailureGroup

from tests.api_support import make_app, make_services
from tests.conftest import admin_sql, postgres_schema_url
from tests.support import ManualClock, focco_terms
from ticketledger.domain.vocabulary import Channel, Kind, Priority
from ticketledger.service.commands import AuthoriseRequester, OpenTicket, SignContract
from ticketledger.service.ledger import TicketLedger

# The long variant (scripts/reliability) raises the budget.
EXAMPLES_PER_OPERATION = int(os.environ.get("TICKETLEDGER_SCHEMA_EXAMPLES", "20"))
# Roles other than the admin mostly meet 403 and 404 early: fewer examples.
EXAMPLES_PER_OTHER_ROLE = max(8, EXAMPLES_PER_OPERATION // 3)
# Sequences of linked calls (open a ticket, then act on the number it answers).
SCENARIOS = max(15, EXAMPLES_PER_OPERATION)

# Refusals of a schema-valid request that no JSON Schema can foresee, each
# described in the operation's prose: the ledger's state (a ticket not resolved
# cannot be accepted; the log has not reached a position), the clock (a reply
# cannot have occurred in the future, a report asks of at most a year ahead),
# who calls (an agent names the requester, a requester does not, nor sets
# occurred_at), and rules across fields or parameters (work ends after
# it starts; as-of takes exactly one of its questions).
STATE_AND_CROSS_FIELD_RULES = frozenset(
    {
        "occurred_in_future",
        "occurred_out_of_order",
        "now_out_of_range",
        "requester_missing",
        "occurred_at_not_allowed",
        "as_of_needs_one_question",
        "invalid_command",
        "invalid_link",
        "invalid_contract_terms",
        "naive_datetime",
    }
)
ACCEPTED_REFUSALS = frozenset({401, 403, 404, 409})


def existing_records(ledger: TicketLedger) -> dict[str, str]:
    contract = ledger.handle(SignContract(terms=focco_terms(), by="admin")).aggregate_id
    ledger.handle(AuthoriseRequester(contract_id=contract, requester="@serra.com.br", by="admin"))
    opened = ledger.handle(
        OpenTicket(
            contract_id=contract,
            requester="ana@serra.com.br",
            channel=Channel.PHONE,
            kind=Kind.INCIDENT,
            priority=Priority.HIGH,
            subject="Line 2 PLC does not start",
        )
    )
    assert opened.number is not None
    return {"number": opened.number, "contract_id": str(contract)}


def check_valid_request_accepted(response: Any) -> None:
    """schemathesis' positive_data_acceptance, except for the refusals of rules
    beyond any schema, named by their problem codes."""
    status = response.status_code
    if status < 400 or status in ACCEPTED_REFUSALS:
        return
    problem = response.json()
    errors = problem.get("errors") or [{}]
    terms_rules = status == 422 and all(e.get("loc", [])[:2] == ["body", "terms"] for e in errors)
    assert problem["code"] in STATE_AND_CROSS_FIELD_RULES or terms_rules, (
        f"a schema-valid request was refused: {status} {problem}\n"
        f"request: {response.request.body!r}"
    )


def checker(
    operation: Any,
    mode: GenerationMode,
    real: dict[str, str],
    headers: dict[str, str],
    examples: int,
) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        # A failing request is reported as generated: shrinking one through the
        # app can take many minutes.
        phases=[Phase.explicit, Phase.generate],
    )
    def check(case: Any) -> None:
        if mode is GenerationMode.POSITIVE:
            # Aim valid requests at a real ticket and contract, so they reach the
            # ledger's rules instead of stopping at 404.
            for name, value in real.items():
                if name in (case.path_parameters or {}):
                    case.path_parameters[name] = value
            aimed_at_real_records(case)
        response = case.call_and_validate(
            headers=headers, excluded_checks=[positive_data_acceptance]
        )
        if mode is GenerationMode.POSITIVE:
            check_valid_request_accepted(response)

    return check  # type: ignore[no-any-return]


def drop_header(case: Any, name: str) -> bool:
    found = [key for key in case.headers or {} if key.lower() == name]
    for key in found:
        del case.headers[key]
    return bool(found)


def aimed_at_real_records(case: Any) -> None:
    """A generated client cannot know a record's version, and a real one makes
    a new key for each new request."""
    drop_header(case, "if-match")
    if drop_header(case, "idempotency-key"):
        case.headers["Idempotency-Key"] = str(uuid.uuid4())


def takes_input(operation: Any) -> bool:
    parts = (operation.path_parameters, operation.query, operation.headers, operation.body)
    return any(len(part) for part in parts)


def document_of(app: Any) -> Any:
    """The app's schema as schemathesis reads it. Each role's own key is sent
    with every request, so schemathesis neither generates nor negates the
    Authorization header: a negation it made there would be overwritten by the
    key, leaving a valid request counted as an invalid one. Missing, malformed
    and other roles' keys are tested apart (test_api_access, test_hostile_input)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(with_security_parameters=False)
    return schema


def failures_of(app: Any, token: str, real: dict[str, str], examples: int) -> dict[str, str]:
    schema = document_of(app)
    headers = {"Authorization": f"Bearer {token}"}
    # An operation the OpenAPI document describes badly raises here, failing the test.
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 40
    failures: dict[str, str] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode is GenerationMode.NEGATIVE and not takes_input(operation):
                continue  # nothing a client sends could be invalid (GET /health)
            try:
                checker(operation, mode, real, headers, examples)()
            except (AssertionError, FailureGroup) as error:  # all operations, all failures
                failures[f"{operation.label} ({mode.value})"] = str(error)[:2000]
    return failures


def test_no_generated_request_of_an_admin_gets_a_server_error_or_breaks_the_schema(
    ledger: TicketLedger,
) -> None:
    app, tokens = make_app(ledger, followers=False)
    real = existing_records(ledger)
    failures = failures_of(app, tokens["admin"], real, EXAMPLES_PER_OPERATION)
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


@pytest.mark.parametrize("role", ["agent", "requester", "auditor", "billing"])
def test_no_generated_request_of_another_role_gets_a_server_error_or_breaks_the_schema(
    role: str, tmp_path: Path, clock: ManualClock
) -> None:
    ledger = TicketLedger(database_url=f"sqlite:///{tmp_path / 'ledger.db'}", clock=clock)
    app, tokens = make_app(ledger, followers=False)
    real = existing_records(ledger)
    failures = failures_of(app, tokens[role], real, EXAMPLES_PER_OTHER_ROLE)
    ledger.close()
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def test_linked_sequences_of_generated_requests_break_no_rule_of_the_schema(
    ledger: TicketLedger, database_url: str, tmp_path: Path
) -> None:
    """schemathesis' stateful phase: calls chained by the links it finds in the
    document (a ticket opened, then the number it answers acted on). Each
    scenario runs on a desk of its own, served by the same app: Hypothesis
    runs the first steps of a scenario again when it explores from them, and
    on a ledger shared by every scenario the same request could meet another
    state (a requester an earlier scenario authorised answers 409), which it
    reports as its data generation being flaky."""
    app, _ = make_app(ledger, followers=False)
    machine = document_of(app).as_state_machine()
    steps: list[int] = []
    scenarios = ScenarioDesks(database_url, tmp_path, ledger.clock)

    class Desk(machine):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            self.ledger, self.close_desk = scenarios.open()
            app.state.services, tokens = make_services(self.ledger, followers=False)
            existing_records(self.ledger)
            self.headers = {"Authorization": f"Bearer {tokens['admin']}"}

        def teardown(self) -> None:
            self.close_desk()

        def before_call(self, case: Any) -> None:
            aimed_at_real_records(case)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": self.headers}

        def validate_response(self, response: Any, case: Any, *_: Any, **kwargs: Any) -> None:
            steps.append(response.status_code)
            case.validate_response(
                response, excluded_checks=[positive_data_acceptance], transport_kwargs=kwargs
            )
            if case.meta is not None and case.meta.generation.mode.is_positive:
                check_valid_request_accepted(response)

    Desk.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
    )
    successes = sum(1 for status in steps if status < 300)
    answers = dict(sorted(Counter(steps).items()))
    print(
        f"schemathesis (stateful): {scenarios.opened} scenarios, {len(steps)} calls, "
        f"answers {answers}, failures 0"
    )
    assert successes > 0


@dataclass
class ScenarioDesks:
    """An empty ledger for each scenario, beside the test's own: a file on
    SQLite, a schema on PostgreSQL."""

    database_url: str
    place: Path
    clock: Any
    opened: int = 0

    def open(self) -> tuple[TicketLedger, Callable[[], None]]:
        self.opened += 1
        if self.database_url.startswith("sqlite"):
            path = self.place / f"scenario-{self.opened}.db"
            url, drop = f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
        else:
            schema = f"s_{uuid.uuid4().hex[:16]}"
            admin_sql(f'CREATE SCHEMA "{schema}"')
            url = postgres_schema_url(schema)
            drop = lambda: admin_sql(f'DROP SCHEMA "{schema}" CASCADE')
        desk = TicketLedger(database_url=url, clock=self.clock)

        def close() -> None:
            desk.close()
            drop()

        return desk, close
