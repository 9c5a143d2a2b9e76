// The trace page of gmpcheck: draws the lanes, the step list and the state
// at the selected step from the JSON that checker/views/html.py embeds.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("trace-data").textContent);
  const N = D.states.length;
  const SVGNS = "http://www.w3.org/2000/svg";
  const isGMP = D.lanes.length > 0;

  // Goroutine colours (text colour chosen for contrast).
  const G_COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2",
                    "#edc948", "#9c755f", "#ff9da7", "#8cd17d", "#499894"];
  const KINDS = {
    g:          { label: "running a goroutine (its colour)" },
    sched:      { fill: "#d6e0eb", text: "#24415f", label: "schedule / findRunnable" },
    spinning:   { fill: "url(#pat-spin)", text: "#1e3a5f", label: "spinning (looking for work)" },
    syscall:    { fill: "#d9c8ef", text: "#4c1d95", label: "in a system call" },
    runtime:    { fill: "#e9e3cc", text: "#5b4a12", label: "wakep / startm / handoffp" },
    idle:       { fill: "#eef1f4", text: "#8a939c", label: "idle" },
    "idle-work": { fill: "#fde2e1", text: "#9f1c1c", stroke: "#e5484d", label: "idle while work waits" },
    handoff:    { fill: "#e2f2e2", text: "#2f6b2f", stroke: "#5aa05a", label: "P held for a hand-off" },
    parked:     { fill: "#9aa3ad", text: "#ffffff", label: "parked (stopm)", thin: 0.55 },
    sysmon:     { fill: "#eceff2", text: "#8a939c", label: "sysmon between passes", thin: 0.35 },
    throw:      { fill: "#c62828", text: "#ffffff", label: "the runtime threw" },
  };
  const ARROWS = {
    steal:   { color: "#d97706", label: "steal (victim → thief)" },
    handoff: { color: "#2563eb", label: "startm: P handed to an M" },
    retake:  { color: "#7c3aed", label: "sysmon retakes a P from a syscall" },
    preempt: { color: "#db2777", label: "sysmon requests preemption" },
  };

  const LABEL_W = 66, LANE_H = 22, LANE_GAP = 12, GROUP_GAP = 8, RIGHT_PAD = 80;
  const AXIS_H = D.loop !== null ? 36 : 24;  // a lasso's label gets a line above the step numbers

  // ---- helpers -------------------------------------------------------------

  function h(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function s(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function isNone(v) { return v === -1 || v === null || v === undefined; }
  function fmt(v) {
    if (isNone(v)) return "-";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (Array.isArray(v)) return "[" + v.map(fmt).join(" ") + "]";
    if (typeof v === "object") return "{" + Object.keys(v).map(k => k + ": " + fmt(v[k])).join(", ") + "}";
    return String(v);
  }
  function gColor(g) { return G_COLORS[((g % G_COLORS.length) + G_COLORS.length) % G_COLORS.length]; }
  function inkFor(hex) {
    const n = parseInt(hex.slice(1), 16);
    const l = 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
    return l > 150 ? "#1f2328" : "#ffffff";
  }
  function flatten(v, prefix, out) {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      for (const k of Object.keys(v)) if (k !== "#meta") flatten(v[k], prefix ? prefix + "." + k : k, out);
    } else if (Array.isArray(v) && v.length && v.every(x => x && typeof x === "object" && "id" in x)) {
      for (const x of v) {
        const rest = {};
        for (const k of Object.keys(x)) if (k !== "id") rest[k] = x[k];
        flatten(rest, prefix + "[" + x.id + "]", out);
      }
    } else {
      out.push([prefix, v]);
    }
    return out;
  }

  // ---- header --------------------------------------------------------------

  function drawHeader() {
    const m = D.meta, cfg = m.config || {};
    const verdict = document.getElementById("verdict");
    if (m.property && D.fail !== null) {
      verdict.className = "fail";
      verdict.appendChild(h("span", "mark", "✖"));
      verdict.appendChild(h("span", "", m.property + " violated"));
      const at = h("span", "at");
      const first = D.loop !== null ? D.loop : D.fail;
      let lead = "in the state after step ";
      if (D.loop !== null) lead = "on the cycle of steps ";
      else if (m.kind === "action") lead = "by step ";
      at.appendChild(document.createTextNode(lead));
      const a = h("a", "", first);
      a.addEventListener("click", () => select(first));
      at.appendChild(a);
      at.appendChild(document.createTextNode(D.loop !== null ? "–" + (N - 1) : " of " + (N - 1)));
      verdict.appendChild(at);
    } else {
      verdict.appendChild(h("span", "", "Trace of " + (N - 1) + " steps"));
    }
    if (D.loop !== null) verdict.appendChild(h("span", "badge loop", "lasso: steps " + D.loop + "–" + (N - 1) + " repeat"));
    document.getElementById("message").textContent = m.message || "";
    const c = document.getElementById("config");
    const parts = [];
    if (cfg.workload !== undefined) parts.push(["workload", cfg.workload]);
    if (cfg.cores !== undefined) parts.push(["cores", cfg.cores]);
    if (m.plugin) {
      parts.push(["plug-in", m.plugin.name]);
      parts.push(["plug-in file", m.plugin.file + ":" + m.plugin.object]);
      parts.push(["sha256", String(m.plugin.sha256).slice(0, 12)]);
    } else if (cfg.mutation) parts.push(["mutation", cfg.mutation]);
    if (cfg.max_ms !== undefined) parts.push(["max Ms", cfg.max_ms]);
    if (cfg.ring !== undefined) parts.push(["ring", cfg.ring]);
    parts.push(["steps", N - 1]);
    parts.push(["engine", m.engine]);
    if (m.seed !== null && m.seed !== undefined) parts.push(["seed", m.seed]);
    parts.push(["model", m.model_hash]);
    parts.push(["gmpcheck", m.version]);
    if (D.source) parts.push(["file", D.source]);
    for (const [k, v] of parts) {
      const e = h("span", "", k + " ");
      e.appendChild(h("b", "", v));
      c.appendChild(e);
    }
  }

  // ---- lanes ---------------------------------------------------------------

  const svg = document.getElementById("lanes");
  const scroller = document.getElementById("lanes-scroll");
  let colW = 24, laneY = {}, height = 0, selRect = null;

  function layout() {
    const avail = Math.max(320, scroller.clientWidth - LABEL_W - RIGHT_PAD);
    colW = Math.max(10, Math.min(120, Math.floor(avail / N)));
    laneY = {};
    let y = AXIS_H, prev = null;
    for (const lane of D.lanes) {
      if (prev !== null && lane.group !== prev) y += GROUP_GAP;
      laneY[lane.id] = y;
      y += LANE_H + LANE_GAP;
      prev = lane.group;
    }
    height = y + 2;
  }
  function colX(i) { return LABEL_W + i * colW; }

  function defs() {
    const d = s("defs", {});
    const p = s("pattern", { id: "pat-spin", width: 8, height: 8, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
    p.appendChild(s("rect", { width: 8, height: 8, fill: "#dce8f5" }));
    p.appendChild(s("rect", { width: 3.5, height: 8, fill: "#a9c4e2" }));
    d.appendChild(p);
    for (const k in ARROWS) {
      const mk = s("marker", { id: "ah-" + k, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
      mk.appendChild(s("path", { d: "M0,0 L10,5 L0,10 z", fill: ARROWS[k].color }));
      d.appendChild(mk);
    }
    return d;
  }

  function shortText(seg) {
    const m = /G\d+/.exec(seg.text);
    if (seg.kind === "g" || seg.kind === "syscall") return m ? m[0] : seg.text;
    if (seg.kind === "spinning") return "spin";
    if (seg.kind === "idle-work") return m ? "idle!" : "";
    return "";
  }

  function drawLanes() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    if (!isGMP) {
      document.getElementById("lanes-box").style.display = "none";
      return;
    }
    layout();
    const width = colX(N) + RIGHT_PAD;  // room for the labels of arrows at the last step
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.dataset.colWidth = colW;  // the geometry, for tests and tools that click a step
    svg.dataset.labelWidth = LABEL_W;
    svg.appendChild(defs());

    // Lane backgrounds; the labels are drawn last, in a group that stays
    // at the left edge when the lanes scroll sideways.
    for (const lane of D.lanes) {
      svg.appendChild(s("rect", { class: "lane-bg", x: LABEL_W, y: laneY[lane.id], width: N * colW, height: LANE_H }));
    }
    // The lasso, under everything else.
    if (D.loop !== null) {
      const x = colX(D.loop);
      svg.appendChild(s("rect", { class: "loop-band", x: x, y: 2, width: colX(N) - x, height: height - 2 }));
      svg.appendChild(s("text", { class: "loop-label", x: x + 3, y: 10 }, "↺ cycle: steps " + D.loop + "–" + (N - 1)));
    }
    // Axis.
    const axis = s("g", { class: "axis" });
    let every = 1;
    for (const e of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]) { every = e; if (e * colW >= 26) break; }
    for (let i = 0; i < N; i += every) {
      const cx = colX(i) + colW / 2;
      axis.appendChild(s("line", { x1: cx, x2: cx, y1: AXIS_H - 5, y2: height - 2 }));
      axis.appendChild(s("text", { x: cx, y: AXIS_H - 8, "text-anchor": "middle" }, String(i)));
    }
    svg.appendChild(axis);

    // Segments.
    for (const lane of D.lanes) {
      const y0 = laneY[lane.id];
      for (const seg of lane.segments) {
        if (seg.kind === "none") continue;
        const k = KINDS[seg.kind] || KINDS.sched;
        const fill = seg.kind === "g" ? gColor(seg.g) : k.fill;
        const ink = seg.kind === "g" ? inkFor(fill) : k.text;
        const hgt = k.thin ? LANE_H * k.thin : LANE_H;
        const y = y0 + (LANE_H - hgt) / 2;
        const x = colX(seg.start) + 1, w = (seg.end - seg.start + 1) * colW - 2;
        const g = s("g", { class: "seg" });
        const r = s("rect", { x: x, y: y, width: Math.max(1, w), height: hgt, rx: 3, fill: fill });
        if (k.stroke) { r.setAttribute("stroke", k.stroke); r.setAttribute("stroke-dasharray", "3 2"); }
        g.appendChild(r);
        const span = seg.start === seg.end ? "step " + seg.start : "steps " + seg.start + "–" + seg.end;
        g.appendChild(s("title", {}, lane.id + ": " + (seg.text || k.label) + " (" + span + ")"));
        let text = seg.text;
        if (text && text.length * 6.7 + 8 > w) text = shortText(seg);
        if (text && text.length * 6.7 + 6 <= w && !k.thin) {
          g.appendChild(s("text", { x: x + w / 2, y: y0 + LANE_H / 2 + 4, "text-anchor": "middle", fill: ink }, text));
        }
        svg.appendChild(g);
      }
    }
    // Which thread took each step.
    for (let i = 1; i < N; i++) {
      const a = D.actors[i];
      if (a === null || !(a in laneY)) continue;
      svg.appendChild(s("circle", { class: "actor-dot", cx: colX(i) + colW / 2, cy: laneY[a] + LANE_H + 1, r: 2.6 }));
    }
    // Steals, hand-offs, retakes.
    const perStep = {};
    for (const a of D.arrows) {
      if (!(a.src in laneY) || !(a.dst in laneY)) continue;
      const k = (perStep[a.step] = (perStep[a.step] || 0) + 1) - 1;
      const cx = colX(a.step) + colW / 2 + k * 5;
      const down = laneY[a.dst] > laneY[a.src];
      const y1 = laneY[a.src] + LANE_H / 2;
      const y2 = laneY[a.dst] + (down ? 1 : LANE_H - 1);
      const g = s("g", { class: "arrow" });
      const col = ARROWS[a.kind] ? ARROWS[a.kind].color : "#333";
      g.appendChild(s("line", { x1: cx, y1: y1, x2: cx, y2: y2, stroke: "#fff", "stroke-width": 4, "stroke-opacity": 0.85, "stroke-linecap": "round" }));
      g.appendChild(s("line", { x1: cx, y1: y1, x2: cx, y2: y2, stroke: col, "stroke-width": 2, "marker-end": "url(#ah-" + a.kind + ")" }));
      g.appendChild(s("circle", { cx: cx, cy: y1, r: 2.6, fill: col }));
      g.appendChild(s("title", {}, "step " + a.step + ": " + a.text + " — " + a.title));
      if (colW >= 18) {
        const ty = down ? laneY[a.src] + LANE_H + LANE_GAP / 2 + 4 : laneY[a.dst] + LANE_H + LANE_GAP / 2 + 4;
        g.appendChild(s("text", { x: cx + 5, y: ty, fill: col }, a.text));
      }
      svg.appendChild(g);
    }
    // The failing step and the selection.
    if (D.fail !== null) {
      const x = colX(D.fail);
      svg.appendChild(s("rect", { class: "fail-col", x: x + 0.5, y: AXIS_H - 3, width: colW - 1, height: height - AXIS_H + 1 }));
      const cx = x + colW / 2;
      const tri = s("path", { class: "fail-mark", d: "M" + (cx - 6) + ",2 L" + (cx + 6) + ",2 L" + cx + ",10 z" });
      tri.appendChild(s("title", {}, D.meta.property + " fails here"));
      svg.appendChild(tri);
    }
    selRect = s("rect", { class: "sel-col", x: 0, y: AXIS_H - 3, width: colW, height: height - AXIS_H + 1, rx: 2 });
    svg.appendChild(selRect);
    labels = s("g", { class: "labels" });
    labels.appendChild(s("rect", { x: 0, y: 0, width: LABEL_W - 2, height: height, fill: "#fff" }));
    for (const lane of D.lanes) {
      labels.appendChild(s("text", { class: "lane-label", x: 8, y: laneY[lane.id] + LANE_H / 2 + 4 }, lane.id));
    }
    svg.appendChild(labels);
    pinLabels();
    placeSelection(false);
  }

  let labels = null;
  function pinLabels() {
    if (labels) labels.setAttribute("transform", "translate(" + scroller.scrollLeft + ",0)");
  }
  scroller.addEventListener("scroll", pinLabels);

  function placeSelection(scroll) {
    if (!selRect) return;
    const x = colX(sel);
    selRect.setAttribute("x", x);
    if (scroll) {
      const left = scroller.scrollLeft, w = scroller.clientWidth;
      if (x < left + LABEL_W || x + colW > left + w) scroller.scrollLeft = Math.max(0, x - w / 2);
    }
  }

  svg.addEventListener("click", ev => {
    const r = svg.getBoundingClientRect();
    if (ev.clientX - scroller.getBoundingClientRect().left < LABEL_W) return;  // the pinned labels
    const i = Math.floor((ev.clientX - r.left - LABEL_W) / colW);
    if (i >= 0 && i < N) select(i);
  });

  function drawLegend() {
    const box = document.getElementById("legend");
    if (!isGMP) return;
    const used = new Set();
    for (const lane of D.lanes) for (const seg of lane.segments) used.add(seg.kind);
    for (const k in KINDS) {
      if (!used.has(k)) continue;
      const item = h("span");
      const sw = h("span", "sw");
      if (k === "g") sw.style.background = "linear-gradient(90deg," + G_COLORS.slice(0, 4).join(",") + ")";
      else if (k === "spinning") sw.style.background = "repeating-linear-gradient(45deg,#a9c4e2 0 3px,#dce8f5 3px 7px)";
      else sw.style.background = KINDS[k].fill;
      if (KINDS[k].stroke) sw.style.border = "1px dashed " + KINDS[k].stroke;
      item.appendChild(sw);
      item.appendChild(document.createTextNode(KINDS[k].label));
      box.appendChild(item);
    }
    const kinds = new Set(D.arrows.map(a => a.kind));
    for (const k in ARROWS) {
      if (!kinds.has(k)) continue;
      const item = h("span");
      const ar = h("span", "ar");
      ar.style.borderColor = ARROWS[k].color;
      item.appendChild(ar);
      item.appendChild(document.createTextNode(ARROWS[k].label));
      box.appendChild(item);
    }
    const dot = h("span", "", "● the thread that took the step");
    box.appendChild(dot);
    if (D.hidden.length) box.appendChild(h("span", "", D.hidden.join(", ") + ": never started"));
  }

  // ---- the step list -------------------------------------------------------

  const list = document.getElementById("step-list");
  const items = [];
  function drawSteps() {
    const frag = document.createDocumentFragment();
    for (let i = 0; i < N; i++) {
      const st = D.steps[i];
      const li = h("li");
      if (D.loop !== null && i >= D.loop) li.classList.add("loop");
      if (i === D.fail) li.classList.add("fail");
      li.appendChild(h("span", "n", i));
      li.appendChild(h("span", "who", st.actor || ""));
      li.appendChild(h("span", "act", st.action));
      li.title = st.action;
      li.dataset.step = i;
      frag.appendChild(li);
      items.push(li);
    }
    list.appendChild(frag);
    list.addEventListener("click", ev => {
      const li = ev.target.closest("li");
      if (li) select(Number(li.dataset.step));
    });
  }

  // ---- the selected step ---------------------------------------------------

  function card(title, cls) {
    const c = h("div", "card" + (cls ? " " + cls : ""));
    c.appendChild(h("h3", "", title));
    return c;
  }
  function gChip(g) {
    const c = h("span", "chip", "G" + g);
    c.style.background = gColor(g);
    c.style.color = inkFor(gColor(g));
    return c;
  }
  function emptyChip(text) { return h("span", "chip empty", text || "–"); }
  function mark(e, path, changed) {
    if (changed.has(path)) {
      e.classList.add("changed");
      e.title = "changed by this step, was " + changed.get(path);
    }
    return e;
  }
  function qrow(label, path, changed, chips) {
    const r = h("div", "qrow");
    r.appendChild(h("span", "ql", label));
    for (const c of chips) r.appendChild(c);
    return mark(r, path, changed);
  }

  function whereIs(st, g) {
    const out = [];
    for (const m of st.M) {
      if (m.curg === g) out.push((st.G[g].status === "syscall" ? "in a syscall on M" : "on M") + m.id + (isNone(m.p) ? "" : " / P" + m.p));
      if (m.gp === g || (m.batch || []).includes(g)) out.push("in transit with M" + m.id);
    }
    for (const p of st.P) {
      if (p.runnext === g) out.push("runnext of P" + p.id);
      if (p.runq.includes(g)) out.push("ring of P" + p.id);
    }
    if (st.sched.runq.includes(g)) out.push("global queue");
    if ((st.sysmon.batch || []).includes(g) || st.sysmon.gp === g) out.push("in transit with sysmon");
    return out;
  }

  function queuesCard(st, changed) {
    const c = card("Run queues and idle lists");
    const ring = (D.meta.config && D.meta.config.ring) || 0;
    for (const p of st.P) {
      const pc = h("div", "pcard");
      const ph = h("div", "ph");
      ph.appendChild(h("b", "", "P" + p.id));
      ph.appendChild(mark(h("span", "status " + p.status, p.status), "P[" + p.id + "].status", changed));
      ph.appendChild(mark(h("span", "mono", isNone(p.m) ? "no M" : "M" + p.m), "P[" + p.id + "].m", changed));
      ph.appendChild(mark(h("span", "mono none", "schedtick " + p.schedtick), "P[" + p.id + "].schedtick", changed));
      pc.appendChild(ph);
      pc.appendChild(qrow("runnext", "P[" + p.id + "].runnext", changed, [isNone(p.runnext) ? emptyChip() : gChip(p.runnext)]));
      const chips = p.runq.map(gChip);
      for (let k = p.runq.length; k < ring; k++) chips.push(emptyChip());
      pc.appendChild(qrow("ring (" + ring + ")", "P[" + p.id + "].runq", changed, chips.length ? chips : [emptyChip()]));
      c.appendChild(pc);
    }
    const sc = st.sched;
    c.appendChild(qrow("global runq", "sched.runq", changed, sc.runq.length ? sc.runq.map(gChip) : [emptyChip("empty")]));
    c.appendChild(qrow("idle Ps", "sched.pidle", changed, sc.pidle.length ? sc.pidle.map(p => h("span", "chip p", "P" + p)) : [emptyChip("none")]));
    c.appendChild(qrow("idle Ms", "sched.midle", changed, sc.midle.length ? sc.midle.map(m => h("span", "chip m", "M" + m)) : [emptyChip("none")]));
    const counters = h("div", "counters");
    for (const k of ["nmspinning", "needspinning"]) {
      const e = h("span", "counter", k);
      e.appendChild(h("b", "", sc[k]));
      counters.appendChild(mark(e, "sched." + k, changed));
    }
    if (!isNone(sc.throw)) counters.appendChild(h("span", "counter lost", "throw: " + sc.throw));
    c.appendChild(counters);
    return c;
  }

  function table(cols, rows) {
    const t = h("table");
    const hr = h("tr");
    for (const col of cols) hr.appendChild(h("th", "", col));
    t.appendChild(hr);
    for (const r of rows) t.appendChild(r);
    return t;
  }
  function td(text, path, changed, cls) {
    const e = h("td", cls || "", text);
    if (text === "-") e.classList.add("none");
    return path ? mark(e, path, changed) : e;
  }

  function threadsCard(st, changed) {
    const c = card("Threads (Ms) and sysmon");
    const rows = [];
    const idle = [];
    for (const m of st.M) {
      if (m.pc === "NOT_CREATED") { idle.push("M" + m.id); continue; }
      const r = h("tr");
      const pre = "M[" + m.id + "].";
      r.appendChild(td("M" + m.id));
      r.appendChild(td(m.pc, pre + "pc", changed));
      r.appendChild(td(isNone(m.p) ? "-" : "P" + m.p, pre + "p", changed));
      r.appendChild(td(isNone(m.curg) ? "-" : "G" + m.curg, pre + "curg", changed));
      r.appendChild(td(m.spinning ? "spinning" : "-", pre + "spinning", changed));
      r.appendChild(td(isNone(m.nextp) ? "-" : "P" + m.nextp, pre + "nextp", changed));
      r.appendChild(td(isNone(m.oldp) ? "-" : "P" + m.oldp, pre + "oldp", changed));
      const transit = [];
      if (!isNone(m.gp)) transit.push("gp G" + m.gp);
      if (!isNone(m.pp)) transit.push("pp P" + m.pp);
      if (m.batch && m.batch.length) transit.push("batch " + fmt(m.batch));
      r.appendChild(td(transit.join(", ") || "-"));
      rows.push(r);
    }
    const r = h("tr");
    r.appendChild(td("sysmon"));
    r.appendChild(td(st.sysmon.pc, "sysmon.pc", changed));
    for (let k = 0; k < 5; k++) r.appendChild(td(""));
    r.appendChild(td(isNone(st.sysmon.pp) ? "-" : "pp P" + st.sysmon.pp, "sysmon.pp", changed));
    rows.push(r);
    c.appendChild(table(["M", "pc (next step)", "P", "curg", "spinning", "nextp", "oldp", "in transit"], rows));
    if (idle.length) c.appendChild(h("div", "none", idle.join(", ") + ": not started"));
    return c;
  }

  function goroutinesCard(st, changed) {
    const c = card("Goroutines");
    const rows = [];
    for (const g of st.G) {
      const r = h("tr");
      const pre = "G[" + g.id + "].";
      const chipCell = h("td");
      chipCell.appendChild(gChip(g.id));
      r.appendChild(chipCell);
      r.appendChild(td(g.status, pre + "status", changed));
      r.appendChild(td(g.at === undefined ? "-" : g.at, pre + "at", changed));
      r.appendChild(td(g.preempt ? "requested" : "-", pre + "preempt", changed));
      let where = "-", cls = "";
      if (g.status !== "dead" && g.status !== "waiting") {
        const places = whereIs(st, g.id);
        if (places.length === 0) { where = "nowhere: lost"; cls = "lost"; }
        else { where = places.join("; "); if (places.length > 1) cls = "lost"; }
      } else if (g.status === "waiting") where = "waiting (parked)";
      r.appendChild(td(where, null, changed, cls));
      if (g.status === "dead") r.style.opacity = "0.5";
      rows.push(r);
    }
    c.appendChild(table(["G", "status", "at", "preempt", "where"], rows));
    return c;
  }

  function changedCard(i) {
    const c = card(i === 0 ? "Initial state" : "Changed by this step");
    const ch = D.steps[i].changed;
    if (i === 0) { c.appendChild(h("div", "none", "the state the search starts from")); return c; }
    if (!ch.length) { c.appendChild(h("div", "none", "no field changed")); return c; }
    const rows = ch.map(([path, old, nu]) => {
      const r = h("tr");
      r.appendChild(h("td", "", path));
      r.appendChild(h("td", "old", old));
      r.appendChild(h("td", "", "→"));
      r.appendChild(h("td", "new", nu));
      return r;
    });
    const t = table(["field", "before", "", "after"], rows);
    t.classList.add("fit");
    c.appendChild(t);
    return c;
  }

  function allFieldsCard(st, changed) {
    const d = h("details", "card");
    d.appendChild(h("summary", "", "All fields of the state after step " + sel));
    if (!isGMP) d.open = true;
    const rows = flatten(st, "", []).map(([path, v]) => {
      const r = h("tr");
      r.appendChild(td(path));
      r.appendChild(td(fmt(v), path, changed));
      return r;
    });
    d.appendChild(table(["field", "value"], rows));
    return d;
  }

  function drawDetail() {
    const i = sel, st = D.states[i], step = D.steps[i];
    const changed = new Map(step.changed.map(([p, old]) => [p, old]));
    const head = document.getElementById("step-head");
    head.textContent = "";
    head.appendChild(h("span", "stepno", "Step " + i + " / " + (N - 1)));
    if (step.actor) head.appendChild(h("span", "actor", step.actor));
    head.appendChild(h("code", "action", step.action));
    if (i === D.fail) head.appendChild(h("span", "badge fail", "✖ " + D.meta.property + " fails here"));
    if (D.loop !== null && i === D.loop) head.appendChild(h("span", "badge loop", "cycle starts here"));
    if (D.loop !== null && i === N - 1) head.appendChild(h("span", "badge loop", "→ back to step " + D.loop));
    const body = document.getElementById("detail-body");
    body.textContent = "";
    if (i === D.fail) {
      let how = D.meta.kind === "action" ? "by this step" : "in this state";
      if (D.loop !== null) how = "on the cycle of steps " + D.loop + "–" + (N - 1);
      const f = card(D.meta.property + " violated " + how, "failbox");
      f.appendChild(h("div", "", D.meta.message || ""));
      body.appendChild(f);
    }
    if (isGMP) {
      const grid = h("div", "grid2");
      grid.appendChild(changedCard(i));
      grid.appendChild(queuesCard(st, changed));
      body.appendChild(grid);
      body.appendChild(threadsCard(st, changed));
      body.appendChild(goroutinesCard(st, changed));
    } else {
      body.appendChild(changedCard(i));
    }
    body.appendChild(allFieldsCard(st, changed));
  }

  // ---- selection and navigation -------------------------------------------

  let sel = 0;
  function select(i, opts) {
    i = Math.max(0, Math.min(N - 1, i | 0));
    if (items[sel]) items[sel].classList.remove("sel");
    sel = i;
    document.body.dataset.step = String(i);
    items[i].classList.add("sel");
    items[i].scrollIntoView({ block: opts && opts.center ? "center" : "nearest" });
    placeSelection(true);
    drawDetail();
    if (!opts || !opts.keepHash) {
      try { history.replaceState(null, "", "#step=" + i); } catch (e) { /* some file: URLs refuse; the page works without it */ }
    }
  }

  document.addEventListener("keydown", ev => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    let next = null;
    if (ev.key === "ArrowRight") next = sel + 1;
    else if (ev.key === "ArrowLeft") next = sel - 1;
    else if (ev.key === "Home") next = 0;
    else if (ev.key === "End") next = N - 1;
    if (next === null) return;
    ev.preventDefault();
    select(next);
  });

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(drawLanes, 120);
  });

  drawHeader();
  drawSteps();
  drawLegend();
  const fromHash = /^#step=(\d+)$/.exec(location.hash);
  if (fromHash) sel = Math.min(N - 1, Number(fromHash[1]));
  else if (D.initial !== null) sel = D.initial;
  else sel = D.fail !== null ? D.fail : 0;
  drawLanes();
  select(sel, { keepHash: !fromHash, center: true });
})();
