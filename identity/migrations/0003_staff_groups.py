"""The staff roles of the contract, as groups with access to the back office."""

from django.db import migrations

GROUPS = [
    "Local Registration Officer - activation code",
    "Municipal access manager",
    "Case agent",
    "Case supervisor",
    "Counter agent",
    "Content editor",
]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    access_admin = Permission.objects.filter(content_type__app_label="wagtailadmin",
                                             codename="access_admin").first()
    for name in GROUPS:
        group, _created = Group.objects.get_or_create(name=name)
        if access_admin is not None:
            group.permissions.add(access_admin)


class Migration(migrations.Migration):

    dependencies = [
        ("identity", "0002_activation_digitalkey_emailchallenge_and_more"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
