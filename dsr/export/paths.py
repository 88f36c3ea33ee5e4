"""Where each category's files go, relative to the request prefix (DESIGN.md §4) and in the scratch area."""


def project_dir(project_id: str) -> str:
    return f"projects/{project_id}"


def project_json(project_id: str) -> str:
    return f"{project_dir(project_id)}/project.json"


def iteration_json(project_id: str, iteration_id: str) -> str:
    return f"{project_dir(project_id)}/iterations/{iteration_id}.json"


def image_performances_jsonl(project_id: str, iteration_id: str) -> str:
    return f"{project_dir(project_id)}/iterations/{iteration_id}.image-performances.jsonl"


def tags_json(project_id: str) -> str:
    return f"{project_dir(project_id)}/tags.json"


def image_stem(project_id: str, image_id: str) -> str:
    """Image file path without its extension, which comes from the source's content type."""
    return f"{project_dir(project_id)}/images/{image_id}"


def images_jsonl(project_id: str) -> str:
    return f"{project_dir(project_id)}/images.jsonl"


def coco_json(project_id: str) -> str:
    return f"{project_dir(project_id)}/annotations.coco.json"


def exported_models_json(project_id: str) -> str:
    return f"{project_dir(project_id)}/exported_models.json"


def model_stem(project_id: str, iteration_id: str, platform: str, flavor: str | None) -> str:
    name = f"{iteration_id}-{platform}" + (f"-{flavor}" if flavor else "")
    return f"{project_dir(project_id)}/exported_models/{name}"


def predictions_jsonl(project_id: str) -> str:
    return f"{project_dir(project_id)}/predictions.jsonl"


def prediction_image_stem(project_id: str, prediction_id: str) -> str:
    return f"{project_dir(project_id)}/predictions/{prediction_id}"


def work_prefix(request_id: str) -> str:
    """Scratch area of a request (partial listings); outside the export prefix, removed when done."""
    return f".work/{request_id}"


def image_part(project_id: str, set_key: str, chunk: int) -> str:
    return f"{project_id}/images/{set_key}/{chunk:06d}.jsonl"


def image_part_count(project_id: str, set_key: str, chunk: int) -> str:
    """`{"count": n}` written after an image part file."""
    return f"{project_id}/images/{set_key}/{chunk:06d}.count.json"


def prediction_part(project_id: str, chunk: int) -> str:
    return f"{project_id}/predictions/{chunk:06d}.jsonl"
