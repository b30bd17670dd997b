from django.apps import AppConfig
from django.core import checks


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments.providers import load_providers, registry

        load_providers()

        @checks.register("payments")
        def check_providers(app_configs, **kwargs):  # type: ignore[no-untyped-def]
            return registry.check_config()

        @checks.register("payments", deploy=True)
        def check_stripe_deploy(app_configs, **kwargs):  # type: ignore[no-untyped-def]
            from payments.providers.stripe import check_not_localstripe

            return check_not_localstripe()
