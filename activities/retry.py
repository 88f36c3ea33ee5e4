"""Retry policy of activity calls: a module constant, as orchestrators need it deterministic."""

import azure.durable_functions as df

# Transient failures (after the client's own retries) get three more tries, 5 s apart.
ACTIVITY_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=4)
