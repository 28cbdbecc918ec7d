from django.apps import AppConfig


class InterventionsConfig(AppConfig):
    name = "interventions"

    def ready(self) -> None:
        # The dashboards (reporting, a lower layer) read casework counts through this registration.
        from reporting.casework import reader_register
        from reporting.effect import action_reader_register

        from .selectors import case_actions, casework_counts

        reader_register("interventions", casework_counts)
        action_reader_register("interventions", case_actions)
