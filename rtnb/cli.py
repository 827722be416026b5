"""Command line: ``rtnb serve`` runs the local server, ``rtnb demo`` holds a spoken conversation,
``rtnb lab`` opens the tutorial notebooks in JupyterLab."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from rtnb.local.server import start_local_server


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
        vad=args.vad,
        tts=args.tts,
    )
    engines = ", ".join(f"{part} {name}" for part, name in server.engines.items())
    print(f"rtnb local realtime server at {server.url}  (Ctrl-C to stop)", flush=True)
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtnb", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the embedded local realtime server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    serve.add_argument("--token", default=None, help="require this bearer token from clients")
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
    serve.add_argument("--llm-model", default=None, help="the chat model's name (with --llm-url)")
    serve.add_argument(
        "--stt",
        choices=("whisper", "pocketsphinx"),
        default=None,
        help="speech-to-text engine (default: whisper when the speech extra is installed)",
    )
    serve.add_argument(
        "--stt-model",
        default=None,
        help="Whisper model name or directory (default: the bundled tiny.en; a name such as "
        "base.en downloads where the network allows)",
    )
    serve.add_argument(
        "--vad",
        choices=("auto", "silero", "webrtc"),
        default="auto",
        help="voice activity detector (default: silero when installed, else webrtc)",
    )
    serve.add_argument(
        "--tts",
        choices=("auto", "piper", "espeak"),
        default="auto",
        help="the assistant's voice (default: piper when installed, else espeak-ng)",
    )

    demo = commands.add_parser("demo", help="a spoken conversation with a tool-using agent")
    demo.add_argument(
        "--question", default="What is the weather in Paris?", help="what the user says"
    )
    demo.add_argument("--out", default="rtnb-demo-answer.wav", help="WAV file for the answer")
    demo.add_argument(
        "--fast", action="store_true", help="stream audio as fast as possible (no real-time pace)"
    )
    lab = commands.add_parser("lab", help="JupyterLab on the tutorial notebooks (the quickstart)")
    lab.add_argument("--dir", default=None, help="notebook directory (default: see rtnb.lab)")
    lab.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    lab.add_argument("--port", type=int, default=None, help="port (default: JupyterLab's 8888)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument(
        "--allow-remote", action="store_true", help="allow binding a non-loopback address"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log protocol details")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rtnb`` command."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        if args.command == "serve":
            asyncio.run(_serve(args))
        elif args.command == "lab":
            from rtnb.lab import run_lab

            return run_lab(
                args.dir,
                host=args.host,
                port=args.port,
                open_browser=not args.no_browser,
                allow_remote=args.allow_remote,
            )
        else:
            from rtnb.demo import run_demo

            return asyncio.run(run_demo(args.question, args.out, realtime=not args.fast))
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # a bad option value, e.g. a non-loopback host without the flag
        print(f"rtnb: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
