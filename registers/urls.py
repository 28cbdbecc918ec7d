"""Register routes: marking and the office board, school set-up and imports, the admission register."""

from .urls_admission import urlpatterns as admission
from .urls_marking import urlpatterns as marking
from .urls_setup import urlpatterns as setup

app_name = "registers"
urlpatterns = [*marking, *setup, *admission]
