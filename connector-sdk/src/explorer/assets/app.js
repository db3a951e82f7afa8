// The access explorer's page. Every element is built with createElement and textContent:
// nothing from the file is ever parsed as markup. The URL hash names what is shown:
//   #/                              resource types
//   #/type/TYPE                     resources of a type
//   #/search?q=TEXT&type=TYPE       search results
//   #/resource/TYPE/ID              a resource: what it holds and how, its entitlements
//   #/entitlement/ID                an entitlement and its holders
//   #/diff[?from=SYNC&to=SYNC]      what changed between two syncs
//   #/syncs                         the syncs in the file
"use strict";

const view = document.getElementById("view");
const enc = encodeURIComponent;

// This run's token arrives in the printed link's fragment (#token=…), which never appears
// in a request. It is kept in this origin's storage (scheme, host and port: while the
// explorer holds its port, no other server of this machine can read it), taken out of the
// address, and sent with every API call. Where storage is blocked it lives in memory.
const TOKEN_KEY = "baton-explorer-token";
let memoryToken = "";
let badLink = false;

function storedToken() {
  try { return localStorage.getItem(TOKEN_KEY) || memoryToken; } catch (_) { return memoryToken; }
}

// Takes a `#token=…` address: keeps a well-formed token, clears the address either way
// (the token never stays in the address bar or the history). Says whether there was one.
function takeToken() {
  if (!location.hash.startsWith("#token=")) return false;
  const token = location.hash.slice("#token=".length).trim().toLowerCase();
  history.replaceState(null, "", location.pathname + "#/");
  badLink = !/^[0-9a-f]{32}$/.test(token);
  if (!badLink) {
    memoryToken = token;
    try { localStorage.setItem(TOKEN_KEY, token); } catch (_) { /* memory only */ }
  }
  return true;
}
takeToken();

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "onclick") node.addEventListener("click", v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

async function api(path) {
  const res = await fetch("/api/" + path, {
    headers: { accept: "application/json", authorization: "Bearer " + storedToken() },
  });
  let body;
  try { body = await res.json(); } catch (_) { body = { error: res.status + " " + res.statusText }; }
  if (!res.ok) throw new Error(body.error || res.status + " " + res.statusText);
  return body;
}

const resourceHref = (key) => {
  const i = key.indexOf(":");
  return "#/resource/" + enc(key.slice(0, i)) + "/" + enc(key.slice(i + 1));
};
const entitlementHref = (id) => "#/entitlement/" + enc(id);

// A link from the file: only http(s) is followed; anything else (javascript:, data:, file:)
// is shown as text.
function externalLink(url) {
  return /^https?:\/\//i.test(url) ? el("a", { href: url, rel: "noreferrer noopener" }, url) : el("span", { class: "unsafe-link" }, url);
}

function resourceLink(r) {
  return el("a", { href: resourceHref(r.key), class: "resource-link", title: r.key },
    r.display_name || r.key);
}

function entitlementLink(e) {
  return el("a", { href: entitlementHref(e.id), class: "entitlement-link", title: e.id },
    e.display_name || e.id);
}

function badge(text, cls) {
  return el("span", { class: "badge " + (cls || "") }, text);
}

// How a grant is held: "direct" and/or one line per inherited path.
function how(g) {
  const cell = el("div", { class: "how" });
  if (g.direct) cell.append(el("div", {}, badge("direct", "direct")));
  for (const path of g.paths) {
    const line = el("div", { class: "path" }, badge("via", "inherited"));
    path.forEach((step, i) => {
      if (i > 0) line.append(el("span", { class: "sep" }, "›"));
      line.append(resourceLink(step.resource), " ",
        el("span", { class: "muted", title: step.entitlement.id },
          "(" + (step.entitlement.display_name || step.entitlement.id) + ")"));
    });
    if (path.length && path[path.length - 1].grant_id) {
      line.title = "through grant " + path[path.length - 1].grant_id;
    }
    cell.append(line);
  }
  if (!g.direct && g.paths.length === 0) cell.append(badge("inherited", "inherited"));
  if (g.expandable) cell.append(el("div", { class: "muted" }, "passed on to its members"));
  return cell;
}

function table(headers, id) {
  const tbody = el("tbody");
  const t = el("table", id ? { id } : {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))), tbody);
  return { table: t, tbody };
}

