"""Function tools: the ``@tool`` decorator, JSON schemas from type hints, argument validation.

A :class:`FunctionTool` wraps a plain (sync or async) Python function. Its parameter schema is
built by pydantic from the function's type hints and defaults; the description is the docstring's
first part and parameter descriptions come from a Google-style ``Args:`` section or a NumPy-style
``Parameters`` section. :meth:`FunctionTool.invoke` never raises for bad input or a failing tool:
it returns the text the model should see instead.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, get_type_hints, overload

import pydantic
from pydantic import BaseModel, ValidationError

ToolFunction = Callable[..., Any] | Callable[..., Awaitable[Any]]

_SECTION_HEADERS = {"args", "arguments", "parameters", "params"}
_OTHER_SECTIONS = {
    "returns",
    "return",
    "yields",
    "raises",
    "examples",
    "example",
    "notes",
    "note",
    "see also",
    "attributes",
}
# "name (type): description" or "name: description" (Google style).
_GOOGLE_PARAM = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
# "name : type" (NumPy style; the description follows on indented lines).
_NUMPY_PARAM = re.compile(r"^(\w+)\s*(?::.*)?$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into (description, {parameter: description}).

    Understands Google style (``Args:`` with ``name (type): text`` lines) and NumPy style
    (``Parameters`` underlined with dashes, ``name : type`` then indented text). Anything it
    does not recognise stays in the description.
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    params: dict[str, str] = {}
    i = 0
    while i < len(lines):
        header = lines[i].strip().rstrip(":").lower()
        numpy_underline = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
        is_header = lines[i].strip().endswith(":") or numpy_underline
        if is_header and header in _SECTION_HEADERS | _OTHER_SECTIONS:
            i += 2 if numpy_underline else 1
            start = i
            while i < len(lines) and not _is_section_start(lines, i):
                i += 1
            if header in _SECTION_HEADERS:
                params.update(_parse_params(lines[start:i], numpy=numpy_underline))
            continue
        description.append(lines[i])
        i += 1
    return "\n".join(description).strip(), params


def _is_section_start(lines: list[str], i: int) -> bool:
    text = lines[i].strip()
    header = text.rstrip(":").lower()
    underlined = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
    indented = lines[i][:1].isspace()
    return (
        not indented
        and (text.endswith(":") or underlined)
        and header in _SECTION_HEADERS | _OTHER_SECTIONS
    )


def _parse_params(lines: list[str], *, numpy: bool) -> dict[str, str]:
    params: dict[str, list[str]] = {}
    current: str | None = None
    base_indent: int | None = None
    for line in lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if base_indent is None:
            base_indent = indent
        if indent <= base_indent:
            match = (_NUMPY_PARAM if numpy else _GOOGLE_PARAM).match(line.strip())
            if match:
                current = match.group(1).lstrip("*")
                first = "" if numpy else match.group(2)
                params[current] = [first] if first else []
                continue
        if current is not None:
            params[current].append(line.strip())
    return {name: " ".join(parts).strip() for name, parts in params.items()}


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


def _arguments_model(func: Callable[..., Any], docs: dict[str, str]) -> type[BaseModel]:
    """A pydantic model with one field per parameter of ``func``."""
    signature = inspect.signature(func)
    try:
        hints = get_type_hints(func)
    except Exception:  # unresolvable forward references: fall back to raw annotations
        hints = {}
    fields: dict[str, Any] = {}
    for name, param in signature.parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise TypeError(f"tool {func.__name__!r}: *args and **kwargs are not supported")
        annotation = hints.get(name, param.annotation)
        if annotation is inspect.Parameter.empty:
            annotation = Any
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, pydantic.Field(default, description=docs.get(name)))
    model_name = "".join(part.title() for part in func.__name__.split("_")) + "Args"
    return pydantic.create_model(model_name, **fields)


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


def _validation_message(tool_name: str, exc: ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
        for err in exc.errors()
    )
    return f"Invalid arguments for tool {tool_name!r}: {problems}"


@dataclass
class FunctionTool:
    """A Python function the model can call.

    Build one with :func:`tool`. ``params_json_schema`` is the JSON schema of the arguments object;
    :meth:`to_wire` gives the ``session.update`` tool definition.
    """

    name: str
    description: str
    params_json_schema: dict[str, Any]
    func: ToolFunction = field(repr=False)
    args_model: type[BaseModel] = field(repr=False)

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

    async def invoke(self, arguments: str | dict[str, Any]) -> str:
        """Run the tool and return its output text.

        Invalid arguments and exceptions raised by the function become an error text for the
        model; only cancellation propagates. Sync functions run in a worker thread so a slow tool
        never stalls the session's event loop.
        """
        try:
            kwargs = self.validate(arguments)
        except ValidationError as exc:
            return _validation_message(self.name, exc)
        try:
            if inspect.iscoroutinefunction(self.func):
                result = await self.func(**kwargs)
            else:
                result = await asyncio.to_thread(self.func, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return f"Error running tool {self.name!r}: {type(exc).__name__}: {exc}"
        return format_output(result)

    async def __call__(self, **kwargs: Any) -> str:
        """Call the tool with keyword arguments (validated like a model call)."""
        return await self.invoke(kwargs)


def function_tool(
    func: ToolFunction, *, name: str | None = None, description: str | None = None
) -> FunctionTool:
    """Wrap ``func`` in a :class:`FunctionTool` (the non-decorator form of :func:`tool`)."""
    if not callable(func):
        raise TypeError(f"a tool must be a function, got {type(func).__name__}")
    doc_description, param_docs = parse_docstring(inspect.getdoc(func))
    model = _arguments_model(func, param_docs)
    schema = _strip_titles(model.model_json_schema())
    schema.setdefault("properties", {})
    return FunctionTool(
        name=name or func.__name__,
        description=description if description is not None else doc_description,
        params_json_schema=schema,
        func=func,
        args_model=model,
    )


@overload
def tool(func: ToolFunction, /) -> FunctionTool: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[ToolFunction], FunctionTool]: ...


def tool(
    func: ToolFunction | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> FunctionTool | Callable[[ToolFunction], FunctionTool]:
    """Turn a function into a tool the agent can call.

    Use as ``@tool`` or ``@tool(name=..., description=...)``. The JSON schema comes from the type
    hints; the description from the docstring unless given.

    Example::

        @tool
        def get_weather(city: str) -> str:
            \"\"\"Return the weather for a city.

            Args:
                city: The city name.
            \"\"\"
            return f"The weather in {city} is sunny."
    """
    if func is not None:
        return function_tool(func, name=name, description=description)

    def decorator(inner: ToolFunction) -> FunctionTool:
        return function_tool(inner, name=name, description=description)

    return decorator
