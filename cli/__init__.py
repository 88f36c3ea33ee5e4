"""`dsr` (or `python -m dsr`): submit, follow and cancel data-subject requests through the HTTP API (DESIGN.md §3).

The same commands work against devhost and an Azure Function app. The host and function key come from
`--host`/`--key` or DSR_HOST/DSR_FUNCTION_KEY; the key travels in the `x-functions-key` header only and
is never printed. The API answers a submit with the request's own status link (`GET /api/requests/{id}`),
never Durable's check-status URLs (they carry the durabletask system key).

Exit codes: 0 done; 1 the request failed, was cancelled, or a category failed; 2 the input was refused
(bad arguments, or a 400/404/409/413 problem from the API); 3 the host could not be used (unreachable,
key refused, unexpected answer); 130 interrupted while following (the request keeps running).
"""