// A paged list: fetches `path` (with after/limit) and appends rows; "Load more" follows `next`.
function pagedTable(headers, path, row, id, empty) {
  const { table: t, tbody } = table(headers, id);
  const box = el("div", {}, t);
  const sep = path.includes("?") ? "&" : "?";
  async function load(after) {
    const page = await api(path + sep + "limit=50" + (after ? "&after=" + after : ""));
    if (!after && page.items.length === 0) {
      tbody.append(el("tr", {}, el("td", { colspan: headers.length, class: "muted" }, empty || "None.")));
    }
    for (const item of page.items) tbody.append(row(item));
    if (page.next !== null && page.next !== undefined) {
      const more = el("button", { class: "more", type: "button" }, "Load more");
      more.addEventListener("click", () => { more.remove(); load(page.next).catch((e) => box.append(errorBox(e))); });
      box.append(more);
    }
  }
  load(0).catch((e) => box.append(errorBox(e)));
  return box;
}

function errorBox(e) {
  return el("div", { class: "error", role: "alert" }, String(e.message || e));
}

function showError(e) {
  view.replaceChildren(errorBox(e));
}

// Which address is being drawn: each route() counts one more. A view whose answers come
// back after the reader moved on draws nothing, so a slow answer never covers a newer view.
let routeSeq = 0;

function show(seq, ...nodes) {
  if (seq === routeSeq) view.replaceChildren(...nodes);
}

function facts(pairs) {
  const dl = el("dl", { class: "facts" });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === "") continue;
    dl.append(el("dt", {}, k), el("dd", {}, v));
  }
  return dl;
}

async function home() {
  const seq = routeSeq; // the address this view is drawn for
  const types = await api("resource-types");
  show(seq,
    el("h1", {}, "Resource types"),
    el("p", { class: "muted" }, "Pick a type, or search for a person, a group or a permission above."),
    el("div", { class: "cards", id: "types" }, types.items.map((t) =>
      el("a", { class: "card", href: "#/type/" + enc(t.id) },
        el("div", { class: "count" }, t.resources),
        el("div", {}, t.display_name || t.id),
        el("div", { class: "key" }, t.id, t.traits.length ? " · " + t.traits.join(", ") : "")))));
}

function resourceRow(r) {
  return el("tr", { class: "result" },
    el("td", {}, resourceLink(r)),
    el("td", {}, r.email || ""),
    el("td", { class: "key" }, r.key),
    el("td", {}, r.status ? badge(r.status, r.status) : ""));
}

function resourceList(title, query) {
  const seq = routeSeq; // the address this view is drawn for
  show(seq, el("h1", {}, title),
    pagedTable(["Name", "Email", "Id", "Status"], "resources?" + query, resourceRow, "results", "Nothing found."));
}

async function resource(type, id) {
  const seq = routeSeq; // the address this view is drawn for
  const r = await api("resources/" + enc(type) + "/" + enc(id));
  const res = r.resource;
  const user = res.user || {};
  const emails = (user.emails || []).map((e) => e.address).join(", ");
  const profile = Object.assign({}, user.profile || {}, (res.group || {}).profile || {},
    (res.role || {}).profile || {}, (res.app || {}).profile || {});
  const parts = [
    el("div", { class: "muted" }, r.resource_type_name || res.id.resource_type),
    el("h1", { id: "title" }, res.display_name || r.key),
    el("div", { class: "key" }, r.key),
    facts([
      ["Status", r.status ? badge(r.status, r.status) : null],
      ["Email", emails],
      ["Login", user.login],
      ["Description", res.description],
      ["Parent", r.parent ? resourceLink(r.parent) : null],
      ["Link", res.external_link ? externalLink(res.external_link) : null],
      ...Object.entries(profile).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    ]),
  ];
  if (r.access > 0) {
    parts.push(el("h2", {}, "Access (" + r.access + ")"),
      pagedTable(["Entitlement", "On", "How"], "resources/" + enc(type) + "/" + enc(id) + "/access",
        (g) => el("tr", { class: "holding" },
          el("td", {}, entitlementLink(g.entitlement)),
          el("td", {}, resourceLink(g.resource)),
          el("td", {}, how(g))), "access"));
  }
  if (r.entitlements > 0) {
    parts.push(el("h2", {}, "Entitlements (" + r.entitlements + ")"),
      pagedTable(["Entitlement", "Purpose", "Holders"], "resources/" + enc(type) + "/" + enc(id) + "/entitlements",
        (e) => el("tr", {},
          el("td", {}, entitlementLink(e), e.description ? el("div", { class: "muted" }, e.description) : null),
          el("td", {}, e.purpose),
          el("td", {}, e.holders)), "entitlements"));
  }
  if (r.grants > 0) {
    parts.push(el("h2", {}, "Who holds its entitlements (" + r.grants + ")"),
      pagedTable(["Principal", "Entitlement", "How"], "resources/" + enc(type) + "/" + enc(id) + "/grants",
        (g) => el("tr", {},
          el("td", {}, resourceLink(g.principal)),
          el("td", {}, entitlementLink(g.entitlement)),
          el("td", {}, how(g))), "grants"));
  }
  if (r.access === 0 && r.entitlements === 0) parts.push(el("p", { class: "muted" }, "It holds nothing and has no entitlements."));
  show(seq, ...parts);
}

