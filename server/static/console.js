// Switchboard agent console: plain JS, no build step.
// Copilot events carry message_seq; anything older than the newest customer message is dropped.
(() => {
  const $ = (id) => document.getElementById(id);
  const keyInput = $("api-key");
  keyInput.value = localStorage.getItem("sb-agent-key") || "dev-agent-key";
  keyInput.onchange = () => { localStorage.setItem("sb-agent-key", keyInput.value); loadQueue(); };
  let current = null, convSocket = null, queueSocket = null, latestSeq = 0, shownSeq = 0, convSeq = 0;
  let inserted = null; // {id, text}: the suggestion the composer text came from
  let drafting = null; // element streaming the model's draft reply
  const seen = new Set();
  const key = () => keyInput.value.trim();
  const proto = location.protocol === "https:" ? "wss" : "ws";

  async function api(path, opts = {}) {
    const res = await fetch(path, { ...opts, headers: { "Content-Type": "application/json", "X-API-Key": key() } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || res.statusText);
    return body;
  }
  // Article URLs come from KB metadata: only http(s) becomes a link (no javascript:, data:, …).
  function safeHref(url) {
    try {
      const u = new URL(String(url || ""), location.href);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) { return null; }
  }
  function linkTo(url, cls, text) {
    const href = url ? safeHref(url) : null;
    const a = el(href ? "a" : "span", cls, text);
    if (href) { a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer"; }
    return a;
  }
  function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function feedback(items) {
    if (!current || !items.length) return Promise.resolve();
    return api(`/api/copilot/conversations/${current}/feedback`, { method: "POST", body: JSON.stringify({ items }) }).catch(() => {});
  }

  async function loadQueue() {
    const q = await api("/api/agent/conversations");
    const box = $("queue"); box.innerHTML = "";
    if (!q.data.length) box.appendChild(el("p", "muted", "No conversations waiting.")).style.margin = "14px";
    for (const c of q.data) {
      const item = el("div", "queue-item" + (c.id === current ? " active" : ""));
      item.dataset.conversation = c.id; item.dataset.testid = "queue-item";
      item.appendChild(el("div", null, (c.customer_id || "guest") + " · " + c.id.slice(0, 6)));
      const meta = el("div", "muted");
      meta.appendChild(el("span", "badge", c.state.replace("_", " ")));
      if (c.queue) meta.appendChild(el("span", "badge", c.queue));
      if (c.priority === "high") meta.appendChild(el("span", "badge high", "high"));
      item.appendChild(meta);
      item.onclick = () => open(c.id);
      box.appendChild(item);
    }
  }

  function showMessage(m) {
    if (seen.has(m.id)) return; seen.add(m.id);
    const div = el("div", "msg " + m.author); div.dataset.author = m.author;
    div.appendChild(el("span", "who", { customer: "Customer", bot: "Bot", agent: "You", system: "" }[m.author] ?? m.author));
    div.appendChild(document.createTextNode(m.text));
    if (m.action) div.appendChild(actionLine(m.action));
    $("log").appendChild(div); $("log").scrollTop = $("log").scrollHeight;
    if (m.author === "customer" && m.seq > latestSeq) {
      latestSeq = m.seq;
      if (shownSeq && shownSeq < latestSeq) { // suggestions for an older message: hide them until the new ones arrive
        $("stale-note").hidden = false;
        for (const b of ["replies", "suggestions", "nba", "guidance"]) $(b).innerHTML = "";
        drafting = null;
      }
    }
  }

  // A self-service action the bot proposed, asked about or ran: name, status, parameters, result.
  function actionLine(a) {
    const box = el("div", "muted"); box.dataset.testid = "action";
    box.appendChild(el("span", "badge", `action ${String(a.name).replace(/_/g, " ")}: ${a.status}`));
    const args = Object.entries(a.args || {}).filter(([, v]) => v !== null && v !== "").map(([k, v]) => `${k.replace(/_/g, " ")} = ${v}`);
    if (args.length) box.appendChild(el("span", null, args.join(", ")));
    if (a.awaiting) box.appendChild(el("span", null, ` · waiting for ${String(a.awaiting).replace(/_/g, " ")}`));
    if (a.result !== undefined && a.result !== null) box.appendChild(el("div", null, "result: " + JSON.stringify(a.result).slice(0, 300)));
    return box;
  }

  function showBrief(h) {
    const b = h.brief, box = $("brief"); box.innerHTML = "";
    const d = el("dl", "brief"); d.dataset.testid = "handoff-brief";
    const add = (k, v) => { if (v) { d.appendChild(el("dt", null, k)); d.appendChild(el("dd", null, v)); } };
    add("Why handed off", b.reason.replace(/_/g, " ") + (b.reason_detail ? " — " + b.reason_detail : ""));
    add("Summary", b.summary);
    add("Intent", b.intent);
    add("Bot tried", (b.tried || []).join("; "));
    add("Cited", (b.cited || []).map((c) => c.title).join(", "));
    if (b.customer) add("Customer", `${b.customer.name} (${b.customer.tier}) — orders: ` + b.customer.orders.map((o) => `${o.id} ${o.status}`).join(", "));
    add("Queue / priority", `${b.queue} / ${b.priority}`);
    box.appendChild(d);
  }

  // The customer's CRM record with every custom attribute (nested values as a small tree).
  function attributeList(value) {
    const dl = el("dl", "attrs");
    for (const [k, v] of Object.entries(value)) {
      dl.appendChild(el("dt", null, k.replace(/_/g, " ")));
      const dd = el("dd");
      if (v !== null && typeof v === "object") {
        if (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object")) dd.textContent = v.join(", ");
        else if (Array.isArray(v)) v.forEach((x, i) => { dd.appendChild(el("div", "muted", `#${i + 1}`)); dd.appendChild(typeof x === "object" && x ? attributeList(x) : el("span", null, String(x))); });
        else dd.appendChild(attributeList(v));
      } else dd.textContent = v === null ? "—" : String(v);
      dl.appendChild(dd);
    }
    return dl;
  }

  async function showAccount(id) {
    const box = $("account"), body = $("account-body");
    body.innerHTML = ""; box.hidden = true;
    const c = await api(`/api/agent/conversations/${id}/customer`).catch(() => null);
    if (!c || current !== id) return;
    body.appendChild(el("p", null, `${c.name} · ${c.customer_id}`));
    if (Object.keys(c.attributes || {}).length) body.appendChild(attributeList(c.attributes));
    box.hidden = false;
  }

  function passageWithHighlight(a) {
    const p = el("p");
    const text = a.passage;
    if (a.highlight_start >= 0 && a.highlight_end <= text.length) {
      p.appendChild(document.createTextNode(text.slice(0, a.highlight_start)));
      p.appendChild(el("mark", null, text.slice(a.highlight_start, a.highlight_end)));
      p.appendChild(document.createTextNode(text.slice(a.highlight_end)));
    } else p.textContent = text;
    return p;
  }

  function articleCard(a, withFeedback) {
    const card = el("div", "suggestion"); card.dataset.testid = "article-suggestion"; card.dataset.article = a.article_id;
    const t = el("div", "title"); t.appendChild(linkTo(a.url, null, a.title));
    if (a.visibility === "internal") t.appendChild(el("span", "internal", " · internal"));
    card.appendChild(t);
    if (a.section && a.section !== a.title) card.appendChild(el("div", "muted", a.section));
    card.appendChild(passageWithHighlight(a));
    if (withFeedback) {
      const row = el("div", "row");
      const use = el("button", null, "Quote"); use.type = "button";
      if (a.visibility === "internal") { use.disabled = true; use.title = "Internal article: not for customers"; }
      use.onclick = () => { if (a.visibility !== "internal") insertText(a.highlight || a.passage.slice(0, 300), a.id, "article"); };
      const dismiss = el("button", null, "Dismiss"); dismiss.type = "button";
      dismiss.onclick = () => { card.remove(); feedback([{ suggestion_id: a.id, kind: "article", event: "dismissed" }]); };
      row.append(use, dismiss); card.appendChild(row);
    }
    return card;
  }

  function showSuggestions(s) {
    if (s.message_seq < latestSeq) return; // stale: a newer customer message exists
    shownSeq = s.message_seq; $("stale-note").hidden = true;
    const box = $("suggestions"); box.innerHTML = ""; box.dataset.seq = s.message_seq;
    const shown = [];
    for (const a of s.articles) { box.appendChild(articleCard(a, true)); shown.push({ suggestion_id: a.id, kind: "article", event: "shown" }); }
    if (!s.articles.length) box.appendChild(el("p", "muted", "No matching article."));
    showNextAction(s.next_action, s.message_seq, shown);
    showGuidance(s.guidance);
    showFacts(s.facts);
    showSentiment(s.sentiment);
    $("replies").innerHTML = ""; $("replies").dataset.seq = s.message_seq;
    drafting = el("div", "drafting", "Drafting replies…"); drafting.dataset.testid = "reply-drafting";
    $("replies").appendChild(drafting);
    feedback(shown);
  }

  // The next best action: what to do, why, and the steps the guideline lists (internal).
  function showNextAction(n, seq, shown) {
    const box = $("nba"); box.innerHTML = "";
    if (!n) { box.appendChild(el("p", "muted", "No matching action.")); return; }
    const card = el("div", "suggestion nba"); card.dataset.testid = "next-action-card"; card.dataset.action = n.key;
    const head = el("div", "label", n.label); head.dataset.testid = "next-action-label"; card.appendChild(head);
    card.appendChild(el("div", "muted", `${n.key} · ${Math.round(n.confidence * 100)}%` + (n.group ? ` · ${n.group}` : "")));
    if (n.reason) { const why = el("p", "why", "Why: " + n.reason); why.dataset.testid = "next-action-reason"; card.appendChild(why); }
    if (n.steps && n.steps.length) {
      const note = el("div", "internal-note", "internal — do not send");
      card.appendChild(note);
      card.appendChild(el("div", "muted", "Next steps" + (n.guideline_title ? ` (${n.guideline_title})` : "") + ":"));
      const ol = el("ol", "steps"); ol.dataset.testid = "next-action-steps";
      for (const st of n.steps) { const li = el("li", st.done ? "done" : null, st.text); ol.appendChild(li); }
      card.appendChild(ol);
    } else if (n.guidance && n.guidance !== n.description) card.appendChild(el("p", null, n.guidance));
    if (n.alternatives && n.alternatives.length) card.appendChild(el("div", "muted", "Or: " + n.alternatives.map((a) => a.label).join(" · ")));
    const target = n.step || n.key;
    const id = `action:${seq}:${target}`;
    const done = el("button", null, "Mark done"); done.type = "button"; done.dataset.testid = "action-done";
    done.onclick = async () => {
      await feedback([{ suggestion_id: id, kind: "action", event: "inserted" }]);
      await api(`/api/copilot/conversations/${current}/actions/${encodeURIComponent(target)}/done`, { method: "POST" });
    };
    card.appendChild(done);
    shown.push({ suggestion_id: id, kind: "action", event: "shown" });
    box.appendChild(card);
  }

  // Internal guidance from internal articles: for the agent only, never inserted into a reply.
  function showGuidance(notes) {
    const box = $("guidance"); box.innerHTML = "";
    const list = (notes || []).filter((g) => g.kind !== "step");
    box.hidden = !list.length;
    if (!list.length) return;
    box.appendChild(el("div", "internal-note", "internal — do not send"));
    for (const g of list) {
      const item = el("div", "guidance-item"); item.dataset.testid = "guidance-item"; item.dataset.article = g.article_id;
      item.appendChild(el("div", "muted", g.title));
      item.appendChild(el("p", null, g.text));
      box.appendChild(item);
    }
  }

  function showFacts(f) {
    const box = $("facts"); box.innerHTML = "";
    if (!f) { box.appendChild(el("p", "muted", "Guest (no CRM record).")); return; }
    box.appendChild(el("div", null, `${f.name} · ${f.tier} · ${f.language}`));
    const ul = el("ul");
    const order = (o) => `${o.id} — ${o.status}${o.carrier ? " (" + o.carrier + (o.tracking ? " " + o.tracking : "") + ")" : ""}: ${o.items.join(", ")}`;
    for (const o of f.mentioned_orders) ul.appendChild(el("li", null, "Mentioned: " + order(o)));
    for (const o of f.open_orders) if (!f.mentioned_orders.some((m) => m.id === o.id)) ul.appendChild(el("li", null, "Open: " + order(o)));
    for (const t of f.recent_tickets) ul.appendChild(el("li", null, `Ticket ${t.id} (${t.status}): ${t.subject}`));
    if (!ul.children.length) ul.appendChild(el("li", "muted", "No open orders or recent tickets."));
    box.appendChild(ul);
  }

  function showSentiment(s) {
    const box = $("sentiment"); box.innerHTML = "";
    if (!s || !s.points.length) { box.appendChild(el("p", "muted", "—")); return; }
    box.className = "sentiment " + (s.current < -0.15 ? "neg" : s.current > 0.15 ? "pos" : "");
    const arrow = { improving: "↗ improving", worsening: "↘ worsening", steady: "→ steady" }[s.trend];
    box.appendChild(el("div", null, `Now ${s.current.toFixed(2)} · ${arrow}`));
    box.appendChild(el("div", "muted", s.points.map((p) => p.score.toFixed(1)).join("  ")));
  }

  function showReplies(r) {
    if (r.message_seq < latestSeq || r.message_seq < shownSeq) return; // stale
    const box = $("replies"); box.innerHTML = ""; drafting = null;
    if (!r.replies.length) { box.appendChild(el("p", "muted", "No grounded reply for this message.")); return; }
    const shown = [];
    r.replies.forEach((rep, i) => {
      const card = el("div", "suggestion reply-card"); card.dataset.testid = "reply-suggestion"; card.dataset.mode = rep.mode;
      const ta = el("textarea"); ta.value = rep.text; ta.setAttribute("aria-label", `Suggested reply ${i + 1}`); ta.dataset.testid = "reply-text";
      card.appendChild(ta);
      const cites = el("div");
      for (const c of rep.citations) cites.appendChild(linkTo(c.url, "cite", `[${c.n}] ${c.title}`));
      card.appendChild(cites);
      const row = el("div", "row");
      const ins = el("button", "primary", "Insert"); ins.type = "button"; ins.dataset.testid = "insert-reply";
      ins.onclick = () => insertText(ta.value, rep.id, "reply", rep.text);
      const dis = el("button", null, "Dismiss"); dis.type = "button";
      dis.onclick = () => { card.remove(); feedback([{ suggestion_id: rep.id, kind: "reply", event: "dismissed" }]); };
      row.append(ins, dis, el("span", "muted", rep.mode));
      if (rep.needs_translation) { const t = el("span", "badge", `translate to ${rep.translate_to}`); t.dataset.testid = "needs-translation"; row.appendChild(t); }
      card.appendChild(row);
      box.appendChild(card);
      shown.push({ suggestion_id: rep.id, kind: "reply", event: "shown" });
    });
    feedback(shown);
  }

  function insertText(text, id, kind, original) {
    const box = $("reply");
    box.value = text; box.focus();
    inserted = { id, kind, text: original ?? text, insertedText: text };
    feedback([{ suggestion_id: id, kind, event: "inserted" }]);
  }

  async function open(id) {
    current = id; seen.clear(); latestSeq = 0; shownSeq = 0; inserted = null;
    $("log").innerHTML = ""; $("brief").innerHTML = ""; $("summary").hidden = true;
    for (const b of ["suggestions", "replies", "nba", "guidance", "facts", "sentiment", "search-results"]) $(b).innerHTML = "";
    const c = await api(`/api/agent/conversations/${id}`);
    $("conv-title").textContent = `${c.customer_id || "guest"} · ${c.state.replace("_", " ")}`;
    for (const m of c.messages) showMessage(m);
    convSeq = c.messages.reduce((n, m) => Math.max(n, m.seq), 0);
    const hs = await api(`/api/agent/conversations/${id}/handoffs`);
    if (hs.length) showBrief(hs[hs.length - 1]);
    showAccount(id);
    for (const b of ["btn-claim", "btn-handback", "btn-close", "btn-summary"]) $(b).disabled = false;
    if (convSocket) { convSocket.onclose = null; convSocket.close(); }
    connectConversation(id, c);
    loadQueue();
  }

  // Reconnects when the server closes the socket (e.g. 1013: the event bus was interrupted) and
  // asks for the messages after the last sequence number it has (?since=), so none is missed.
  function connectConversation(id, c) {
    const sock = new WebSocket(`${proto}://${location.host}/ws/agent/conversations/${id}?key=${encodeURIComponent(key())}&since=${convSeq}`);
    convSocket = sock;
    sock.onclose = () => { if (current === id && convSocket === sock) setTimeout(() => { if (current === id && convSocket === sock) connectConversation(id, c); }, 1500); };
    sock.onmessage = (e) => {
      const ev = JSON.parse(e.data);
      if (ev.conversation_id !== current) return;
      if (ev.type === "message") { convSeq = Math.max(convSeq, ev.data.seq || 0); showMessage(ev.data); }
      else if (ev.type === "suggestions") showSuggestions(ev.data);
      else if (ev.type === "replies") showReplies(ev.data);
      else if (ev.type === "reply_token") { if (drafting && ev.data.message_seq === shownSeq) { if (drafting.textContent === "Drafting replies…") drafting.textContent = ""; drafting.textContent += ev.data.text; } }
      else if (ev.type === "summary") showSummary(ev.data);
      else if (ev.type === "after_contact") showSummary({ text: `${ev.data.after_contact.summary}\nDisposition: ${ev.data.after_contact.disposition} · Tags: ${ev.data.after_contact.tags.join(", ")}` + (ev.data.after_contact.follow_ups.length ? `\nFollow-ups: ${ev.data.after_contact.follow_ups.join(" ")}` : "") + `\nSaved to CRM ticket ${ev.data.ticket_id}.` + (ev.data.draft ? " KB draft queued for review." : "") });
      else if (ev.type === "handoff") showBrief(ev.data);
      else if (ev.type === "state") $("conv-title").textContent = `${c.customer_id || "guest"} · ${ev.data.state.replace("_", " ")}`;
    };
    sock.onopen = () => api(`/api/agent/conversations/${id}/suggestions`, { method: "POST" }).catch(() => {});
  }

  function showSummary(s) { const box = $("summary"); box.hidden = false; box.textContent = s.text; }

  $("btn-summary").onclick = async () => showSummary(await api(`/api/copilot/conversations/${current}/summary`));
  $("btn-claim").onclick = async () => { await api(`/api/agent/conversations/${current}/claim`, { method: "POST" }); loadQueue(); };
  $("btn-handback").onclick = async () => { await api(`/api/agent/conversations/${current}/handback`, { method: "POST" }); loadQueue(); };
  $("btn-close").onclick = async () => { await api(`/api/agent/conversations/${current}/close`, { method: "POST" }); loadQueue(); };
  $("reply-form").onsubmit = async (e) => {
    e.preventDefault();
    const text = $("reply").value.trim(); if (!text || !current) return;
    const m = await api(`/api/agent/conversations/${current}/messages`, { method: "POST", body: JSON.stringify({ text }) });
    if (inserted && text !== inserted.text.trim()) {
      feedback([{ suggestion_id: inserted.id, kind: inserted.kind, event: "edited", suggested_text: inserted.text, final_text: text }]);
    }
    inserted = null; $("reply").value = ""; showMessage(m);
  };
  for (const b of document.querySelectorAll("[data-tone]")) {
    b.onclick = async () => {
      const text = $("reply").value.trim(); if (!text || !current) { $("tone-note").textContent = "Write or insert a draft first."; return; }
      try {
        const r = await api(`/api/copilot/conversations/${current}/rewrite`, { method: "POST", body: JSON.stringify({ text, tone: b.dataset.tone }) });
        if (r.available) { $("reply").value = r.text; $("tone-note").textContent = `Rewritten (${r.mode}).`; }
        else $("tone-note").textContent = r.message;
      } catch (err) { $("tone-note").textContent = err.message; }
    };
  }
  $("search-form").onsubmit = async (e) => {
    e.preventDefault();
    const q = $("search-q").value.trim(); if (!q) return;
    const r = await api(`/api/copilot/search?q=${encodeURIComponent(q)}`);
    const box = $("search-results"); box.innerHTML = "";
    if (!r.data.length) box.appendChild(el("p", "muted", "Nothing found."));
    for (const a of r.data) box.appendChild(articleCard(a, Boolean(current)));
  };

  function connectQueue() {
    queueSocket = new WebSocket(`${proto}://${location.host}/ws/agent/queue?key=${encodeURIComponent(key())}`);
    queueSocket.onmessage = (e) => { if (JSON.parse(e.data).type === "queue") loadQueue(); };
    queueSocket.onclose = () => setTimeout(connectQueue, 2000);
  }
  loadQueue(); connectQueue();
  setInterval(() => { for (const s of [queueSocket, convSocket]) if (s && s.readyState === 1) s.send("ping"); }, 20000);
})();
