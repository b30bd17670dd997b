from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class SigningConfig(AppConfig):
    name = "signing"
    verbose_name = _("Documents and signatures")

    def ready(self) -> None:
        from signing import backends

        checks.register(lambda app_configs, **kwargs: backends.check_config(), "signing")
