"""Function tools: the ``@tool`` decorator, JSON schemas from type hints, running a call.

A :class:`FunctionTool` wraps a plain (sync or async) Python function. Its parameter schema is
built by pydantic from the function's type hints and defaults; the description is the docstring's
first part and parameter descriptions come from a Google-style ``Args:`` section or a NumPy-style
``Parameters`` section. A parameter annotated :class:`~rtnb.session.tool_context.ToolContext` is
filled by the session and left out of the schema. A tool may need approval before it runs and may
have a timeout. Running a tool never raises for bad input or a failing tool: the model gets an
error text instead (a timeout raises only with ``timeout_behavior="raise_exception"``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_type_hints, overload

import pydantic
from pydantic import BaseModel, ValidationError

from .docstrings import parse_docstring
from .tool_context import BackgroundResult, ToolContext, is_tool_context_annotation

__all__ = [
    "ApprovalFunction",
    "FunctionTool",
    "TimeoutBehavior",
    "TimeoutErrorFunction",
    "ToolOutput",
    "ToolTimeoutError",
    "format_output",
    "function_tool",
    "invalid_arguments_message",
    "maybe_await",
    "parse_docstring",
    "tool",
]

log = logging.getLogger("rtnb.session")

ToolFunction = Callable[..., Any] | Callable[..., Awaitable[Any]]
ApprovalFunction = Callable[[ToolContext[Any], dict[str, Any]], bool | Awaitable[bool]]
"""``needs_approval(ctx, arguments) -> bool``: sync or async; ``arguments`` are validated."""
TimeoutBehavior = Literal["error_as_result", "raise_exception"]
TimeoutErrorFunction = Callable[[ToolContext[Any], "ToolTimeoutError"], str | Awaitable[str]]
"""``timeout_error_function(ctx, error) -> str``: the output the model gets on a timeout."""
_TIMEOUT_BEHAVIORS: tuple[TimeoutBehavior, ...] = ("error_as_result", "raise_exception")


class ToolTimeoutError(TimeoutError):
    """A tool call ran longer than its tool's ``timeout``."""

    def __init__(self, tool_name: str, timeout: float) -> None:
        super().__init__(f"Tool {tool_name!r} timed out after {timeout:g} seconds.")
        self.tool_name = tool_name
        self.timeout = timeout


@dataclass(frozen=True)
class ToolOutput:
    """What a finished tool call sends back to the model."""

    text: str
    background: bool = False
    """True when the tool returned :func:`~rtnb.session.tool_context.background_result`."""


def _strip_titles(schema: Any) -> Any:
    """Remove pydantic's generated ``title`` annotations (not properties named ``title``)."""
    if isinstance(schema, dict):
        return {
            key: (
                value if key in ("default", "enum", "const", "examples") else _strip_titles(value)
            )
            for key, value in schema.items()
            if not (key == "title" and isinstance(value, str))
        }
    if isinstance(schema, list):
        return [_strip_titles(value) for value in schema]
    return schema


def _arguments_model(
    func: Callable[..., Any], docs: dict[str, str]
) -> tuple[type[BaseModel], str | None]:
    """A pydantic model with one field per parameter of ``func``, and the name of the
    :class:`ToolContext` parameter (which gets no field), if any."""
    signature = inspect.signature(func)
    try:
        hints = get_type_hints(func)
    except Exception:  # unresolvable forward references: fall back to raw annotations
        hints = {}
    fields: dict[str, Any] = {}
    context_param: str | None = None
    for name, param in signature.parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise TypeError(f"tool {func.__name__!r}: *args and **kwargs are not supported")
        annotation = hints.get(name, param.annotation)
        if is_tool_context_annotation(annotation):
            if context_param is not None:
                raise TypeError(f"tool {func.__name__!r}: only one ToolContext parameter allowed")
            context_param = name
            continue
        if annotation is inspect.Parameter.empty:
            annotation = Any
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, pydantic.Field(default, description=docs.get(name)))
    model_name = "".join(part.title() for part in func.__name__.split("_")) + "Args"
    return pydantic.create_model(model_name, **fields), context_param


def format_output(value: Any) -> str:
    """Turn a tool's return value into the text sent to the model."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def invalid_arguments_message(tool_name: str, exc: ValidationError) -> str:
    """The text the model gets when its arguments for ``tool_name`` do not validate."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
        for err in exc.errors()
    )
    return f"Invalid arguments for tool {tool_name!r}: {problems}"


