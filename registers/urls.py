"""Register routes: marking and the office board (urls_marking), and school set-up and imports (urls_setup)."""

from .urls_marking import urlpatterns as marking
from .urls_setup import urlpatterns as setup

app_name = "registers"
urlpatterns = [*marking, *setup]
