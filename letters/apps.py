import logging

from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "letters"

    def ready(self) -> None:
        # WeasyPrint logs every step at INFO; a batch of letters would flood the worker log.
        logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
        # The dashboards (reporting, a lower layer) read letters sent through this registration.
        from reporting.casework import reader_register
        from reporting.effect import action_reader_register

        from .selectors import letters_sent_actions, letters_sent_counts

        reader_register("letters", letters_sent_counts)
        action_reader_register("letters", letters_sent_actions)
