# The partial indexes of 0001 listed the final states in set order, which changes between
# processes; they are recreated here with the states sorted, so the migration is stable.
from django.db import migrations, models

FINAL = ["cancelled", "closed", "rejected"]


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [
        migrations.RemoveIndex(model_name="case", name="crm_case_open_dup"),
        migrations.RemoveIndex(model_name="case", name="crm_case_open_sla"),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(condition=models.Q(("state__in", FINAL), _negated=True),
                               fields=["person", "procedure"], name="crm_case_open_dup"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(condition=models.Q(("state__in", FINAL), _negated=True),
                               fields=["sla_due_at"], name="crm_case_open_sla"),
        ),
    ]
