// Switchboard chat widget: plain JS, no build step.
(() => {
  const $ = (id) => document.getElementById(id);
  const log = $("sb-log"), input = $("sb-input"), statusEl = $("sb-status");
  let token = null, convId = null, socket = null, streamBubble = null, lastSeq = 0, retryMs = 1000, pinger = null;
  const seen = new Set();

  // Citation URLs come from KB metadata: only http(s) becomes a link (no javascript:, data:, …).
  function safeHref(url) {
    try {
      const u = new URL(String(url || ""), location.href);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) { return null; }
  }

  function bubble(author, text, citations) {
    const div = document.createElement("div");
    div.className = "msg " + author;
    div.dataset.author = author;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = { customer: "You", bot: "Assistant", agent: "Support agent", system: "" }[author] || author;
    div.appendChild(who);
    div.appendChild(document.createTextNode(text));
    if (citations && citations.length) {
      const c = document.createElement("div");
      c.className = "cites";
      c.dataset.testid = "citations";
      for (const cit of citations) {
        const href = cit.url ? safeHref(cit.url) : null;
        const a = document.createElement(href ? "a" : "span");
        if (href) { a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer"; }
        a.textContent = `[${cit.n}] ${cit.title}`;
        a.dataset.article = cit.article_id;
        c.appendChild(a);
      }
      div.appendChild(c);
    }
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function showMessage(m) {
    lastSeq = Math.max(lastSeq, m.seq || 0);
    if (seen.has(m.id)) return;
    seen.add(m.id);
    if (m.author === "bot" && streamBubble) { streamBubble.remove(); streamBubble = null; }
    if (m.author === "customer") return; // already drawn when sent
    bubble(m.author, m.text, m.citations);
  }

  async function api(path, opts = {}) {
    const res = await fetch(path, {
      ...opts,
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token, ...(opts.headers || {}) },
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || res.statusText);
    return body;
  }

  async function start() {
    const query = new URLSearchParams(location.search);
    const customer = query.get("customer") || $("sb-customer").value;
    const params = new URLSearchParams();
    if (customer) params.set("customer_id", customer);
    const tenant = query.get("tenant");
    if (tenant) params.set("tenant", tenant);
    const s = await (await fetch("/api/demo/session?" + params.toString())).json();
    token = s.token;
    const conv = await api("/api/conversations", { method: "POST", body: "{}" });
    convId = conv.id;
    log.dataset.conversation = convId;
    log.innerHTML = ""; seen.clear(); csatShown = false; lastSeq = 0;
    connect();
    const profile = await api("/api/widget/profile");
    document.querySelectorAll("[data-company]").forEach((el) => { el.textContent = profile.company; });
    bubble("bot", profile.greeting);
  }

  // Reconnects whenever the socket closes (1013: the server's event bus was interrupted), with
  // backoff, and asks for what it missed since the last sequence number it has (?since=).
  function connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const conv = convId;
    const sock = new WebSocket(`${proto}://${location.host}/ws/conversations/${conv}?token=${encodeURIComponent(token)}&since=${lastSeq}`);
    socket = sock;
    sock.onopen = () => { retryMs = 1000; };
    sock.onmessage = (e) => {
      const ev = JSON.parse(e.data);
      if (ev.type === "message") showMessage(ev.data);
      else if (ev.type === "turn_cancelled" && streamBubble) { streamBubble.remove(); streamBubble = null; }
      else if (ev.type === "token") {
        if (!streamBubble) streamBubble = bubble("bot", "");
        streamBubble.appendChild(document.createTextNode(ev.data.text));
        log.scrollTop = log.scrollHeight;
      } else if (ev.type === "state") {
        if (ev.data.state !== "bot" && streamBubble) { streamBubble.remove(); streamBubble = null; } // an agent took over
        statusEl.textContent = ev.data.state === "human" ? "A support agent has joined." :
          ev.data.state === "handoff_pending" ? "Waiting for a support agent…" :
          ev.data.state === "bot" ? "You're chatting with the assistant." : "";
        if (ev.data.state === "closed") askCsat();
      }
    };
    sock.onclose = () => {
      if (socket !== sock || convId !== conv) return;
      setTimeout(() => { if (socket === sock && convId === conv) connect(); }, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    };
    if (!pinger) pinger = setInterval(() => { if (socket && socket.readyState === 1) socket.send("ping"); }, 20000);
  }

  // One client message id per message, sent as Idempotency-Key on every retry: a retry after a
  // network error or a 429/503 returns the stored message and its replies, never a second copy.
  async function post(text) {
    const key = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random().toString(16).slice(2);
    let wait = 1000;
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetch(`/api/conversations/${convId}/messages`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: "Bearer " + token, "Idempotency-Key": key },
          body: JSON.stringify({ text }),
        });
      } catch (err) {
        if (attempt >= 4) throw err;
        await new Promise((r) => setTimeout(r, wait)); wait *= 2; continue;
      }
      const body = await res.json().catch(() => ({}));
      if (res.ok) return body;
      if ((res.status === 429 || res.status === 503) && attempt < 4) {
        const after = Number(res.headers.get("Retry-After")) || wait / 1000;
        statusEl.textContent = "Busy — retrying…";
        await new Promise((r) => setTimeout(r, Math.min(after, 30) * 1000)); wait *= 2; continue;
      }
      throw new Error(body.error || res.statusText);
    }
  }

  async function send(text) {
    bubble("customer", text);
    statusEl.textContent = "…";
    try {
      const r = await post(text);
      seen.add(r.message.id); lastSeq = Math.max(lastSeq, r.message.seq);
      for (const m of r.replies) showMessage(m);
      if (!r.replies.length && statusEl.textContent === "…") statusEl.textContent = "";
      else if (statusEl.textContent === "…") statusEl.textContent = "";
    } catch (err) {
      statusEl.textContent = "Not sent: " + err.message;
    }
  }

  // CSAT: after the conversation closes, ask once (1-5, solved?, comment); analytics/csat.py.
  let csatShown = false;
  async function askCsat() {
    if (csatShown || !convId) return;
    const conv = convId;
    const st = await api(`/api/conversations/${conv}/csat`).catch(() => null);
    if (!st || !st.asked || st.answered || csatShown || conv !== convId) return;
    csatShown = true;
    const box = document.createElement("form");
    box.className = "msg system csat"; box.dataset.testid = "csat";
    box.style.cssText = "align-self:stretch;max-width:100%;display:flex;flex-direction:column;gap:6px;background:#f6f8f7;border:1px solid #dfe5ea;color:inherit";
    box.innerHTML = '<span class="who">How did we do?</span><div class="stars"></div>' +
      '<label><input type="checkbox" data-testid="csat-resolved"> My question was solved</label>' +
      '<textarea data-testid="csat-comment" maxlength="1000" placeholder="Anything to add? (optional)" aria-label="Comment"></textarea>' +
      '<button class="primary" data-testid="csat-send" disabled>Send</button>';
    let rating = 0;
    for (let n = 1; n <= 5; n++) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = "★".repeat(n); b.dataset.testid = `csat-${n}`; b.setAttribute("aria-label", `${n} of 5`);
      b.onclick = () => { rating = n; box.querySelectorAll(".stars button").forEach((x, i) => x.classList.toggle("primary", i === n - 1)); box.querySelector("[data-testid=csat-send]").disabled = false; };
      box.querySelector(".stars").appendChild(b);
    }
    box.onsubmit = async (e) => {
      e.preventDefault();
      const body = { rating, comment: box.querySelector("textarea").value.trim(), resolved: box.querySelector("input").checked || null };
      try { await api(`/api/conversations/${conv}/csat`, { method: "POST", body: JSON.stringify(body) }); box.innerHTML = '<span data-testid="csat-thanks">Thank you for your feedback.</span>'; }
      catch (err) { statusEl.textContent = err.message; }
    };
    log.appendChild(box); log.scrollTop = log.scrollHeight;
  }
  const endBtn = document.createElement("button");
  endBtn.type = "button"; endBtn.textContent = "End chat"; endBtn.dataset.testid = "end-chat";
  endBtn.style.cssText = "font-size:12px;padding:3px 8px";
  endBtn.onclick = async () => { if (!convId) return; try { await api(`/api/conversations/${convId}/end`, { method: "POST", body: "{}" }); askCsat(); } catch (err) { statusEl.textContent = err.message; } };
  document.querySelector("#sb-widget .top").appendChild(endBtn);

  $("sb-launcher").onclick = async () => {
    const w = $("sb-widget");
    w.classList.toggle("open");
    if (w.classList.contains("open") && !convId) await start();
    input.focus();
  };
  $("sb-customer").onchange = () => { if (socket) { convId = null; socket.close(); } start(); };
  $("sb-form").onsubmit = (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || !convId) return;
    input.value = "";
    send(text);
  };
})();
