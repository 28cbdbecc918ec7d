from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts: invitations, sign-in checks and the account audit trail"

    def ready(self) -> None:
        from . import brake, sessions  # noqa: F401  (signal receivers)
