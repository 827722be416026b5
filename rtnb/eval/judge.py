"""``judge`` expectations: a plain-language criterion graded by a chat model.

The model is the one the embedded server would answer with (the same ``llm`` options or the
``RTNB_LLM_URL``/``RTNB_LLM_MODEL``/``RTNB_LLM_API_KEY`` environment, see
:mod:`rtnb.local.policy.llm_config`). Without one, a judge check is ``not judged`` (``passed`` is
``None``), never passed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rtnb.local.policy.llm_config import LlmConfig, llm_config

from .expectations import NO_MODEL, Check
from .facts import RunFacts
from .scenarios import Expectation

__all__ = ["judge_check", "transcript"]

INSTRUCTIONS = (
    "You grade a conversation between a user and a voice assistant against one criterion. "
    "Reply with PASS or FAIL on the first line, then one short sentence saying why."
)
_VERDICT = re.compile(r"\b(PASS|FAIL)\b", re.IGNORECASE)


def transcript(facts: RunFacts) -> str:
    """The conversation as the judge reads it."""
    lines = [f"User said: {text}" for text in facts.heard or facts.said]
    lines += [f"Tool call: {call.name}({call.arguments})" for call in facts.tool_calls]
    lines.append(f"Assistant said: {facts.answer or '(nothing)'}")
    return "\n".join(lines)


async def judge_check(
    expectation: Expectation,
    facts: RunFacts,
    llm: LlmConfig | Mapping[str, Any] | None = None,
) -> Check:
    """Grade one ``judge`` expectation (``not judged`` without a chat model or on its error)."""
    config = llm_config(llm)
    label = expectation.label
    if config is None:
        return Check(label, "judge", None, NO_MODEL)
    try:
        import openai
    except ImportError:
        return Check(label, "judge", None, "not judged: pip install 'rtnb[llm]' for the judge")
    client = openai.AsyncOpenAI(
        api_key=config.key, base_url=config.base_url, timeout=config.timeout_s, max_retries=0
    )
    try:
        stream = await client.chat.completions.create(
            model=config.model,
            temperature=0,
            stream=True,  # what every OpenAI-compatible server speaks (the embedded server's way)
            messages=[
                {"role": "system", "content": INSTRUCTIONS},
                {
                    "role": "user",
                    "content": f"Criterion: {expectation.value}\n\n{transcript(facts)}",
                },
            ],
        )
        pieces = [
            chunk.choices[0].delta.content or ""
            async for chunk in stream
            if chunk.choices and chunk.choices[0].delta
        ]
        text = "".join(pieces).strip()
    except Exception as exc:
        return Check(label, "judge", None, f"not judged: the model failed ({type(exc).__name__})")
    finally:
        await client.close()
    found = _VERDICT.search(text)
    if found is None:
        return Check(label, "judge", None, f"not judged: no PASS or FAIL in {text[:80]!r}")
    reason = text[found.end() :].lstrip(" :.-\n").strip() or text
    return Check(label, "judge", found.group(1).upper() == "PASS", reason)
