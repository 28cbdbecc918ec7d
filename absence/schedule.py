"""Beat entries for absence follow-up, merged into CELERY_BEAT_SCHEDULE by the settings.

Families are told once a day that an absence is unexplained (the service is idempotent), so running
every quarter of an hour through the school day catches each year group's register close. The
message sweeper re-sends what a Redis outage or a dead worker left waiting; claims make a duplicate
harmless, so running it every minute costs one indexed query.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "absence-messages-sweep": {"task": "absence.messages_sweep", "schedule": 60.0},
    "absence-unexplained-notify": {
        "task": "absence.fan_out",
        "schedule": crontab(minute="*/15", hour="8-15", day_of_week="mon-fri"),
        "args": ["unexplained_notify"],
    },
    "absence-medical-evidence": {
        "task": "absence.fan_out",
        "schedule": crontab(minute=0, hour=18, day_of_week="mon-fri"),
        "args": ["medical_evidence_sweep"],
    },
}
