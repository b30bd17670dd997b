from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Guichet core"

    def ready(self) -> None:
        from core.logging import configure_structlog

        configure_structlog()
