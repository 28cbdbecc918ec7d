import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_portal.settings.local")
application = get_wsgi_application()


def _task_sending_loaded() -> None:
    """What the first task sent from a web worker (a parent's report, a letter batch) would otherwise load in the
    middle of that request: the broker's transport (an import of about a tenth of a second) and the result
    backend. Loaded here, so once, in gunicorn's master before its workers are forked (gunicorn.conf.py), not in
    every worker and again in each replacement. Nothing connects: each worker opens its own connection when it
    first sends."""
    from .celery import app as celery_app

    celery_app.amqp  # noqa: B018 - built on first use
    celery_app.backend  # noqa: B018 - as above
    celery_app.connection_for_write().release()


_task_sending_loaded()
# The apps, models and settings just loaded live as long as the worker: moved out of the cyclic collector's
# reach, so its occasional full pass does not walk them again in the middle of a request.
gc.freeze()
