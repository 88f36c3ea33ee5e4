"""Failure texts shaped as Azure's: what a failed activity, orchestration or host check looks like there.

On Azure a Python activity's exception reaches the host as an RpcException whose message is the worker's
"Result: Failure\\nException: <type>: <message>\\nStack: <traceback>"; the Durable extension's TaskActivityShim
records `Activity function '<name>' failed: <that message>` as the TaskFailed reason and the .NET exception,
serialized by Newtonsoft with its type names (Utils.SerializeCause), as the details: kilobytes with two stack
traces. The Python SDK raises `Exception(f"{Reason} \\n {Details}")` into the orchestrator. An orchestration
that fails keeps `Orchestrator function '<name>' failed: <error>` as its output (DTFx FailOrchestration keeps
the exception message; OutOfProcOrchestrationShim's details are "Message: <error>, StackTrace: <.NET stack>").
"""

from __future__ import annotations

import json
import traceback

RPC_EXCEPTION = "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException"
HOST_STACK = (
    "   at Microsoft.Azure.WebJobs.Script.Description.WorkerFunctionInvoker.InvokeCore(Object[] parameters, "
    "FunctionInvocationContext context) in "
    "/_/src/WebJobs.Script/Description/Workers/WorkerFunctionInvoker.cs:line 101\n"
    "   at Microsoft.Azure.WebJobs.Script.Description.FunctionInvokerBase.Invoke(Object[] parameters) in "
    "/_/src/WebJobs.Script/Description/FunctionInvokerBase.cs:line 82\n"
    "   at Microsoft.Azure.WebJobs.Script.Description.FunctionGenerator.Coerce[T](Task`1 src) in "
    "/_/src/WebJobs.Script/Description/FunctionGenerator.cs:line 225\n"
    "   at Microsoft.Azure.WebJobs.Host.Executors.FunctionInvoker`2.InvokeAsync(Object instance, Object[] arguments) "
    "in D:\\a\\_work\\1\\s\\src\\Microsoft.Azure.WebJobs.Host\\Executors\\FunctionInvoker.cs:line 52\n"
    "   at Microsoft.Azure.WebJobs.Host.Executors.FunctionExecutor.InvokeWithTimeoutAsync(IFunctionInvoker invoker, "
    "ParameterHelper parameterHelper, CancellationTokenSource timeoutTokenSource, CancellationTokenSource "
    "functionCancellationTokenSource, Boolean throwOnTimeout, TimeSpan timerInterval, IFunctionInstance instance) "
    "in D:\\a\\_work\\1\\s\\src\\Microsoft.Azure.WebJobs.Host\\Executors\\FunctionExecutor.cs:line 581"
)
SHIM_STACK = (
    "   at Microsoft.Azure.WebJobs.Extensions.DurableTask.OutOfProcOrchestrationShim.ScheduleDurableTaskEvents("
    "OrchestrationInvocationResult result) in /_/src/WebJobs.Extensions.DurableTask/Listener/"
    "OutOfProcOrchestrationShim.cs:line 93\n"
    "   at Microsoft.Azure.WebJobs.Extensions.DurableTask.TaskOrchestrationShim.InvokeUserCodeAndHandleResults("
    "RegisteredFunctionInfo orchestratorInfo, DurableOrchestrationContext context) in /_/src/"
    "WebJobs.Extensions.DurableTask/Listener/TaskOrchestrationShim.cs:line 150"
)


class FunctionTimeout(Exception):
    """The host stopped an execution after host.json's `functionTimeout` (the host's FunctionTimeoutException:
    "Timeout value of 00:30:00 was exceeded by function: <name>")."""

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__(f"Timeout value of {timespan(seconds)} was exceeded by function: {name}")


def timespan(seconds: float) -> str:
    """A .NET TimeSpan's text: `hh:mm:ss`, with `d.` before and `.fffffff` after when not zero."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, whole = divmod(rest, 60)
    text = f"{int(hours):02d}:{int(minutes):02d}:{int(whole):02d}"
    if whole != int(whole):
        text += f".{round((whole - int(whole)) * 10**7):07d}"
    return f"{int(days)}.{text}" if days else text


def worker_message(exc: BaseException) -> str:
    """The host's RpcException message for a Python exception: result, exception and Python stack."""
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[1:-1]).rstrip()
    return f"Result: Failure\nException: {type(exc).__name__}: {exc}\nStack: {stack}"


def activity_reason(name: str, exc: BaseException) -> str:
    if isinstance(exc, FunctionTimeout):  # the host's own exception: no worker result
        return f"Activity function '{name}' failed: {exc}"
    return f"Activity function '{name}' failed: {worker_message(exc)}"


def activity_details(exc: BaseException) -> str:
    """The RpcException as Newtonsoft serializes a .NET exception (Utils.SerializeCause)."""
    message = worker_message(exc)
    return json.dumps({
        "$type": f"{RPC_EXCEPTION}, Microsoft.Azure.WebJobs.Script",
        "IsUserException": False,
        "RemoteStackTrace": message.split("\nStack: ", 1)[-1],
        "RemoteMessage": f"{type(exc).__name__}: {exc}",
        "RemoteTypeName": None,
        "ClassName": RPC_EXCEPTION,
        "Message": message,
        "Data": {"$type": "System.Collections.ListDictionaryInternal, System.Private.CoreLib"},
        "InnerException": None,
        "HelpURL": None,
        "StackTraceString": HOST_STACK,
        "RemoteStackTraceString": None,
        "RemoteStackIndex": 0,
        "ExceptionMethod": None,
        "HResult": -2146233088,
        "Source": "System.Private.CoreLib",
        "WatsonBuckets": None,
    })


def orchestration_details(error: str) -> str:
    """OrchestrationFailureException's details for an out-of-process orchestrator's error."""
    return f"Message: {error}, StackTrace: {SHIM_STACK}"


def custom_status_too_large(serialized: str, limit_kb: int = 16) -> str | None:
    """The extension's refusal of a custom status over `limit_kb` of UTF-16 JSON, or None when it fits."""
    size_kb = int(len(serialized.encode("utf-16-le")) / 1024.0)
    if size_kb <= limit_kb:
        return None
    return (f"The UTF-16 size of the JSON-serialized payload must not exceed {limit_kb} KB. "
            f"The current payload size is {size_kb} KB.")
