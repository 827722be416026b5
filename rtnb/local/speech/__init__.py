"""The local server's speech engines: voice activity, speech to text, text to speech.

- turn detection: :mod:`~rtnb.local.speech.vad` (``server_vad``'s turn logic) over a frame
  detector (:mod:`~rtnb.local.speech.frames`): :mod:`~rtnb.local.speech.silero` or
  :mod:`~rtnb.local.speech.webrtc_vad`;
- speech to text: :mod:`~rtnb.local.speech.stt` chooses :mod:`~rtnb.local.speech.whisper` or
  :mod:`~rtnb.local.speech.sphinx`;
- text to speech: :mod:`~rtnb.local.speech.tts` speaks with :mod:`~rtnb.local.speech.piper_voice`
  or espeak-ng.

Nothing here touches a socket: the server core (:mod:`rtnb.local.input_audio`) feeds them audio.
"""
