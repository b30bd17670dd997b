"""`manage.py load_catalogue [--file PATH] [--overwrite-edits]`: load the catalogue file."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalogue.errors import CatalogueFileInvalid
from catalogue.services import DEFAULT_CATALOGUE_FILE, catalogue_load, catalogue_read


class Command(BaseCommand):
    help = ("Create or update the procedures of the catalogue file (all or nothing) and "
            "report how many were created, updated or unchanged.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=str(DEFAULT_CATALOGUE_FILE),
                            help="Catalogue file to load (default: the bundled one).")
        parser.add_argument("--overwrite-edits", action="store_true",
                            help="Also overwrite procedures edited in the admin since the "
                                 "last load.")

    def handle(self, *args, file: str, overwrite_edits: bool, **options) -> None:
        try:
            report = catalogue_load(data=catalogue_read(file), overwrite_edits=overwrite_edits)
        except CatalogueFileInvalid as exc:
            lines = [str(exc.message)]
            for where, problems in exc.details.items():
                lines.extend(f"  {where}: {problem}" for problem in problems)
            raise CommandError("\n".join(lines)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Catalogue version {report.version}: {len(report.created)} created, "
            f"{len(report.updated)} updated, {len(report.unchanged)} unchanged."))
        if report.kept:
            self.stdout.write(self.style.WARNING(
                f"{len(report.kept)} kept as edited in the admin (use --overwrite-edits to "
                f"replace them): {', '.join(report.kept)}"))
        if report.not_in_file:
            self.stdout.write(self.style.WARNING(
                f"{len(report.not_in_file)} in the database but not in the file, left "
                f"untouched: {', '.join(report.not_in_file)}"))
