"""Record a session's events to JSONL, and replay them into the widgets without a backend.

::

    recorder = record(session, "talk.jsonl")      # before connecting; audio included
    ...                                           # talk
    recorder.close()

    replay = ReplaySession.load("talk.jsonl")     # later, anywhere, offline
    console(replay)                               # Connect plays it back, in real time
    await ReplaySession.load(path, speed=None).play()   # as fast as possible (tests)

A recording is one JSON record per line (see :mod:`rtnb.analysis.records`), after a header line
``{"event": "recording", ...}``. A replay emits the same session events the widgets listen to,
at the recorded pace, and feeds its own observer, so the analysis frames of a replay are those
of the original session. Replays cannot talk: sending, interrupting, approving are ignored.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rtnb.analysis import SessionObserver, observe
from rtnb.analysis._session import agent_name
from rtnb.analysis.records import Record
from rtnb.session import events as ev
from rtnb.session.agent import RealtimeAgent
from rtnb.session.dispatch import EventDispatcher

log = logging.getLogger("rtnb.widgets")

FORMAT_VERSION = 1


class Recorder:
    """Writes the records of a session's observer to a JSONL file as they arrive."""

    def __init__(self, session: Any, path: str | Path, *, audio: bool = True) -> None:
        self.path = Path(path)
        self.observer = observe(session, audio=audio)
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")
        self._write(
            {"t": 0.0, "event": "recording", "version": FORMAT_VERSION}
            | {"agent": agent_name(session), "backend": getattr(session, "backend", None)}
        )
        for existing in self.observer.records:
            self._write(existing)
        self.observer.on_record(self._write)

    def _write(self, record: Record) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Stop recording and close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def record(session: Any, path: str | Path, *, audio: bool = True) -> Recorder:
    """Record ``session``'s events to ``path`` (JSONL) from now on; ``audio=False`` drops the
    audio itself (replays are then silent, and the file ~50 times smaller)."""
    return Recorder(session, path, audio=audio)


def load(path: str | Path) -> list[Record]:
    """The records of a recording (header line included)."""
    with Path(path).open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


@dataclass
class Named:
    """Stands for a tool or a guardrail in replayed events (only its name was recorded)."""

    name: str


@dataclass
class ReplayedGuardrailResult:
    """Stands for a guardrail's result in replayed events."""

    guardrail: Named


