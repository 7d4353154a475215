"""The token bucket on its own, with a clock the test moves."""

from __future__ import annotations

from services.intake.limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_steady_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=4, clock=clock)
    assert [limiter.take("a") for _ in range(4)] == [0, 0, 0, 0]
    assert limiter.take("a") == 1  # empty: half a second to the next token, rounded up
    clock.now += 0.5
    assert limiter.take("a") == 0
    assert limiter.take("a") == 1
    clock.now += 100  # refills to the burst, no further
    assert [limiter.take("a") for _ in range(5)] == [0, 0, 0, 0, 1]


def test_buckets_are_per_key_and_a_batch_costs_per_event() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=10, clock=clock)
    assert limiter.take("a", 8) == 0
    assert limiter.take("a", 3) == 1
    assert limiter.take("b", 10) == 0
    assert limiter.take("a", 2) == 0
    # A batch larger than the bucket waits for a full bucket rather than for ever.
    assert limiter.take("c", 50) == 0
    assert limiter.take("c", 50) == 10
