"""Demo set-up of payments for `make run`: the staff groups get their payment permissions,
and the test cards of localstripe are printed."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand

from payments.constants import COUNTER_AGENT_GROUP, SUPERVISOR_GROUP

# Refunds are not granted to a whole group: a supervisor refunds the cases of the
# departments they supervise (crm queues), which needs no extra permission.
GROUP_PERMISSIONS = {
    COUNTER_AGENT_GROUP: ["record_counter_payment"],
    SUPERVISOR_GROUP: ["view_payment_report"],
}

TEST_CARDS = [
    ("4242 4242 4242 4242", "paid"),
    ("4000 0000 0000 0002", "declined"),
]


class Command(BaseCommand):
    help = "Give the demo staff groups their payment permissions and list the test cards."

    def handle(self, *args, **options):
        for group_name, codenames in GROUP_PERMISSIONS.items():
            group, _created = Group.objects.get_or_create(name=group_name)
            perms = Permission.objects.filter(content_type__app_label="payments",
                                              codename__in=codenames)
            group.permissions.add(*perms)
        self.stdout.write("Payments: online payments go to localstripe on loopback. "
                          "Test cards (any future expiry date, any CVC):")
        for number, outcome in TEST_CARDS:
            self.stdout.write(f"  {number}  {outcome}")
