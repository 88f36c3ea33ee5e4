"""The data categories a request covers, and the operations on them."""

from enum import StrEnum


class Operation(StrEnum):
    """What a request does with the data."""

    EXPORT = "export"  # copy every requested category to Blob Storage, with a manifest
    DELETE = "delete"  # erase, verify and sign a receipt


class Category(StrEnum):
    """A kind of Custom Vision data, as listed in DESIGN.md §1."""

    ACCOUNT = "account"
    PROJECTS = "projects"
    ITERATIONS = "iterations"
    ITERATION_PERFORMANCE = "iteration_performance"
    TAGS = "tags"
    IMAGES = "images"
    EXPORTED_MODELS = "exported_models"
    PREDICTIONS = "predictions"


ALL_CATEGORIES: tuple[Category, ...] = tuple(Category)

# Categories that live inside a project (everything but the account): what a project's export covers.
PROJECT_CATEGORIES: tuple[Category, ...] = tuple(c for c in Category if c is not Category.ACCOUNT)


class CategoryStatus(StrEnum):
    """Outcome of one category, as written to the manifest and receipt."""

    COMPLETE = "complete"  # every item handled
    FAILED = "failed"  # an error stopped this category; `error` says why
    SKIPPED = "skipped"  # not applicable or not enabled (e.g. no ARM id for the account)
