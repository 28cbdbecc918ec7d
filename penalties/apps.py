from django.apps import AppConfig


class PenaltiesConfig(AppConfig):
    name = "penalties"

    def ready(self) -> None:
        # The dashboards (reporting, a lower layer) read notice and referral counts through this registration.
        from reporting.casework import reader_register

        from .selectors import penalty_counts

        reader_register("penalties", penalty_counts)