class ReplaySession:
    """Plays a recording back as session events, with the attributes the widgets read.

    ``speed`` is the playback rate (1.0: as recorded; ``None``: as fast as possible).
    ``finished`` turns True once the whole recording has played.
    """

    is_replay = True
    """Widgets show a replay as such (no microphone, no text box, a *replay finished* state)."""

    def __init__(self, records: Iterable[Record], *, speed: float | None = 1.0) -> None:
        records = list(records)
        header = records[0] if records and records[0]["event"] == "recording" else {}
        self.records = [r for r in records if r["event"] != "recording"]
        self.speed = speed
        self.backend = "replay"
        self.status: ev.ConnectionStatus = "disconnected"
        self.finished = False
        self.agent = RealtimeAgent(name=header.get("agent") or "assistant")
        self.observer = SessionObserver()
        self.positions: dict[str, float] = {}
        self._agents = {self.agent.name: self.agent}
        self._approvals: dict[str, Any] = {}  # call id -> the replayed ToolApprovalItem
        self._events = EventDispatcher()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def load(cls, path: str | Path, *, speed: float | None = 1.0) -> ReplaySession:
        """A replay of the recording at ``path``."""
        return cls(load(path), speed=speed)

    def __repr__(self) -> str:
        return f"ReplaySession({len(self.records)} records, status={self.status!r})"

    # ----------------------------------------------------------------- what widgets use

    def on(self, name: str, handler: Any = None) -> Any:
        """Like :meth:`RealtimeSession.on`."""
        return self._events.on(name, handler)

    def off(self, name: str, handler: Any) -> None:
        """Like :meth:`RealtimeSession.off`."""
        self._events.off(name, handler)

    @property
    def connected(self) -> bool:
        """True while the recording plays."""
        return self.status == "connected"

    @property
    def history(self) -> list[Any]:
        """The history as replayed so far."""
        return self.observer.history()

    def set_playback_position(self, item_id: str, ms: float, content_index: int = 0) -> None:
        """Keep the player's report (nothing to truncate in a replay)."""
        self.positions[item_id] = ms

    def _ignored(self, *_args: Any, **_kwargs: Any) -> None:
        log.info("a replay cannot talk: ignored")

    send_audio = send_message = send_event = interrupt = approve = reject = _ignored

    # ----------------------------------------------------------------- playing

    async def connect(self) -> None:
        """Start playing in the background (the console's Connect button calls this)."""
        if self._task is not None:
            raise RuntimeError("a replay plays once; load it again")
        self._events.start()
        self._task = asyncio.get_running_loop().create_task(self._play(), name="rtnb-replay")

    async def play(self) -> None:
        """Play the whole recording (or the rest of it) and return when it is done."""
        if self._task is None:
            await self.connect()
        assert self._task is not None
        await asyncio.shield(self._task)

    async def close(self) -> None:
        """Stop playing."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._set_status("disconnected")
        await self._events.stop()

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        self._set_status("connected")
        for record in self.records:
            if self.speed:
                delay = start + record["t"] / self.speed - loop.time()
                await asyncio.sleep(max(0.0, delay))
            else:
                await asyncio.sleep(0)
            self.observer.add(record)
            if record["event"] == "connection_change":
                continue  # the replay's own status is what the widgets show
            event = self._event(record)
            if event is not None:
                self._events.emit(event)
        self.finished = True
        self._set_status("disconnected")
        self._events.end_streams()

    def _set_status(self, status: ev.ConnectionStatus) -> None:
        if status != self.status:
            self.status = status
            self._events.emit(ev.ConnectionChangeEvent(status))

    def _agent(self, name: str | None) -> RealtimeAgent:
        name = name or self.agent.name
        if name not in self._agents:
            self._agents[name] = RealtimeAgent(name=name)
        return self._agents[name]

    def _event(self, r: Record) -> ev.SessionEvent | None:
        """The session event of a record (``None`` for audio that was not recorded)."""
        kind = r["event"]
        if kind == "audio":
            if "pcm" not in r:
                return None
            data = base64.b64decode(r["pcm"])
            return ev.AudioEvent(data, r["item_id"], r["content_index"], r["response_id"])
        if kind == "history_updated":
            return ev.HistoryUpdatedEvent(tuple(self.history))
        if kind == "audio_stopped":
            return ev.AudioStoppedEvent(r["response_id"], r["item_id"])
        if kind == "audio_interrupted":
            return ev.AudioInterruptedEvent(r["item_id"], r["content_index"], r["audio_end_ms"])
        if kind in ("agent_start", "agent_end"):
            self.agent = self._agent(r.get("agent"))
            if kind == "agent_start":
                return ev.AgentStartEvent(self.agent, r["response_id"])
            return ev.AgentEndEvent(self.agent, r["response_id"], r.get("status"))
        if kind in ("agent_tool_start", "agent_tool_end", "tool_approval_requested"):
            return self._tool_event(r)
        if kind == "mcp_tool_call_completed":
            from rtnb.session.mcp import McpToolCall

            call = McpToolCall(
                item_id=r.get("item_id") or "",
                server_label=r.get("server_label") or "",
                name=r.get("tool") or "",
                arguments=r.get("arguments") or "",
                output=r.get("output"),
                error=r.get("error"),
            )
            return ev.McpToolCallCompletedEvent(self._agent(r.get("agent")), call)
        if kind == "tool_approval_decided":
            approval = self._approvals.get(r["call_id"])
            if approval is None:
                return None
            return ev.ToolApprovalDecidedEvent(approval, bool(r["approved"]), bool(r["always"]))
        if kind == "agent_handoff":
            self.agent = self._agent(r.get("to_agent"))
            return ev.AgentHandoffEvent(self._agent(r.get("from_agent")), self.agent)
        if kind == "guardrail_tripped":
            results = [ReplayedGuardrailResult(Named(n)) for n in r.get("guardrails", [])]
            return ev.GuardrailTrippedEvent(
                results,  # type: ignore[arg-type]
                r.get("item_id") or "",
                r.get("response_id") or "",
                r.get("message") or "",
            )
        if kind == "error":
            return ev.ErrorEvent({"message": r.get("message")})
        if "." in kind:  # a server event kept for timing
            fields = {k: v for k, v in r.items() if k not in ("t", "event")}
            return ev.TransportEvent({"type": kind, **fields})
        return None

    def _tool_event(self, r: Record) -> ev.SessionEvent:
        agent, tool = self._agent(r.get("agent")), Named(r.get("tool") or "?")
        args = (agent, tool, r.get("arguments") or "")
        if r["event"] == "agent_tool_start":
            return ev.AgentToolStartEvent(*args, r["call_id"])  # type: ignore[arg-type]
        if r["event"] == "agent_tool_end":
            return ev.AgentToolEndEvent(*args, r.get("output") or "", r["call_id"])  # type: ignore[arg-type]
        from rtnb.session.approvals import ToolApprovalItem

        approval = ToolApprovalItem(r["call_id"], tool.name, args[2])
        self._approvals[r["call_id"]] = approval
        return ev.ToolApprovalRequestedEvent(*args, r["call_id"], approval)  # type: ignore[arg-type]
