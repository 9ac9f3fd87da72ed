"""GET /health: whether the database answers, how far each projection has
come, and what it holds in quarantine.

Anyone may ask (a load balancer has no key); the quarantined items themselves,
with the error each met, are shown only to the desk's operators (admin, agent
and auditor keys), as they name tickets of every customer.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ticketledger.api.http import schemas as s
from ticketledger.api.http.deps import SUPERVISORS, services
from ticketledger.projections.quarantine import is_transient

router = APIRouter()


@router.get(
    "/health",
    tags=["health"],
    summary="Database reachable, each projection's position and lag, quarantined items",
    response_model=s.Health,
    responses={503: {"model": s.Health, "description": "the database does not answer"}},
    # Public: a key is optional and only adds the quarantined items.
    openapi_extra={"security": [{}, {"ApiKey": []}]},
)
def health(request: Request) -> JSONResponse:
    found = services(request)
    try:
        operator = _is_operator(request)
        head = found.ledger.recorder.max_notification_id() or 0
        projections = [
            _projection(request, name, head, operator) for name in found.projector.projections
        ]
    except Exception as error:
        if not is_transient(error):
            raise
        body = s.Health(status="unavailable", database_reachable=False, head=None, projections=[])
        return JSONResponse(
            body.model_dump(mode="json"), status_code=503, headers={"Retry-After": "1"}
        )
    held = any(p.quarantined for p in projections)
    status = "degraded" if held else "ok"
    body = s.Health(status=status, database_reachable=True, head=head, projections=projections)
    return JSONResponse(body.model_dump(mode="json"))


def _is_operator(request: Request) -> bool:
    """A key only decides what is shown: an unknown one counts as none, so
    the answer's status never depends on the key."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    principal = services(request).access.authenticate(token.strip())
    return principal is not None and principal.role in SUPERVISORS


def _projection(request: Request, name: str, head: int, operator: bool) -> s.ProjectionHealth:
    processor = services(request).projector.processor(name)
    position = processor.position()
    held = processor.quarantined()
    items = [s.QuarantinedItem(**e.as_dict()) for e in held] if operator else None
    return s.ProjectionHealth(
        name=name,
        position=position,
        lag=max(head - position, 0),
        quarantined=len(held),
        items=items,
    )
