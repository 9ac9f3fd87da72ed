"""Read models built from the events (issue: projections)."""
