"""Schema oracle: validate wire events against the ``openai`` package's Realtime (GA) types.

``openai.types.realtime.RealtimeServerEvent`` and ``RealtimeClientEvent`` are
``Annotated[Union[...], PropertyInfo(discriminator="type")]``. pydantic ignores the openai marker,
so the union members are unwrapped and put into a real pydantic discriminated union on ``type``.
If pydantic cannot build that union (a member whose ``type`` is not a ``Literal``), validation
falls back to the member whose ``type`` literal matches the event.

The openai models allow extra fields (``extra="allow"``), so validation alone never rejects a
misspelt or invented field; :func:`unknown_fields` lists them for tests that want to be strict.

This is test-only code: the runtime never imports pydantic models for events.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union

import pydantic
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

__all__ = [
    "CLIENT_EVENT_TYPES_IN_SCHEMA",
    "SCHEMA_CLIENT_REQUIRED",
    "SCHEMA_SERVER_REQUIRED",
    "SERVER_EVENT_TYPES_IN_SCHEMA",
    "unknown_fields",
    "validate_client_event",
    "validate_server_event",
]


def _members(annotated_union: Any) -> tuple[type[BaseModel], ...]:
    """The model classes inside ``Annotated[Union[...], ...]`` (or a bare ``Union``)."""
    union = annotated_union
    if typing.get_origin(union) is Annotated:
        union = typing.get_args(union)[0]
    members = typing.get_args(union)
    if not members or not all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
        raise TypeError(f"expected a union of pydantic models, got {annotated_union!r}")
    return members


def _type_literals(model: type[BaseModel]) -> tuple[str, ...]:
    """The string values a model's ``type`` field accepts (empty if it is not a ``Literal``)."""
    annotation = model.model_fields["type"].annotation
    if typing.get_origin(annotation) is Literal:
        return tuple(v for v in typing.get_args(annotation) if isinstance(v, str))
    return ()


class _Oracle:
    """Validator for one side (server or client) of the protocol."""

    def __init__(self, side: str, annotated_union: Any) -> None:
        self.side = side
        self.members = _members(annotated_union)
        self.by_type: dict[str, type[BaseModel]] = {}
        for model in self.members:
            for literal in _type_literals(model):
                self.by_type[literal] = model
        self.required: dict[str, frozenset[str]] = {
            kind: frozenset(n for n, f in model.model_fields.items() if f.is_required())
            for kind, model in self.by_type.items()
        }
        self._union: TypeAdapter[Any] | None
        try:
            self._union = TypeAdapter(
                Annotated[Union[self.members], Field(discriminator="type")]  # noqa: UP007
            )
        except pydantic.PydanticUserError:
            self._union = None
        self._single: dict[type[BaseModel], TypeAdapter[Any]] = {}

    def _adapter_for(self, kind: str) -> TypeAdapter[Any]:
        if self._union is not None:
            return self._union
        model = self.by_type[kind]
        if model not in self._single:
            self._single[model] = TypeAdapter(model)
        return self._single[model]

    def validate(self, event: dict[str, Any]) -> BaseModel:
        if not isinstance(event, dict):
            raise AssertionError(f"{self.side} event must be a dict, got {type(event).__name__}")
        kind = event.get("type")
        if kind not in self.by_type:
            raise AssertionError(
                f"{self.side} event type {kind!r} is not in the openai Realtime schema"
            )
        try:
            return self._adapter_for(kind).validate_python(event)
        except ValidationError as exc:
            details = "\n".join(
                f"  {'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                f" (got {err.get('input')!r:.80})"
                for err in exc.errors()
            )
            raise AssertionError(
                f"{self.side} event {kind!r} does not match the openai Realtime schema:\n{details}"
            ) from None


_SERVER = _Oracle("server", RealtimeServerEvent)
_CLIENT = _Oracle("client", RealtimeClientEvent)

SERVER_EVENT_TYPES_IN_SCHEMA: frozenset[str] = frozenset(_SERVER.by_type)
"""Every ``type`` literal of ``RealtimeServerEvent``."""
CLIENT_EVENT_TYPES_IN_SCHEMA: frozenset[str] = frozenset(_CLIENT.by_type)
"""Every ``type`` literal of ``RealtimeClientEvent``."""
SCHEMA_SERVER_REQUIRED: dict[str, frozenset[str]] = _SERVER.required
"""Required top-level fields of each server event type, ``type`` included."""
SCHEMA_CLIENT_REQUIRED: dict[str, frozenset[str]] = _CLIENT.required
"""Required top-level fields of each client event type, ``type`` included."""


def validate_server_event(event: dict[str, Any]) -> None:
    """Assert that ``event`` is a valid server event of the GA schema (raises AssertionError)."""
    _SERVER.validate(event)


def validate_client_event(event: dict[str, Any]) -> None:
    """Assert that ``event`` is a valid client event of the GA schema (raises AssertionError)."""
    _CLIENT.validate(event)


def _extras(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, BaseModel):
        for name in value.__pydantic_extra__ or {}:
            yield f"{path}.{name}" if path else name
        for name in type(value).model_fields:
            yield from _extras(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _extras(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _extras(item, f"{path}.{key}")


def unknown_fields(event: dict[str, Any], side: str = "server") -> list[str]:
    """Validate ``event`` and return the dotted paths of fields the openai models do not define."""
    oracle = {"server": _SERVER, "client": _CLIENT}[side]
    return list(_extras(oracle.validate(event), ""))
