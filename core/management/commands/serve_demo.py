import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.demo import load_logins


class Command(BaseCommand):
    help = "Serve the portal for development, after printing the URL and the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, host: str, port: int, **options):
        from core.devservices import start_dev_services

        start_dev_services()
        base = f"http://{host}:{port}"
        self.stdout.write(self.style.SUCCESS(f"\nGuichet is served at {base}/\n"))
        self.stdout.write("Demo logins (generated for this checkout, kept in var/):")
        for username, login in sorted(load_logins().items()):
            note = f"  ({login['note']})" if login.get("note") else ""
            self.stdout.write(f"  {login['role']:<34} {base}{login['url']:<22} "
                              f"{username} / {login['password']}{note}")
        self.stdout.write("")
        call_command("runserver", f"{host}:{port}", use_reloader=False,
                     use_threading=True, skip_checks=not settings.DEBUG)
