"""Give the "Content editor" staff group (name agreed in identity/constants.py) the right to
maintain the catalogue in the Wagtail admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Content editor"
CODENAMES = ["add_procedure", "change_procedure", "delete_procedure", "view_procedure"]


def grant(apps, schema_editor):
    # Permissions are normally created after the whole migrate run; create them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=GROUP)
    permissions = list(Permission.objects.filter(
        content_type__app_label="catalogue", codename__in=CODENAMES))
    permissions += list(Permission.objects.filter(
        content_type__app_label="wagtailadmin", codename="access_admin"))
    group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(*group.permissions.filter(
            content_type__app_label="catalogue", codename__in=CODENAMES))


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
