"""The HTML view in a real browser: Debian's chromium, headless, driven by
Playwright through its executable path. Every shipped counterexample (one
per bug mutation, at its registered configuration) renders with no console
error and no network request, and clicks and arrow keys move the selected
step. One screenshot per mutation is kept as reports/html-<mutation>.png."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT

from checker.views.html import write_html
from checker.views.render import changed_fields
from model.mutations import MUTATIONS
from specs import properties_of

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUGS = [m.name for m in MUTATIONS.values() if not m.benign]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')"
)
if not Path(CHROMIUM).exists():
    pytest.skip(
        f"no browser for the HTML view tests: {CHROMIUM} is missing (apt-get install chromium)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user-data-dir
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
        )
        yield ctx
        ctx.close()


class Page:
    """A page with every console error, page error and request recorded."""

    def __init__(self, ctx, path: Path):
        self.url = path.resolve().as_uri()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = ctx.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", self._request)
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-step]")

    def _request(self, req) -> None:
        if req.url.split("#")[0] != self.url:
            self.requests.append(req.url)

    @property
    def step(self) -> int:
        return int(self.page.evaluate("document.body.dataset.step"))

    def click_column(self, i: int) -> None:
        """Click the lanes in the middle of step i's column, on the first lane."""
        svg = self.page.locator("#lanes")
        box = svg.bounding_box()
        label_w = float(svg.get_attribute("data-label-width"))
        col_w = float(svg.get_attribute("data-col-width"))
        lane = self.page.locator("#lanes .lane-label").first.bounding_box()
        self.page.mouse.click(
            box["x"] + label_w + (i + 0.5) * col_w, lane["y"] + lane["height"] / 2
        )


def test_every_shipped_counterexample_renders_offline_and_navigates(browser, mutation_traces):
    reports = ROOT / "reports"
    reports.mkdir(exist_ok=True)
    for name in BUGS:
        trace = mutation_traces[name][0]
        doc = json.loads(trace.read_text())
        n = len(doc["states"])
        html = trace.with_suffix("").with_suffix(".html")
        write_html(doc, html, trace.name)  # what `view --html` writes (tests/test_view.py)
        p = Page(browser, html)
        try:
            # It opens at the failing step, marked as such.
            assert p.step == n - 1
            head = p.page.inner_text("#step-head")
            assert doc["states"][-1]["#meta"]["action"] in head
            assert f"{doc['#meta']['gmpcheck']['property']} fails here" in head
            assert doc["#meta"]["gmpcheck"]["property"] + " violated" in p.page.inner_text(
                "#verdict"
            )
            # One lane per P and per M the trace starts, and sysmon.
            labels = p.page.locator("#lanes .lane-label").all_text_contents()
            cfg = doc["#meta"]["gmpcheck"]["config"]
            started = [
                m["id"]
                for m in doc["states"][0]["M"]
                if any(st["M"][m["id"]]["pc"] != "NOT_CREATED" for st in doc["states"])
            ]
            assert labels == [f"P{i}" for i in range(cfg["cores"])] + [f"M{m}" for m in started] + [
                "sysmon"
            ]
            shot = reports / f"html-{name}.png"
            p.page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000  # a rendered page, not a blank one

            # Navigation: a click on the lanes, the arrow keys, a click on the list.
            p.click_column(1)
            assert p.step == 1
            p.page.keyboard.press("ArrowRight")
            assert p.step == 2
            p.page.keyboard.press("ArrowRight")
            p.page.keyboard.press("ArrowLeft")
            assert p.step == 2
            p.page.keyboard.press("ArrowLeft")
            p.page.keyboard.press("ArrowLeft")
            p.page.keyboard.press("ArrowLeft")  # stops at the first step
            assert p.step == 0
            k = n // 2
            p.page.click(f"#step-list li[data-step='{k}']")
            assert p.step == k
            # The selected step's action and changed fields are shown.
            assert doc["states"][k]["#meta"]["action"] in p.page.inner_text("#step-head")
            rows = p.page.locator("#detail-body table.fit tr").count() - 1
            assert rows == len(changed_fields(doc["states"][k - 1], doc["states"][k]))
            p.page.keyboard.press("End")
            assert p.step == n - 1
            assert p.errors == [], (name, p.errors)
            assert p.requests == [], (name, p.requests)
        finally:
            p.page.close()


def test_a_lasso_is_shaded(browser, mutation_traces, tmp_path):
    trace = mutation_traces["no-needspinning"][0]
    doc = json.loads(trace.read_text())
    n = len(doc["states"])
    doc["loop"] = 5
    out = tmp_path / "lasso.html"
    write_html(doc, out, "lasso", step=5)  # `view --html --step 5`: open at step 5
    p = Page(browser, out)
    try:
        assert p.step == 5
        assert "cycle starts here" in p.page.inner_text("#step-head")
        assert p.page.locator("#lanes .loop-band").count() == 1
        assert p.page.locator("#step-list li.loop").count() == n - 5
        p.page.click(f"#step-list li[data-step='{n - 1}']")
        assert p.step == n - 1 and "back to step 5" in p.page.inner_text("#step-head")
        assert p.errors == [] and p.requests == []
    finally:
        p.page.close()


def test_a_trace_of_another_model_renders_without_lanes(browser, tmp_path):
    from classic.peterson import Peterson

    from checker.engine.explore import explore
    from checker.engine.trace import rebuild
    from checker.views.itf import trace_document

    model = Peterson(broken=True)
    prop = properties_of(model)[0]
    ex = explore(model, [prop], depth=0)
    steps = rebuild(model, ex, ex.violations[prop.id], prop)
    meta = {"engine": "explicit", "property": prop.id, "kind": prop.kind, "message": "m"}
    doc = trace_document(model, steps, {**meta, "depth": len(steps) - 1, "seed": None})
    out = tmp_path / "peterson.html"
    write_html(doc, out, "peterson")
    p = Page(browser, out)
    try:
        assert p.step == len(steps) - 1
        assert not p.page.locator("#lanes-box").is_visible()
        assert "incrit" in p.page.inner_text("#detail-body")  # the state's own fields
        p.page.keyboard.press("Home")
        assert p.step == 0
        assert p.errors == [] and p.requests == []
    finally:
        p.page.close()
