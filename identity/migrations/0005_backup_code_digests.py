"""Backup codes are kept as digests (identity.services.backup_code_digests), no longer as
typed: the codes stored before are replaced by their digest under the current SECRET_KEY.
They keep working; there is no way back to the plain codes."""

from django.db import migrations


def digest_stored_codes(apps, schema_editor):
    from identity.services import backup_code_digests

    StaticToken = apps.get_model("otp_static", "StaticToken")
    for token in StaticToken.objects.exclude(token__regex=r"^[0-9a-f]{16}$").iterator():
        token.token = backup_code_digests(token.token)[0]
        token.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0004_audit_second_factor_actions"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [
        migrations.RunPython(digest_stored_codes, migrations.RunPython.noop),
    ]
