"""Auditors' tools: chronology, as-of state, integrity verification."""
