"""The HTTP API: the FastAPI app, its dependencies, schemas, problems and routes."""
