"""An orchestration's runtime status as Durable Functions spells it: one type for the app, the CLI and devhost."""

from enum import StrEnum


class RuntimeStatus(StrEnum):
    """The Durable extension's OrchestrationRuntimeStatus (`runtimeStatus` in its HTTP API and status queries)."""

    PENDING = "Pending"  # scheduled, not started yet
    RUNNING = "Running"
    CONTINUED_AS_NEW = "ContinuedAsNew"  # restarted with new input: still going
    SUSPENDED = "Suspended"  # paused by a client; resumes where it stopped
    COMPLETED = "Completed"
    FAILED = "Failed"
    TERMINATED = "Terminated"  # stopped by a client
    CANCELED = "Canceled"  # defined by the Durable Task Framework, set by no current host: finished if ever seen


# Still going: may be cancelled, keeps its history, blocks a schedule's next slot.
RUNNING_STATUSES: tuple[RuntimeStatus, ...] = (
    RuntimeStatus.PENDING, RuntimeStatus.RUNNING, RuntimeStatus.CONTINUED_AS_NEW, RuntimeStatus.SUSPENDED,
)
# Finished: nothing left to cancel or wait for; its history may be purged.
TERMINAL_STATUSES: tuple[RuntimeStatus, ...] = (
    RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.TERMINATED, RuntimeStatus.CANCELED,
)
# What a purge of finished history filters on: the statuses the Durable purge API takes (Canceled never occurs).
PURGEABLE_STATUSES: tuple[RuntimeStatus, ...] = (
    RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.TERMINATED,
)
