from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"

    def ready(self) -> None:
        from identity import checks  # noqa: F401 - registers the system checks
        from identity.registers import get_adapter

        # Every process (web, worker, management command) refuses to start with a register
        # adapter that does not exist: an officer must never find out at the counter.
        get_adapter()
