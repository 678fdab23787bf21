// KB editor: upload files, list articles, see versions, delete, try a search. Talks to /api/kb.
(() => {
  const $ = (id) => document.getElementById(id);
  const keyInput = $("key");
  keyInput.value = localStorage.getItem("sb-editor-key") || "dev-editor-key";
  keyInput.onchange = () => { localStorage.setItem("sb-editor-key", keyInput.value); loadList(); };
  const key = () => keyInput.value.trim();

  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };

  async function api(path, opts = {}) {
    const res = await fetch(path, { ...opts, headers: { ...(opts.headers || {}), "X-API-Key": key() } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
    return body;
  }

  function showError(target, err) { target.replaceChildren(el("p", String(err.message || err), "errors")); }

  async function loadList() {
    const list = $("list");
    try {
      const { data, count } = await api("/api/kb/articles");
      $("count").textContent = `(${count})`;
      list.replaceChildren(...data.map((a) => {
        const tr = el("tr"); tr.dataset.id = a.id;
        tr.append(el("td", a.id), el("td", a.title), el("td", `v${a.version}`));
        const vis = el("td"); vis.append(el("span", a.visibility, `badge ${a.visibility}`)); tr.append(vis);
        tr.style.cursor = "pointer";
        tr.onclick = () => showArticle(a.id);
        return tr;
      }));
    } catch (err) { showError(list, err); }
  }

  async function showArticle(id) {
    const box = $("detail");
    document.querySelectorAll("#list tr").forEach((tr) => tr.classList.toggle("sel", tr.dataset.id === id));
    try {
      const [a, versions] = await Promise.all([
        api(`/api/kb/articles/${encodeURIComponent(id)}`),
        api(`/api/kb/articles/${encodeURIComponent(id)}/versions`),
      ]);
      const head = el("h2", a.title);
      const meta = el("p", `${a.id} · live v${a.version} · ${a.visibility} · ${a.language} · ${a.chunks.length} chunks`, "muted");
      const vlist = el("ul");
      versions.forEach((v) => vlist.append(el("li", `v${v.version}${v.live ? " (live)" : ""} — ${v.created_at || ""} by ${v.created_by}, ${v.chunk_count} chunks, ${v.content_hash.slice(0, 12)}`)));
      const del = el("button", "Delete article");
      del.onclick = async () => {
        if (!confirm(`Delete ${a.id} with all its versions?`)) return;
        try { await api(`/api/kb/articles/${encodeURIComponent(a.id)}`, { method: "DELETE" }); box.replaceChildren(el("p", `Deleted ${a.id}.`)); loadList(); }
        catch (err) { showError(box, err); }
      };
      box.replaceChildren(head, meta, el("h3", "Versions"), vlist, el("pre", a.body, "body"), del);
    } catch (err) { showError(box, err); }
  }

  $("upload").onsubmit = async (ev) => {
    ev.preventDefault();
    const files = $("files").files;
    const out = $("report");
    if (!files.length) { out.replaceChildren(el("p", "Choose one or more files first.", "muted")); return; }
    const form = new FormData();
    for (const f of files) form.append("files", f);
    out.replaceChildren(el("p", `Loading ${files.length} file(s)…`, "muted"));
    try {
      const r = await api("/api/kb/upload", { method: "POST", body: form });
      const summary = el("p", `${r.added.length} added, ${r.updated.length} updated, ${r.unchanged.length} unchanged, ${r.chunks_embedded} chunks embedded, ${Object.keys(r.errors).length} errors`);
      const errs = el("ul", undefined, "errors");
      Object.entries(r.errors).forEach(([src, msg]) => errs.append(el("li", `${src}: ${msg}`)));
      out.replaceChildren(summary, errs);
      loadList();
    } catch (err) { showError(out, err); }
  };

  $("search").onsubmit = async (ev) => {
    ev.preventDefault();
    const q = $("q").value.trim();
    const out = $("results");
    if (!q) return;
    try {
      const r = await api(`/api/kb/search?q=${encodeURIComponent(q)}&visibility=${$("vis").value}`);
      out.replaceChildren(...r.data.map((p) => {
        const li = el("li");
        li.append(el("strong", `${p.title} › ${p.section}`), el("span", ` v${p.version} `, "muted"), el("span", p.visibility, `badge ${p.visibility}`), el("div", p.text.slice(0, 220)));
        return li;
      }));
      if (!r.data.length) out.replaceChildren(el("li", "No results.", "muted"));
    } catch (err) { showError(out, err); }
  };

  loadList();
})();
