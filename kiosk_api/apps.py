from django.apps import AppConfig


class KioskApiConfig(AppConfig):
    name = "kiosk_api"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from catalogue.models import Procedure
        from kiosk_api.selectors import catalogue_changed

        # Cache invalidation only (the list terminals show): no business rule hangs on it.
        post_save.connect(catalogue_changed, sender=Procedure,
                          dispatch_uid="kiosk_api.catalogue_changed.saved")
        post_delete.connect(catalogue_changed, sender=Procedure,
                            dispatch_uid="kiosk_api.catalogue_changed.deleted")
