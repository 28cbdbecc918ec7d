import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_portal.settings.local")
application = get_wsgi_application()
# The apps, models and settings just loaded live as long as the worker: moved out of the cyclic collector's
# reach, so its occasional full pass does not walk them again in the middle of a request.
gc.freeze()
