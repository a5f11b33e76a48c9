"""The rxcheck HTTP API (FastAPI): `create_app` builds the application, `serve` runs it with uvicorn."""
