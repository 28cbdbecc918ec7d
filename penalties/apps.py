from django.apps import AppConfig


class PenaltiesConfig(AppConfig):
    name = "penalties"

    def ready(self) -> None:
        # The dashboards (reporting, a lower layer) read notice and referral counts through this registration.
        from reporting.casework import reader_register
        from reporting.effect import action_reader_register

        from .selectors import notice_to_improve_actions, penalty_counts

        reader_register("penalties", penalty_counts)
        action_reader_register("penalties", notice_to_improve_actions)
