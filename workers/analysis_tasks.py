"""Celery tasks for video analysis (footage.analyse, footage.sweep_stuck)."""
