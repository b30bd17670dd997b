"""On PostgreSQL, case numbers come from one sequence per year, made on first use by a
function, so that intake never runs DDL from Python nor caches what a rollback can undo."""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION crm_next_case_number(year integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    seq text := 'crm_case_ref_' || year::text;
BEGIN
    BEGIN
        RETURN nextval(seq);
    EXCEPTION WHEN undefined_table THEN
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %%I', seq);
        RETURN nextval(seq);
    END;
END;
$$;
"""

DROP = "DROP FUNCTION IF EXISTS crm_next_case_number(integer);"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_remove_case_crm_case_open_dup_and_more")]

    operations = [migrations.RunPython(forwards, backwards)]
