"""Function names that one module starts and another registers: one constant each, never scattered literals."""

DATA_REQUEST_ORCHESTRATOR = "data_request"  # orchestrators/data_request.py; started by every trigger
