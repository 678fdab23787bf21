// Supervisor dashboard: plain JS, no build step. Charts: Chart.js (vendored UMD build, /static/chart.umd.min.js).
// Data: /api/supervisor/metrics (+ /conversations, /gaps, /export/{table}.csv); formulas in docs/analytics.md.
(() => {
  const $ = (id) => document.getElementById(id);
  const keyInput = $("api-key");
  keyInput.value = localStorage.getItem("sb-supervisor-key") || "dev-supervisor-key";
  keyInput.onchange = () => { localStorage.setItem("sb-supervisor-key", keyInput.value); loadAll(); };
  const charts = {};
  let drillState = null;

  async function api(path, opts = {}) {
    const res = await fetch(path, { ...opts, headers: { "Content-Type": "application/json", "X-API-Key": keyInput.value.trim() } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || res.statusText);
    return body;
  }
  function el(tag, text, cls) { const e = document.createElement(tag); if (text != null) e.textContent = text; if (cls) e.className = cls; return e; }
  const pct = (r) => (r == null ? "—" : (r * 100).toFixed(r >= 0.995 || r === 0 ? 0 : 1) + "%");
  const rateOf = (rate) => pct(rate && rate.value);
  const num = (v, d = 1) => (v == null ? "—" : Number(v).toFixed(d).replace(/\.0+$/, ""));
  function dur(s) {
    if (s == null) return "—";
    if (s < 90) return Math.round(s) + " s";
    if (s < 5400) return (s / 60).toFixed(1).replace(/\.0$/, "") + " min";
    if (s < 172800) return (s / 3600).toFixed(1).replace(/\.0$/, "") + " h";
    return (s / 86400).toFixed(1).replace(/\.0$/, "") + " d";
  }
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

  // -- filters -------------------------------------------------------------------------
  // The dates start empty: the server's default range (the last 30 days, as days of the
  // tenant's timezone) fills them on the first load. The browser's own date can be another
  // day than the tenant's (its clock's zone, or UTC), which hid today's conversations.
  function query(extra = {}) {
    const q = new URLSearchParams();
    const f = { start: $("f-start").value, end: $("f-end").value, queue: $("f-queue").value, topic: $("f-topic").value,
      channel: $("f-channel").value, bucket: $("f-bucket").value, ...extra };
    for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
    return q.toString();
  }
  function fillOptions(select, values, allLabel) {
    const keep = select.value;
    select.innerHTML = "";
    const all = el("option", allLabel); all.value = ""; select.appendChild(all);
    for (const v of new Set([...values, ...(keep ? [keep] : [])])) { const o = el("option", v); o.value = v; select.appendChild(o); }
    select.value = keep;
  }
  $("filters").onsubmit = (e) => { e.preventDefault(); loadAll(); };

  // -- tiles ---------------------------------------------------------------------------
  function tiles(s) {
    const box = $("tiles"); box.innerHTML = "";
    const defs = [
      ["conversations", "Conversations", String(s.conversations), `${s.in_progress} in progress · ${s.empty} opened empty (not counted)`, "conversations"],
      ["bot_resolution", "Bot resolution", rateOf(s.bot_resolution), `confirmed ${rateOf(s.confirmed_resolution)} · assumed ${rateOf(s.assumed_resolution)} · ${s.reopened} reopened`, "bot_resolved"],
      ["handoff", "Handoff rate", rateOf(s.handoff), `${plural(s.handoffs, "handoff", "handoffs")} · ${s.unanswered_handoffs} waiting for a reply`, "handed_off"],
      ["fcr", "First contact resolution", rateOf(s.fcr), `${s.fcr.numerator} of ${s.fcr.denominator} ended without a repeat contact`, "repeat_contact"],
      ["csat", "CSAT (4–5 of 5)", rateOf(s.csat_score), `mean ${num(s.csat_mean)}/5 · response rate ${rateOf(s.csat_response)}`, "rated"],
      ["frt", "First response (median)", dur(s.first_response_median_s), `mean ${dur(s.first_response_mean_s)} · wait to claim ${dur(s.claim_wait_median_s)}`, "handed_off"],
      ["aht", "Average handle time", dur(s.aht_mean_s), `${plural(s.handled, "conversation", "conversations")} handled · ${plural(s.agents, "agent", "agents")}`, "handled"],
      ["after_hours", "After-hours tickets", String(s.after_hours_tickets), "handoffs outside business hours (a ticket each)", "after_hours"],
      ["effort", "Customer effort", `${num(s.customer_turns_mean)} ${s.customer_turns_mean === 1 ? "turn" : "turns"}`, `bot-resolved in ${num(s.turns_to_resolution_bot)} · repeated ${rateOf(s.repeated)} · clarified ${rateOf(s.clarified)}`, "repeated"],
      ["copilot", "Copilot acceptance", rateOf(s.copilot_acceptance), `${plural(s.copilot_acceptance.denominator, "suggestion", "suggestions")} shown · mean edit ${num(s.copilot_edit_distance_mean)} chars`, "handled"],
    ];
    for (const [key, label, value, sub, measure] of defs) {
      const t = el("div", null, "tile"); t.dataset.testid = `tile-${key}`; t.setAttribute("data-testid", `tile-${key}`);
      t.tabIndex = 0; t.title = "Show the conversations behind this number";
      const v = el("div", value, "value"); v.setAttribute("data-testid", `value-${key}`);
      t.append(el("div", label, "label"), v, el("div", sub, "sub"));
      t.onclick = () => drill(measure, label);
      t.onkeydown = (e) => { if (e.key === "Enter") drill(measure, label); };
      box.appendChild(t);
    }
  }

  // -- charts --------------------------------------------------------------------------
  function chart(id, config) {
    if (typeof Chart === "undefined") return;
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), { ...config, options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options } });
  }
  function drawCharts(r) {
    const labels = r.series.map((p) => p.bucket.slice(5));
    chart("chart-series", {
      data: { labels, datasets: [
        { type: "bar", label: "Conversations", data: r.series.map((p) => p.conversations), backgroundColor: "#b9d3c4", yAxisID: "y" },
        { type: "bar", label: "Handed off", data: r.series.map((p) => p.handed_off), backgroundColor: "#e8b9a5", yAxisID: "y" },
        { type: "line", label: "Bot resolution %", data: r.series.map((p) => (p.bot_resolution_rate == null ? null : Math.round(p.bot_resolution_rate * 100))),
          borderColor: "#2f6b4f", backgroundColor: "#2f6b4f", yAxisID: "y1", spanGaps: true, tension: 0.2 },
      ] },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "conversations" } },
        y1: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "%" } } },
        onClick: (_, els) => { if (els.length) { const p = r.series[els[0].index]; drill(`bucket:${p.bucket}`, `Conversations of ${p.bucket}`); } } },
    });
    chart("chart-reasons", {
      type: "bar",
      data: { labels: r.handoff_reasons.map((x) => x.reason.replace(/_/g, " ")), datasets: [{ label: "Handoffs", data: r.handoff_reasons.map((x) => x.handoffs), backgroundColor: "#e8b9a5" }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        onClick: (_, els) => { if (els.length) { const x = r.handoff_reasons[els[0].index]; drill(`reason:${x.reason}`, `Handed off: ${x.reason}`); } } },
    });
    chart("chart-csat", {
      type: "bar",
      data: { labels: r.csat.map((x) => `${x.rating}★`), datasets: [{ label: "Ratings", data: r.csat.map((x) => x.responses),
        backgroundColor: ["#d98c6f", "#e8b9a5", "#e3d9a3", "#b9d3c4", "#2f6b4f"] }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        onClick: (_, els) => { if (els.length) { const x = r.csat[els[0].index]; drill(`csat:${x.rating}`, `Rated ${x.rating} of 5`); } } },
    });
  }

  // -- tables --------------------------------------------------------------------------
  function table(id, columns, rows, onClick, empty = "Nothing in this range.") {
    const t = $(id); t.innerHTML = "";
    const head = el("tr");
    for (const [label, , cls] of columns) head.appendChild(el("th", label, cls || ""));
    const thead = el("thead"); thead.appendChild(head); t.appendChild(thead);
    const body = el("tbody");
    if (!rows.length) { const tr = el("tr"); const td = el("td", empty, "muted"); td.colSpan = columns.length; tr.appendChild(td); body.appendChild(tr); }
    for (const row of rows) {
      const tr = el("tr");
      for (const [, get, cls] of columns) tr.appendChild(el("td", String(get(row) ?? "—"), cls || ""));
      if (onClick) { tr.className = "click"; tr.onclick = () => onClick(row); }
      body.appendChild(tr);
    }
    t.appendChild(body);
  }
  const N = "num";
  function breakdownCols(label) {
    return [[label, (x) => x.key], ["Conversations", (x) => x.conversations, N], ["Bot resolution", (x) => pct(x.bot_resolution_rate), N],
      ["Handoff", (x) => pct(x.handoff_rate), N], ["FCR", (x) => pct(x.fcr_rate), N], ["CSAT", (x) => pct(x.csat_score), N], ["AHT", (x) => dur(x.aht_mean_s), N]];
  }
  function drawTables(r) {
    table("t-queues", breakdownCols("Queue"), r.queues, (x) => drill("conversations", `Queue ${x.key}`, { queue: x.key }));
    table("t-topics", breakdownCols("Topic"), r.topics, (x) => drill("conversations", `Topic ${x.key}`, { topic: x.key }));
    table("t-channels", breakdownCols("Channel"), r.channels, (x) => drill("conversations", `Channel ${x.key}`, { channel: x.key }));
    table("t-handoff_reasons", [["Reason", (x) => x.reason.replace(/_/g, " ")], ["Handoffs", (x) => x.handoffs, N], ["Share", (x) => pct(x.share), N], ["Conversations", (x) => x.conversations, N]],
      r.handoff_reasons, (x) => drill(`reason:${x.reason}`, `Handed off: ${x.reason}`));
    table("t-agents", [["Agent", (x) => x.agent], ["Conversations", (x) => x.conversations, N], ["First response (median)", (x) => dur(x.first_response_median_s), N],
      ["AHT", (x) => dur(x.aht_mean_s), N], ["Copilot shown", (x) => x.copilot_shown, N], ["Accepted", (x) => pct(x.copilot_acceptance_rate), N],
      ["Mean edit", (x) => num(x.copilot_edit_distance_mean), N], ["CSAT mean", (x) => num(x.csat_mean), N]],
      r.agents, (x) => drill(`agent:${x.agent}`, `Handled by ${x.agent}`));
    table("t-after_hours", [["Started", (x) => new Date(x.created_at).toLocaleString()], ["Ticket", (x) => x.ticket], ["Queue", (x) => x.queue],
      ["First response", (x) => dur(x.first_response_s), N], ["Closed", (x) => (x.closed ? "yes" : "no")]],
      r.after_hours, (x) => transcript(x.conversation_id));
    table("t-copilot", [["Type", (x) => x.kind], ["Shown", (x) => x.shown, N], ["Inserted", (x) => x.inserted, N], ["Edited", (x) => x.edited, N],
      ["Dismissed", (x) => x.dismissed, N], ["Acceptance", (x) => pct(x.acceptance_rate), N], ["Mean edit", (x) => num(x.edit_distance_mean), N]], r.copilot);
    table("t-csat_comments", [["When", (x) => new Date(x.created_at).toLocaleDateString()], ["Rating", (x) => `${x.rating}/5`, N],
      ["Solved?", (x) => (x.resolved == null ? "—" : x.resolved ? "yes" : "no")], ["Comment", (x) => x.comment || "—"]],
      r.csat_comments, (x) => transcript(x.conversation_id), "No comments in this range.");
    table("t-series", [["Bucket", (x) => x.bucket], ["Conversations", (x) => x.conversations, N], ["Bot resolved", (x) => x.bot_resolved, N],
      ["Handed off", (x) => x.handed_off, N], ["After hours", (x) => x.after_hours, N], ["FCR", (x) => pct(x.fcr_rate), N], ["CSAT", (x) => pct(x.csat_score), N]],
      r.series.filter((x) => x.conversations), (x) => drill(`bucket:${x.bucket}`, `Conversations of ${x.bucket}`));
  }

  // -- knowledge gaps --------------------------------------------------------------------
  async function loadGaps() {
    const box = $("gaps");
    try {
      const g = await api(`/api/supervisor/metrics/gaps?${query()}`);
      box.innerHTML = "";
      if (!g.clusters.length) { box.appendChild(el("p", "No unanswered questions in this range.", "muted")); return; }
      box.appendChild(el("p", `${g.questions} unanswered questions in ${g.count} groups.`, "muted"));
      for (const c of g.clusters) {
        const div = el("div", null, "gap"); div.setAttribute("data-testid", "gap");
        div.append(el("div", `${c.label}`, "q"),
          el("div", `${c.questions} questions · ${c.conversations} conversations · abstained ${c.abstained} · handed off ${c.no_answer}`, "muted"));
        const ex = el("div", null, "ex"); ex.textContent = c.examples.map((e) => `“${e}”`).join("  ·  "); div.appendChild(ex);
        const links = el("div");
        c.conversation_ids.slice(0, 8).forEach((id) => { const a = el("a", `conversation ${id.slice(0, 6)}`); a.onclick = () => transcript(id); links.appendChild(a); });
        for (const d of c.drafts) { const a = el("a", `KB draft: ${d.title} (${d.status})`); a.href = "#drafts-section"; links.appendChild(a); }
        div.appendChild(links);
        box.appendChild(div);
      }
    } catch (e) { box.innerHTML = ""; box.appendChild(el("p", e.message, "err")); }
  }

  // -- drill-down ------------------------------------------------------------------------
  async function drill(measure, title, extra = {}) {
    drillState = { measure, extra };
    const panel = $("drill"); panel.classList.add("open");
    $("drill-title").textContent = title; $("transcript").innerHTML = "";
    const body = $("drill-rows"); body.innerHTML = "";
    try {
      const r = await api(`/api/supervisor/metrics/conversations?${query({ ...extra, measure })}`);
      $("drill-title").textContent = `${title} — ${r.count} conversation${r.count === 1 ? "" : "s"}`;
      for (const c of r.data) {
        const tr = el("tr", null, "click"); tr.dataset.conversation = c.id; tr.setAttribute("data-testid", "drill-row");
        for (const [v, cls] of [[new Date(c.created_at).toLocaleString()], [c.customer_id || "guest"], [c.queue], [c.topic], [c.outcome],
          [c.customer_turns, N], [c.agents.join(", ") || "—"], [c.csat ?? "—", N], [c.fcr == null ? "—" : c.fcr ? "yes" : "no"]]) tr.appendChild(el("td", String(v), cls || ""));
        tr.onclick = () => transcript(c.id);
        body.appendChild(tr);
      }
      panel.scrollIntoView({ behavior: "smooth", block: "start" });
    } catch (e) { $("err").textContent = e.message; }
  }
  $("drill-close").onclick = (e) => { e.preventDefault(); $("drill").classList.remove("open"); };
  async function transcript(id) {
    const box = $("transcript"); box.innerHTML = "";
    $("drill").classList.add("open");
    try {
      const c = await api(`/api/agent/conversations/${encodeURIComponent(id)}`);
      box.appendChild(el("h3", `Conversation ${id} · ${c.state}${c.queue ? " · " + c.queue : ""}`));
      const log = el("div", null, "log"); log.setAttribute("data-testid", "transcript-log");
      for (const m of c.messages) {
        const div = el("div", null, `msg ${m.author}`);
        div.append(el("span", `${m.author} · ${new Date(m.created_at).toLocaleString()}${m.kind ? " · " + m.kind : ""}`, "who"), document.createTextNode(m.text));
        log.appendChild(div);
      }
      box.appendChild(log);
      box.scrollIntoView({ behavior: "smooth", block: "nearest" });
    } catch (e) { box.appendChild(el("p", e.message, "err")); }
  }

  // -- CSV -------------------------------------------------------------------------------
  for (const b of document.querySelectorAll("button.csv")) {
    b.onclick = async (e) => {
      e.preventDefault();
      const t = b.dataset.table;
      const extra = t === "conversations" && drillState ? { ...drillState.extra, measure: drillState.measure } : {};
      try {
        const res = await fetch(`/api/supervisor/metrics/export/${t}.csv?${query(extra)}`, { headers: { "X-API-Key": keyInput.value.trim() } });
        if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || res.statusText);
        const blob = await res.blob();
        const a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = `${t}_${$("f-start").value}_${$("f-end").value}.csv`;
        document.body.appendChild(a); a.click(); a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      } catch (err) { $("err").textContent = err.message; }
    };
  }

  // -- the all-time copilot table and the KB drafts (unchanged behaviour) ------------------
  async function loadRates() {
    $("rates").innerHTML = ""; $("rates-err").textContent = "";
    try {
      const r = await api("/api/supervisor/copilot/acceptance");
      if (!r.data.length) { const tr = el("tr"); const td = el("td", "No feedback yet."); td.colSpan = 7; tr.appendChild(td); $("rates").appendChild(tr); }
      for (const k of r.data) {
        const tr = el("tr"); tr.dataset.kind = k.kind;
        for (const v of [k.kind, k.shown, k.inserted, k.edited, k.dismissed, (k.acceptance_rate * 100).toFixed(0) + "%", k.mean_edit_distance ?? "—"]) tr.appendChild(el("td", String(v)));
        $("rates").appendChild(tr);
      }
    } catch (e) { $("rates-err").textContent = e.message; }
  }
  async function loadDrafts() {
    const box = $("drafts"); box.innerHTML = ""; $("drafts-err").textContent = "";
    try {
      const r = await api("/api/copilot/drafts");
      if (!r.data.length) box.appendChild(el("p", "No drafts waiting."));
      for (const d of r.data) {
        const card = el("div", null, "draft"); card.dataset.testid = "draft";
        const title = el("input"); title.value = d.title; title.setAttribute("aria-label", "Title");
        const body = el("textarea"); body.value = d.body; body.setAttribute("aria-label", "Body");
        const vis = el("select"); for (const v of ["internal", "public"]) { const o = el("option", v); o.value = v; vis.appendChild(o); }
        const ok = el("button", "Approve and publish", "primary");
        ok.onclick = async () => {
          try { const p = await api(`/api/copilot/drafts/${d.id}/approve`, { method: "POST", body: JSON.stringify({ title: title.value, body: body.value, visibility: vis.value }) });
            card.textContent = `Published ${p.article_id} v${p.version}.`; } catch (e) { $("drafts-err").textContent = e.message; }
        };
        const no = el("button", "Reject");
        no.onclick = async () => { await api(`/api/copilot/drafts/${d.id}/reject`, { method: "POST" }); card.remove(); };
        card.append(el("div", `From conversation ${d.conversation_id || "—"} · ${new Date(d.created_at).toLocaleString()}`), title, body, vis, " ", ok, " ", no);
        box.appendChild(card);
      }
    } catch (e) { $("drafts-err").textContent = e.message; }
  }

  // -- load ------------------------------------------------------------------------------
  async function loadMetrics() {
    $("err").textContent = "";
    try {
      const r = await api(`/api/supervisor/metrics?${query()}`);
      fillOptions($("f-queue"), r.options.queues, "all queues");
      fillOptions($("f-topic"), r.options.topics, "all topics");
      fillOptions($("f-channel"), r.options.channels, "all channels");
      const f = r.filter;
      if (!$("f-start").value) $("f-start").value = f.start;
      if (!$("f-end").value) $("f-end").value = f.end;
      $("scope").textContent = `${f.start} to ${f.end}` + (f.queue ? ` · queue ${f.queue}` : "") + (f.topic ? ` · topic ${f.topic}` : "") + (f.channel ? ` · ${f.channel}` : "");
      document.body.dataset.loaded = `${f.start}|${f.end}|${f.queue || ""}|${f.topic || ""}|${f.channel || ""}`;
      tiles(r.summary); drawCharts(r); drawTables(r);
    } catch (e) { $("err").textContent = e.message; }
  }
  function loadAll() { loadMetrics(); loadGaps(); loadRates(); loadDrafts(); }
  loadAll();
})();
