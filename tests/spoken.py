"""Test speech that sounds the same on every run.

espeak-ng's output depends on what the process synthesised before (state such as its pitch
flutter runs on from one call to the next), so a sentence spoken in the tests would sound a
little different with each test order, and Whisper could hear it differently. Each sentence is
synthesised once, in a fresh process, and kept for the rest of the test run.
"""

from __future__ import annotations

import functools
import subprocess
import sys

from rtnb.local.speech.tts import SPHINX_USER_VOICE, WHISPER_USER_VOICE
from rtnb.local.speech.whisper import whisper_available

USER_VOICE = WHISPER_USER_VOICE if whisper_available() else SPHINX_USER_VOICE
"""The espeak-ng voice the tests speak the user's side with. Not the library's
:data:`rtnb.local.speech.tts.USER_VOICE`, which is a piper voice with the speech extra: piper draws
its timbre and timing at random on every call, and a test must hear the same audio on every run."""

_SCRIPT = (
    "import sys; from rtnb.local.speech.tts import synthesize; "
    "sys.stdout.buffer.write(synthesize(sys.argv[1], voice=sys.argv[2]))"
)


@functools.cache
def spoken(text: str, voice: str = USER_VOICE) -> bytes:
    """``text`` spoken by espeak-ng in ``voice`` (an espeak-ng voice name) as 24 kHz PCM16, the
    same on every run."""
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, text, voice], capture_output=True, check=True, timeout=60
    )
    return result.stdout
