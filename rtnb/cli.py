"""The ``rtnb`` command: ``serve``, ``demo``, ``lab`` and ``eval`` (see :data:`DESCRIPTION`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from rtnb.lab.app import COPY_DIR
from rtnb.local.server import start_local_server
from rtnb.local.speech.whisper import DEFAULT_BEAM_SIZE

SERVE_TOKEN_VARIABLE = "RTNB_SERVE_TOKEN"
"""Environment variable ``rtnb serve`` takes its token from when ``--token`` is not given."""
DEMO_QUESTION = "What is the weather in Paris?"
DEMO_OUT = "rtnb-demo-answer.wav"


async def _serve(args: argparse.Namespace) -> None:
    server = await start_local_server(
        args.host,
        args.port,
        token=args.token,
        allow_remote=args.allow_remote,
        realtime_pacing=not args.fast,
        llm=_llm_options(args),
        stt=args.stt,
        stt_model=args.stt_model,
        stt_beam_size=args.stt_beam_size,
        vad=args.vad,
        tts=args.tts,
    )
    engines = ", ".join(f"{part} {name}" for part, name in server.engines.items())
    access = "bearer token required" if args.token else "no token required"
    print(f"rtnb local realtime server at {server.url}  ({access}; Ctrl-C to stop)", flush=True)
    print(f"engines: {engines}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.close()


def _llm_options(args: argparse.Namespace) -> dict[str, str] | None:
    """``--llm-url``/``--llm-model`` as ``llm`` options (``None``: the environment decides)."""
    if args.llm_url is None and args.llm_model is None:
        return None
    if args.llm_url is None or args.llm_model is None:
        raise ValueError("--llm-url and --llm-model go together")
    return {"base_url": args.llm_url, "model": args.llm_model}  # the key: RTNB_LLM_API_KEY


DESCRIPTION = """\
Realtime voice agents in Jupyter. The commands are listed below (each with its
one-line help); run "rtnb COMMAND --help" for a command's options."""
"""The top-level help text (plain text: argparse prints it as it is). The commands themselves
are listed once, by argparse, from each subparser's ``help``."""

LAB_DESCRIPTION = f"""\
Start JupyterLab on the tutorial notebooks, opened at the quickstart.

Without --dir, JupyterLab opens a working copy of the tutorials in
./{COPY_DIR} (in the directory you run this from), so running them never
modifies the originals: a clone's notebooks/ stays as committed (git ignores
{COPY_DIR}/). Each start copies new tutorials and updates the copies you
have not edited; edited copies are kept and reported. With --dir DIR,
JupyterLab opens DIR itself and saves there.

Ctrl-C (or SIGTERM, SIGHUP) shuts JupyterLab and its kernels down. The
JupyterLab news pop-up is off for this run (your own settings still win).
With OPENAI_API_KEY set the notebooks talk to the OpenAI Realtime API,
otherwise to the embedded local server."""
"""``rtnb lab --help``: where the notebooks come from and how it stops."""


