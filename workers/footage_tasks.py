"""Celery tasks for stored footage: retention purge and integrity checks."""
