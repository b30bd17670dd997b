"""Errors of the catalogue app."""

from core.errors import ValidationFailed


class CatalogueFileInvalid(ValidationFailed):
    """The catalogue data file cannot be loaded; `details` maps procedure codes (or `file`)
    to the problems found. Nothing was written."""

    code = "catalogue_file_invalid"