def package_version() -> str:
    """The installed rtnb's version (the source tree's ``pyproject.toml`` one if not installed)."""
    try:
        return metadata.version("rtnb")
    except metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        found = re.search(r'^version = "([^"]+)"', pyproject.read_text(encoding="utf-8"), re.M)
        return found.group(1) if found else "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtnb", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"rtnb {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="the embedded local realtime server, for your own clients",
        description="Serve the Realtime API protocol offline at ws://HOST:PORT/v1/realtime.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)"
    )
    serve.add_argument(
        "--token",
        default=os.environ.get(SERVE_TOKEN_VARIABLE) or None,
        help=f"require this bearer token from clients (default: ${SERVE_TOKEN_VARIABLE} when set, "
        "else none; the variable keeps the token out of the process list that other users "
        "of the machine can read)",
    )
    serve.add_argument(
        "--allow-remote", action="store_true", help="allow binding a non-loopback address"
    )
    serve.add_argument("--fast", action="store_true", help="stream audio faster than real time")
    serve.add_argument(
        "--llm-url",
        default=None,
        help="answer with this OpenAI-compatible chat server (e.g. http://127.0.0.1:11434/v1); "
        "key from RTNB_LLM_API_KEY (default: $RTNB_LLM_URL, else the deterministic policy)",
    )
    serve.add_argument(
        "--llm-model",
        default=None,
        help="the chat model's name (with --llm-url; default: $RTNB_LLM_MODEL)",
    )
    serve.add_argument(
        "--stt",
        choices=("whisper", "pocketsphinx"),
        default=None,
        help="speech-to-text engine (default: whisper when the speech extra is installed, else "
        "pocketsphinx)",
    )
    serve.add_argument(
        "--stt-model",
        default=None,
        help="Whisper model name or directory (default: the bundled tiny.en; a name such as "
        "base.en downloads where the network allows)",
    )
    serve.add_argument(
        "--stt-beam-size",
        type=int,
        default=DEFAULT_BEAM_SIZE,
        help="Whisper's decoding beam: 1 is greedy, faster and less accurate "
        f"(default: {DEFAULT_BEAM_SIZE})",
    )
    serve.add_argument(
        "--vad",
        choices=("auto", "silero", "webrtc"),
        default="auto",
        help="voice activity detector (default: auto, which is silero when installed, else webrtc)",
    )
    serve.add_argument(
        "--tts",
        choices=("auto", "piper", "espeak"),
        default="auto",
        help="the assistant's voice (default: auto, which is piper when installed, else espeak)",
    )

    demo = commands.add_parser(
        "demo",
        help="a spoken question to a tool-using agent, answered aloud (offline)",
        description="Speak a question (with the local text-to-speech) to a weather agent on the "
        "embedded local server, print the conversation and a latency table, and save the "
        "spoken answer. Needs no API key and no network.",
    )
    demo.add_argument(
        "--question",
        default=DEMO_QUESTION,
        help=f'what the user says (default: "{DEMO_QUESTION}"); any question gets an answer',
    )
    demo.add_argument(
        "--out", default=DEMO_OUT, help=f"WAV file for the answer (default: {DEMO_OUT})"
    )
    demo.add_argument(
        "--fast", action="store_true", help="stream audio as fast as possible (no real-time pace)"
    )
    lab = commands.add_parser(
        "lab",
        help="JupyterLab on a working copy of the tutorial notebooks",
        description=LAB_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lab.add_argument(
        "--dir",
        default=None,
        help=f"open this directory instead (default: the working copy ./{COPY_DIR})",
    )
    lab.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    lab.add_argument(
        "--port",
        type=int,
        default=None,
        help="port (default: 8888, or the next free one; 0 picks any free port)",
    )
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument(
        "--allow-remote", action="store_true", help="allow binding a non-loopback address"
    )
    _add_eval_parser(commands)
    parser.add_argument("-v", "--verbose", action="store_true", help="log protocol details")
    return parser


EVAL_DESCRIPTION = """\
Run every scenario of a YAML suite for every variant and repeat, each in a
fresh session (the embedded server without OPENAI_API_KEY, or with
--backend local), print pass rates per scenario with 95 % intervals and the
failures, and exit 1 if a run failed, timed out or raised. Ctrl-C stops the
suite and keeps (and writes) the runs that finished."""


def _add_eval_parser(commands: Any) -> None:
    """Add the ``eval`` subcommand to the ``rtnb`` parser's subparsers."""
    parser = commands.add_parser(
        "eval",
        help="evaluate an agent over a suite of spoken scenarios",
        description=EVAL_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("suite", help="the suite's YAML file")
    parser.add_argument(
        "--agent", default=None, help="module:attribute of the agent (default: the suite's)"
    )
    parser.add_argument(
        "--backend",
        choices=("local", "openai"),
        default=None,
        help="the embedded server or the OpenAI Realtime API (default: openai when "
        "OPENAI_API_KEY is set, else local)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2,
        metavar="N",
        help="runs at once (Ray: actors) (default: 2)",
    )
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="run in this process or on Ray actors (default: local)",
    )
    parser.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="the Ray cluster to join (default: start a local Ray)",
    )
    parser.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="write the run frame to FILE.csv, .parquet or .jsonl (default: not written)",
    )
    parser.add_argument(
        "--record",
        default=None,
        metavar="DIR",
        help="keep each run's recording (JSONL, audio) in DIR (default: a temporary folder)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rtnb`` command."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        if args.command == "serve":
            asyncio.run(_serve(args))
        elif args.command == "eval":
            from rtnb.eval.cli import eval_command

            return eval_command(args)
        elif args.command == "lab":
            from rtnb.lab.app import run_lab

            return run_lab(
                args.dir,
                host=args.host,
                port=args.port,
                open_browser=not args.no_browser,
                allow_remote=args.allow_remote,
            )
        else:
            from rtnb.demo.run import run_demo

            if not any(ch.isalnum() for ch in args.question):
                raise ValueError(f"--question {args.question!r}: give words to say")
            folder = Path(args.out).expanduser().resolve().parent
            if not folder.is_dir():
                raise ValueError(f"--out {args.out}: no directory {folder}")
            return asyncio.run(run_demo(args.question, args.out, realtime=not args.fast))
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # a bad option value, e.g. a non-loopback host without the flag
        print(f"rtnb: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
