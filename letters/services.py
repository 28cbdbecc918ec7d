"""Writes for letters: requesting a letter writes its row and renders it (WeasyPrint) in a task.

Planned: school letter templates for each stage of the ladder, with PDF rendering in Celery.
"""