async function entitlement(id) {
  const seq = routeSeq; // the address this view is drawn for
  const r = await api("entitlements/" + enc(id));
  const e = r.entitlement;
  show(seq,
    el("div", { class: "muted" }, "Entitlement"),
    el("h1", { id: "title" }, e.display_name || e.id),
    el("div", { class: "key" }, e.id),
    facts([
      ["On", resourceLink(r.resource)],
      ["Purpose", e.purpose],
      ["Description", e.description],
      ["Grantable to", (e.grantable_to || []).join(", ")],
    ]),
    el("h2", {}, "Holders (" + r.holders + ")"),
    pagedTable(["Principal", "Type", "How"], "entitlements/" + enc(id) + "/holders",
      (g) => el("tr", { class: "holder" },
        el("td", {}, resourceLink(g.principal)),
        el("td", {}, g.principal.resource_type),
        el("td", {}, how(g))), "holders", "Nobody holds it."));
}

const kindTitles = {
  "grants-added": "Grants added", "grants-removed": "Grants removed",
  "resources-added": "Resources added", "resources-removed": "Resources removed",
  "resources-changed": "Resources changed",
  "entitlements-added": "Entitlements added", "entitlements-removed": "Entitlements removed",
};

function fieldValue(v) {
  if (v === null || v === undefined) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function diffRow(d) {
  const linkable = d.change !== "removed";
  const res = d.resource && (linkable ? resourceLink(d.resource) : el("span", {}, d.resource.display_name || d.resource.key));
  const what = d.what === "grant"
    ? [linkable ? resourceLink(d.principal) : el("span", {}, d.principal.display_name || d.principal.key),
       el("span", { class: "sep" }, " → "),
       linkable ? entitlementLink(d.entitlement) : el("span", {}, d.entitlement.display_name || d.entitlement.id)]
    : d.what === "entitlement"
      ? [linkable ? entitlementLink(d.entitlement) : el("span", {}, d.entitlement.display_name || d.entitlement.id)]
      : [res];
  const detail = d.what === "grant" ? el("span", { class: "key" }, d.grant_id)
    : d.fields ? el("div", {}, d.fields.map((f) => el("div", { class: "field" },
        el("span", { class: "key" }, f.field), " ",
        el("span", { class: "old" }, fieldValue(f.before)), " → ",
        el("span", { class: "new" }, fieldValue(f.after)))))
    : el("span", { class: "key" }, d.resource ? d.resource.key : "");
  return el("tr", { class: "diff-row " + d.change },
    el("td", {}, el("span", { class: "change " + d.change }, d.change === "added" ? "+" : d.change === "removed" ? "−" : "~")),
    el("td", {}, what), el("td", {}, detail));
}

async function diff(params) {
  const seq = routeSeq; // the address this view is drawn for
  const q = new URLSearchParams();
  if (params.get("from")) q.set("from", params.get("from"));
  if (params.get("to")) q.set("to", params.get("to"));
  const qs = q.toString();
  const r = await api("diff" + (qs ? "?" + qs : ""));
  const total = r.kinds.reduce((n, k) => n + k.count, 0);
  const parts = [
    el("h1", {}, "What changed"),
    el("div", { class: "muted" }, "From sync ", el("span", { class: "key" }, r.from), " to ", el("span", { class: "key" }, r.to)),
    el("div", { class: "summary", id: "diff-summary" }, r.kinds.map((k) =>
      el("span", { "data-kind": k.kind }, kindTitles[k.kind] + ": " + k.count))),
  ];
  if (total === 0) parts.push(el("p", {}, "Nothing changed."));
  const fromTo = "from=" + enc(r.from) + "&to=" + enc(r.to);
  for (const k of r.kinds.filter((k) => k.count > 0)) {
    parts.push(el("h2", {}, kindTitles[k.kind] + " (" + k.count + ")"),
      pagedTable(["", "What", "Detail"], "diff/" + k.kind + "?" + fromTo, diffRow, "diff-" + k.kind));
  }
  show(seq, ...parts);
}

async function syncs() {
  const seq = routeSeq; // the address this view is drawn for
  const r = await api("syncs");
  const { table: t, tbody } = table(["Sync", "Type", "Started", "Ended", "Warnings", ""], "syncs");
  const finished = r.items.filter((s) => s.ended_at);
  r.items.forEach((s) => {
    const prev = finished.filter((p) => p.ended_at && s.ended_at && p.ended_at < s.ended_at).pop();
    tbody.append(el("tr", {},
      el("td", { class: "key" }, s.sync_id, s.current ? " " : "", s.current ? badge("shown") : ""),
      el("td", {}, s.sync_type), el("td", {}, s.started_at), el("td", {}, s.ended_at || "unfinished"),
      el("td", {}, s.warnings),
      el("td", {}, prev ? el("a", { href: "#/diff?from=" + enc(prev.sync_id) + "&to=" + enc(s.sync_id) }, "changes") : "")));
  });
  show(seq, el("h1", {}, "Syncs in this file"), t);
}

async function route() {
  const seq = ++routeSeq;
  const hash = location.hash.replace(/^#/, "") || "/";
  const [pathPart, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const seg = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  view.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  try {
    if (seg.length === 0) await home();
    else if (seg[0] === "type" && seg.length === 2) resourceList("Resources of type " + seg[1], "type=" + enc(seg[1]));
    else if (seg[0] === "search") {
      const q = params.get("q") || "";
      const type = params.get("type") || "";
      document.getElementById("search").value = q;
      document.getElementById("search-type").value = type;
      resourceList("Search: " + q, "q=" + enc(q) + (type ? "&type=" + enc(type) : ""));
    } else if (seg[0] === "resource" && seg.length >= 3) await resource(seg[1], seg.slice(2).join("/"));
    else if (seg[0] === "entitlement" && seg.length >= 2) await entitlement(seg.slice(1).join("/"));
    else if (seg[0] === "diff") await diff(params);
    else if (seg[0] === "syncs") await syncs();
    else throw new Error("Nothing at " + location.hash + ".");
  } catch (e) {
    show(seq, errorBox(e));
  }
  if (seq !== routeSeq) return;
  document.title = (document.querySelector("h1") ? document.querySelector("h1").textContent + " · " : "") + "Access explorer";
  document.body.dataset.ready = hash;
}

async function init() {
  document.getElementById("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = document.getElementById("search").value.trim();
    const type = document.getElementById("search-type").value;
    location.hash = "#/search?q=" + enc(q) + (type ? "&type=" + enc(type) : "");
  });
  // Listening first: a link pasted into this tab (a new run's) arrives as a hash change,
  // even when the old token was refused. With its token the page starts again.
  const badLinkError = new Error("This link's token is not the 32 characters the explorer prints: copy the whole link it printed.");
  window.addEventListener("hashchange", () => {
    if (!takeToken()) route();
    else if (badLink) showError(badLinkError);
    else location.reload();
  });
  if (badLink) {
    showError(badLinkError);
    return;
  }
  try {
    const f = await api("file");
    document.getElementById("file").textContent = f.file + " · sync " + f.sync.sync_id;
    const types = await api("resource-types");
    const select = document.getElementById("search-type");
    for (const t of types.items) select.append(el("option", { value: t.id }, t.display_name || t.id));
  } catch (e) {
    showError(e);
    return;
  }
  await route();
}

init();
