"""The application service and its storage: the only place that saves events."""