async def maybe_await(value: Any) -> Any:
    """``value``, awaited first if it is awaitable (for callbacks that may be sync or async)."""
    return await value if inspect.isawaitable(value) else value


@dataclass
class FunctionTool:
    """A Python function the model can call.

    Build one with :func:`tool`. ``params_json_schema`` is the JSON schema of the arguments object;
    :meth:`to_wire` gives the ``session.update`` tool definition. See :func:`tool` for
    ``needs_approval`` and the timeout options.
    """

    name: str
    description: str
    params_json_schema: dict[str, Any]
    func: ToolFunction = field(repr=False)
    args_model: type[BaseModel] = field(repr=False)
    context_param: str | None = None
    """The parameter that receives the :class:`ToolContext`, if the function has one."""
    needs_approval: bool | ApprovalFunction = False
    timeout: float | None = None
    timeout_behavior: TimeoutBehavior = "error_as_result"
    timeout_error_function: TimeoutErrorFunction | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"tool {self.name!r}: timeout must be a positive number of seconds")
        if self.timeout_behavior not in _TIMEOUT_BEHAVIORS:
            raise ValueError(
                f"tool {self.name!r}: timeout_behavior must be one of {_TIMEOUT_BEHAVIORS}, "
                f"got {self.timeout_behavior!r}"
            )
        if not isinstance(self.needs_approval, bool) and not callable(self.needs_approval):
            raise TypeError(f"tool {self.name!r}: needs_approval must be a bool or a callable")

    @property
    def sees_context(self) -> bool:
        """True if the function or one of its callbacks receives the :class:`ToolContext`."""
        return (
            self.context_param is not None
            or callable(self.needs_approval)
            or self.timeout_error_function is not None
        )

    def to_wire(self) -> dict[str, Any]:
        """The Realtime ``function`` tool definition."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.params_json_schema,
        }

    def validate(self, arguments: str | dict[str, Any]) -> dict[str, Any]:
        """Parse and validate JSON arguments; raise :class:`pydantic.ValidationError` if invalid."""
        if isinstance(arguments, str):
            parsed = self.args_model.model_validate_json(arguments.strip() or "{}")
        else:
            parsed = self.args_model.model_validate(arguments)
        return {name: getattr(parsed, name) for name in type(parsed).model_fields}

    async def requires_approval(self, context: ToolContext[Any], arguments: dict[str, Any]) -> bool:
        """Whether this call must be approved before it runs.

        A ``needs_approval`` callable that raises counts as "yes": nothing unapproved runs.
        """
        rule = self.needs_approval
        if isinstance(rule, bool):
            return rule
        try:
            return bool(await maybe_await(rule(context, dict(arguments))))
        except Exception:
            log.exception("needs_approval of tool %r failed; asking for approval", self.name)
            return True

    async def execute(self, arguments: dict[str, Any], context: ToolContext[Any]) -> ToolOutput:
        """Run the tool with validated ``arguments`` (from :meth:`validate`), within its timeout.

        Sync functions run in a worker thread so a slow tool never stalls the event loop (on a
        timeout the thread is abandoned, not stopped). Raises :class:`ToolTimeoutError` on a
        timeout when ``timeout_behavior`` is ``"raise_exception"``; otherwise never raises
        except on cancellation.
        """
        if self.timeout is None:
            return await self._call(arguments, context)
        try:
            return await asyncio.wait_for(self._call(arguments, context), self.timeout)
        except asyncio.TimeoutError:
            error = ToolTimeoutError(self.name, self.timeout)
        if self.timeout_behavior == "raise_exception":
            raise error
        return ToolOutput(await self._timeout_message(context, error))

    async def run(
        self, arguments: str | dict[str, Any], context: ToolContext[Any] | None = None
    ) -> ToolOutput:
        """Validate ``arguments`` then :meth:`execute`; invalid arguments give an error text.

        Without ``context``, a tool that takes a :class:`ToolContext` gets an empty one.
        """
        try:
            kwargs = self.validate(arguments)
        except ValidationError as exc:
            return ToolOutput(invalid_arguments_message(self.name, exc))
        if context is None:
            text = arguments if isinstance(arguments, str) else format_output(arguments)
            context = ToolContext(None, [], "", self.name, text)
        return await self.execute(kwargs, context)

    async def invoke(
        self, arguments: str | dict[str, Any], context: ToolContext[Any] | None = None
    ) -> str:
        """Run the tool (as :meth:`run`) and return its output text."""
        return (await self.run(arguments, context)).text

    async def __call__(self, **kwargs: Any) -> str:
        """Call the tool with keyword arguments (validated like a model call)."""
        return await self.invoke(kwargs)

    async def _call(self, kwargs: dict[str, Any], context: ToolContext[Any]) -> ToolOutput:
        if self.context_param is not None:
            kwargs = {**kwargs, self.context_param: context}
        try:
            if inspect.iscoroutinefunction(self.func):
                result = await self.func(**kwargs)
            else:
                result = await maybe_await(await asyncio.to_thread(self.func, **kwargs))
        except Exception as exc:
            return ToolOutput(f"Error running tool {self.name!r}: {type(exc).__name__}: {exc}")
        if isinstance(result, BackgroundResult):
            return ToolOutput(format_output(result.output), background=True)
        return ToolOutput(format_output(result))

    async def _timeout_message(self, context: ToolContext[Any], error: ToolTimeoutError) -> str:
        if self.timeout_error_function is None:
            return str(error)
        try:
            return format_output(await maybe_await(self.timeout_error_function(context, error)))
        except Exception:
            log.exception("timeout_error_function of tool %r failed", self.name)
            return str(error)


def function_tool(
    func: ToolFunction,
    *,
    name: str | None = None,
    description: str | None = None,
    needs_approval: bool | ApprovalFunction = False,
    timeout: float | None = None,
    timeout_behavior: TimeoutBehavior = "error_as_result",
    timeout_error_function: TimeoutErrorFunction | None = None,
) -> FunctionTool:
    """Wrap ``func`` in a :class:`FunctionTool` (the non-decorator form of :func:`tool`)."""
    if not callable(func):
        raise TypeError(f"a tool must be a function, got {type(func).__name__}")
    doc_description, param_docs = parse_docstring(inspect.getdoc(func))
    model, context_param = _arguments_model(func, param_docs)
    schema = _strip_titles(model.model_json_schema())
    schema.setdefault("properties", {})
    return FunctionTool(
        name=name or func.__name__,
        description=description if description is not None else doc_description,
        params_json_schema=schema,
        func=func,
        args_model=model,
        context_param=context_param,
        needs_approval=needs_approval,
        timeout=timeout,
        timeout_behavior=timeout_behavior,
        timeout_error_function=timeout_error_function,
    )


@overload
def tool(func: ToolFunction, /) -> FunctionTool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    needs_approval: bool | ApprovalFunction = False,
    timeout: float | None = None,
    timeout_behavior: TimeoutBehavior = "error_as_result",
    timeout_error_function: TimeoutErrorFunction | None = None,
) -> Callable[[ToolFunction], FunctionTool]: ...


def tool(
    func: ToolFunction | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    needs_approval: bool | ApprovalFunction = False,
    timeout: float | None = None,
    timeout_behavior: TimeoutBehavior = "error_as_result",
    timeout_error_function: TimeoutErrorFunction | None = None,
) -> FunctionTool | Callable[[ToolFunction], FunctionTool]:
    """Turn a function into a tool the agent can call.

    Use as ``@tool`` or ``@tool(name=..., ...)``. The JSON schema comes from the type hints; the
    description from the docstring unless given. A parameter annotated ``ToolContext`` (any name)
    receives the call's :class:`ToolContext` and is not part of the schema. Return
    ``background_result(output)`` to send the output without asking the model to respond.

    Options:
        needs_approval: ``True``, or ``needs_approval(ctx, arguments) -> bool`` (sync or async;
            ``ctx`` is the call's :class:`ToolContext`, ``arguments`` the validated arguments
            by name). A call that needs approval waits for ``session.approve``/``reject``.
        timeout: Seconds a call may run (``None``: no limit).
        timeout_behavior: ``"error_as_result"`` (default) sends a timeout message as the output;
            ``"raise_exception"`` reports a :class:`ToolTimeoutError` as an ``error`` session
            event and sends no output for the call.
        timeout_error_function: ``(ctx, error) -> str`` (sync or async) builds the timeout
            message instead of the default ``"Tool 'name' timed out after N seconds."``.

    Example::

        @tool(needs_approval=True, timeout=10)
        def get_weather(city: str) -> str:
            \"\"\"Return the weather for a city.

            Args:
                city: The city name.
            \"\"\"
            return f"The weather in {city} is sunny."
    """
    make = functools.partial(
        function_tool,
        name=name,
        description=description,
        needs_approval=needs_approval,
        timeout=timeout,
        timeout_behavior=timeout_behavior,
        timeout_error_function=timeout_error_function,
    )
    return make(func) if func is not None else make
