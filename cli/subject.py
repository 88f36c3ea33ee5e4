"""The command line's part of subject requests: `--subject KEY=VALUE`, `--image-ids`, `--resources`, the
predictions options, and what the summary says about the search and the models trained on the subject's images."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

SHOWN_MODELS = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subject options of `export` and `delete`."""
    group = parser.add_argument_group("one data subject (instead of whole categories)")
    group.add_argument("--subject", action="append", metavar="KEY=VALUE", default=None,
                       help="image metadata the subject's images carry (repeat for several pairs; all must match)")
    group.add_argument("--image-ids", nargs="+", metavar="ID", default=None, help="or: the subject's image ids")
    group.add_argument("--resources", nargs="+", metavar="ALIAS", default=None,
                       help='resources to search (default with a subject: every configured one; "*" for all)')
    group.add_argument("--predictions-application", metavar="NAME", default=None,
                       help="also the stored predictions sent with this application name")
    group.add_argument("--predictions-from", metavar="TIME", default=None, help="... created at or after (ISO-8601)")
    group.add_argument("--predictions-to", metavar="TIME", default=None, help="... created at or before (ISO-8601)")


def body_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The subject fields of the POST body; ValueError for a `--subject` that is not KEY=VALUE (the API checks
    everything else, naming the field)."""
    fields: dict[str, Any] = {}
    if args.subject is not None:
        fields["subject"] = {"metadata": _pairs(args.subject)}
    if args.image_ids is not None:
        fields.setdefault("subject", {})["imageIds"] = list(args.image_ids)
    if args.resources is not None:
        fields["resources"] = "*" if args.resources == ["*"] else list(args.resources)
    predictions = {name: value for name, value in (("application", args.predictions_application),
                                                   ("from", args.predictions_from), ("to", args.predictions_to))
                   if value is not None}
    if predictions:
        fields["predictions"] = predictions
    return fields


def _pairs(items: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--subject {item!r}: give KEY=VALUE, e.g. --subject userId=u-123")
        if key in pairs:
            raise ValueError(f"--subject: {key!r} given twice")
        pairs[key] = value
    return pairs


def counted(count: Any, noun: str, plural: str | None = None) -> str:
    """`1 image`, `3 images`: a count with its noun in the right number."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def summary_lines(status: Mapping[str, Any]) -> list[str]:
    """How far the search went, what was found, and the trained models that learned from the subject's images."""
    result: Mapping[str, Any] = status.get("result") or {}
    searched = result.get("searched")
    if not isinstance(searched, Mapping):
        return []
    subject = status.get("subject") if isinstance(status.get("subject"), Mapping) else {}
    selector = (f"metadata {', '.join(subject.get('keys') or [])}" if subject.get("kind") == "metadata"
                else f"{subject.get('imageIds')} image ids")
    lines = [f"Subject ({selector}): searched {counted(searched.get('resources'), 'resource')}, "
             f"{counted(searched.get('projects'), 'project')}; found {counted(searched.get('images'), 'image')} "
             f"({counted(searched.get('imageCopies'), 'copy', 'copies')} in workspaces and trained iterations) in "
             f"{counted(searched.get('projectsWithMatches'), 'project')}"]
    if searched.get("projectsFailed"):
        lines.append(f"  {searched['projectsFailed']} projects could not be searched (see the categories above)")
    lines += impact_lines(result.get("modelImpact") or [], int(result.get("modelImpactTotal") or 0),
                          str(status.get("operation")), bool(status.get("dryRun")))
    return lines


def impact_lines(impact: list[Any], total: int, operation: str, dry_run: bool) -> list[str]:
    """The models trained on the subject's images, and what to do about them."""
    if not total:
        return ["No trained iteration holds the subject's images."]
    if operation == "delete":
        verb = "would still have learned" if dry_run else "still learned"
        were = "trained iteration was" if total == 1 else "trained iterations were"
        head = (f"Model impact: {total} {were} trained on the subject's images; their models "
                f"{verb} from this person's data. Retrain without the images, publish the new iteration, and "
                "unpublish or delete these:")
    else:
        head = f"Trained iterations holding the subject's images ({total}):"
    lines = [head]
    for entry in impact[:SHOWN_MODELS]:
        if isinstance(entry, Mapping):
            published = f", published as {entry['publishName']!r}" if entry.get("publishName") else ""
            lines.append(f"  {entry.get('resource')} / project {entry.get('projectId')}: {entry.get('name')} "
                         f"({entry.get('iterationId')}{published}), {counted(entry.get('images'), 'image')}")
    if total > min(len(impact), SHOWN_MODELS):
        lines.append(f"  … {total - min(len(impact), SHOWN_MODELS)} more (the receipt or plan lists every one)")
    return lines
