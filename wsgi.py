"""WSGI entry point: `gunicorn wsgi:app`, and what `flask` finds when run from the repository root."""

from app import create_app

app = create_app()
