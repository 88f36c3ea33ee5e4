"""Data-subject request logic with no Functions imports: requests, settings, plans, blob sink, manifest."""
