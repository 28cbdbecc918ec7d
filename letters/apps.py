import logging

from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "letters"

    def ready(self) -> None:
        # WeasyPrint logs every step at INFO; a batch of letters would flood the worker log.
        logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
