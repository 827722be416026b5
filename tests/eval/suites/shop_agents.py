"""Agents the evaluation tests talk to (imported by the suites as ``shop_agents:...``)."""

from __future__ import annotations

import asyncio

from rtnb import RealtimeAgent, output_guardrail, tool


@tool
def get_weather(city: str) -> str:
    """Get the weather forecast in a city."""
    return f"It is sunny in {city}."


@tool(needs_approval=True)
def refund_order(order_id: int) -> str:
    """Refund an order by its number."""
    return f"Order {order_id} is refunded."


@tool
def check_stock(product: str) -> str:
    """Check the stock of a product."""
    raise RuntimeError("the stock database is down")


@tool
async def track_parcel(parcel: str) -> str:
    """Track a parcel."""
    await asyncio.Event().wait()  # never answers: the run times out
    return "never"


billing_agent = RealtimeAgent(
    name="billing",
    instructions="You handle invoices.",
    handoff_description="Invoices and billing questions.",
)

support_agent = RealtimeAgent(
    name="support",
    instructions="You help the customers of a shop.",
    tools=[get_weather, refund_order, check_stock, track_parcel],
    handoffs=[billing_agent],
)


def weather_only_agent() -> RealtimeAgent:
    """An older version of the support agent: weather only."""
    return RealtimeAgent(name="support", instructions="Weather only.", tools=[get_weather])


@output_guardrail
def no_refund_talk(text: str) -> bool:
    """Trips when the assistant talks about refunds."""
    return "refund" in text.lower()


guarded_agent = RealtimeAgent(
    name="guarded",
    instructions="You help the customers of a shop, never about refunds.",
    tools=[get_weather, refund_order],
    output_guardrails=[no_refund_talk],
)

_calls = [0]


def flaky_agent() -> RealtimeAgent:
    """A factory that raises every other time it is called (the first call succeeds)."""
    _calls[0] += 1
    if _calls[0] % 2 == 0:
        raise RuntimeError("the agent's configuration could not be read")
    return support_agent


@tool(name="get_weather")
def get_weather_v1(city: str) -> str:
    """Get the weather in a city."""
    return f"It is sunny in {city}."


@tool(name="get_weather")
def get_weather_v2(city: str) -> str:
    """Get the weather in a city: sun, rain, snow, wind or temperature, today or tomorrow."""
    return f"It is sunny in {city}."


weather_v1 = RealtimeAgent(name="weather", instructions="Weather.", tools=[get_weather_v1])
weather_v2 = RealtimeAgent(name="weather", instructions="Weather.", tools=[get_weather_v2])
