"""Aggregates, events and pure rules. Imports only the standard library,
eventsourcing.domain, pydantic and holidays: no database, no HTTP."""
