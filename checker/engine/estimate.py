"""How long an unbounded (`--depth 0`) search will take, from its first levels.

A breadth-first search's levels grow, peak and shrink. While they grow, the
ratio of one level's size to the last falls (for the GMP model, by a
roughly constant step per level); extrapolating that fall gives the depth
where the growth stops, and the levels up to it. The levels after the peak
are taken to mirror those before it. That is a rough figure, good to a
factor of a few, and meant only to say up front that a run will take hours
or more memory than the machine has, while it can still be stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_LEVELS = 6  # levels seen before an estimate is made
# Nor before the search has run this long: the first levels of a macro-step
# search grow fast and then stop within a second (tight-loop at 4 Ps: 46
# levels, 110,180 states), and a search that short needs no warning.
MIN_ELAPSED_S = 3.0
WARN_SECONDS = 15 * 60  # an estimate above this is shown
MAX_LEVELS = 10_000


@dataclass
class Estimate:
    states: int  # distinct states in all
    seconds: float
    bytes: int
    ratio: float  # the last level's growth factor


def estimate(
    levels: list[int], states: int, elapsed: float, bytes_per_state: float
) -> Estimate | None:
    """`levels`: the size of each complete level so far (level 0 first);
    `states`: distinct states so far; `elapsed`: seconds so far. None when
    the levels no longer grow (the search is past its peak) or there are
    too few to tell."""
    if len(levels) < MIN_LEVELS or elapsed < MIN_ELAPSED_S or states <= 0:
        return None
    ratios = [b / a for a, b in zip(levels[-5:-1], levels[-4:], strict=True) if a > 0]
    if len(ratios) < 3 or ratios[-1] <= 1.05:
        return None
    # The ratio's fall per level (least squares over the last ratios).
    n = len(ratios)
    xs = range(n)
    mx, my = (n - 1) / 2, sum(ratios) / n
    den = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ratios, strict=True)) / den
    step = min(slope, 0.0)
    if step > -0.005:
        step = -0.005  # growth does not go on for ever: assume it slows, slowly
    size, r = float(levels[-1]), ratios[-1]
    rise = 0.0
    for _ in range(MAX_LEVELS):
        r += step
        if r <= 1.0:
            break
        size *= r
        rise += size
        if rise > 1e15:
            break
    # After the peak the levels are taken to shrink as they grew.
    before = sum(levels) + rise
    total = states + rise + before
    rate = states / elapsed
    return Estimate(
        states=int(total),
        seconds=total / rate,
        bytes=int(total * bytes_per_state),
        ratio=ratios[-1],
    )


def fmt_seconds(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    if s < 48 * 3600:
        return f"{s / 3600:.0f} h"
    if s < 3 * 365 * 86400:
        return f"{s / 86400:.0f} days"
    return f"{s / (365 * 86400):.3g} years"


def fmt_bytes(b: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if b < 1000 or unit == "PB":
            return f"{b:.0f} {unit}" if unit in ("B", "KB") else f"{b:.3g} {unit}"
        b /= 1000
    return f"{b:.0f} PB"


def warning(e: Estimate, memory: int | None) -> str | None:
    """The line to print before a run that will not finish soon, else None."""
    too_big = memory is not None and e.bytes > memory
    if e.seconds < WARN_SECONDS and not too_big:
        return None
    mem = f"~{fmt_bytes(e.bytes)}" + (
        f" (this machine has {fmt_bytes(memory)})" if too_big and memory else ""
    )
    return (
        f"estimate  at this rate this search needs ~{fmt_seconds(e.seconds)} and {mem} "
        f"(~{e.states:,.0f} states; the levels still grow x{e.ratio:.2f} per step). "
        "For an answer sooner: a depth bound (--depth D), --max-states N, fewer --cores, "
        "or --steps macro; Ctrl-C stops it and prints what was established."
    )


def machine_memory() -> int | None:
    try:
        return os_sysconf("SC_PAGE_SIZE") * os_sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def os_sysconf(name: str) -> int:
    import os

    return int(os.sysconf(name))


def rss_bytes() -> int:
    """The resident set of this process and its finished children, in bytes."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
