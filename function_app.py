"""The Functions app: builds the DFApp and registers one blueprint per module, nothing else."""

import azure.durable_functions as df
import azure.functions as func

from activities import (
    account,
    deletion,
    exported_models,
    images,
    iterations,
    manifest,
    predictions,
    projects,
    receipt,
    subject,
    tags,
)
from orchestrators import data_request, delete_project, export_project, subject_project
from triggers import housekeeping, http_api, keys, schedules, service_bus

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for module in (http_api, service_bus, schedules, housekeeping, data_request, export_project, delete_project,
               subject_project, account, projects, iterations, tags, images, exported_models, predictions, manifest,
               deletion, receipt, subject, keys):
    app.register_functions(module.bp)
