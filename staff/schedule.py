"""Beat entries for staff management, merged into CELERY_BEAT_SCHEDULE by the settings."""

BEAT_SCHEDULE = {
    "staff-invitations-sweep": {"task": "staff.invitations_sweep", "schedule": 300.0},
}
