from django.apps import apps
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from core.demo import DEMO_COMMANDS


class Command(BaseCommand):
    help = "Load the catalogue, demo pages, register and accounts. Safe to run twice."

    def handle(self, *args, **options):
        available = get_commands()
        for app_label, command in DEMO_COMMANDS:
            if apps.is_installed(app_label) and available.get(command) == app_label:
                self.stdout.write(f"demo: {command}")
                call_command(command)
