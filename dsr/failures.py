"""A bounded, scrubbed reason from a Durable failure text (plain code).

On Azure an activity failure reaches the orchestrator as `Activity function '<name>' failed: Result: Failure
\\nException: <type>: <message>\\nStack: <Python traceback> \\n {<the .NET exception as JSON>}`: kilobytes,
with two stack traces (Durable extension TaskActivityShim + Utils.SerializeCause; the Python SDK raises
`Exception(f"{Reason} \\n {Details}")`). Sub-orchestration failures nest `Orchestrator function '<name>'
failed: ...` around that. Outputs, statuses and receipts keep only where it failed and the exception line.
"""

from __future__ import annotations

import re

from customvision import ASSIGNED_SECRET
from dsr.redact import redact

MAX_REASON = 300
_WHERE = re.compile(r"(Activity|Orchestrator) function '([^']+)' failed: ")
_EXCEPTION = re.compile(r"^Exception: (.+)$", re.MULTILINE)


def failure_reason(text: str, *, limit: int = MAX_REASON) -> str:
    """`<innermost function>: <ExceptionType>: <message>`, secrets redacted, at most `limit` characters."""
    text = str(text)
    places = _WHERE.findall(text)
    found = _EXCEPTION.search(text)
    if found:
        cause = found.group(1)
    else:  # not the worker's shape: the innermost message's first line, without the JSON details
        cause = _WHERE.split(text)[-1] if places else text
        cause = cause.split(" \n ", 1)[0].split("\n", 1)[0]
    reason = " ".join(ASSIGNED_SECRET.sub(r"\1\2REDACTED", redact(cause)).split())
    if places:
        reason = f"{places[-1][1]}: {reason}"
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"
