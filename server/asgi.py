"""ASGI entry point for uvicorn: ``uvicorn server.asgi:app``. Settings come from the environment."""

from server.app import create_app

app = create_app()
