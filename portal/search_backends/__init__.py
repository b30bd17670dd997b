"""Search backends chosen per deployment by dotted path (WAGTAILSEARCH_BACKENDS)."""
