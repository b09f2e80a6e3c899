// steer status page: polls steerd's control API every 2 s and renders
// providers x regions per steered name. Plain DOM (textContent only, so no
// name or reason from the API is ever parsed as HTML); no libraries.
"use strict";

const POLL_MS = 2000;
const WINDOW_MS = 30000;   // traffic share over the last 30 s of answers
const history = [];        // [{t, counts}] of /metrics answer counters, oldest first

// ---------------------------------------------------------------- fetching

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

// /metrics is optional: null when it is missing or unreadable.
async function getMetrics() {
  try {
    const r = await fetch("/metrics", { cache: "no-store" });
    return r.ok ? await r.text() : null;
  } catch (e) {
    return null;
  }
}

// ---------------------------------------------------------------- metrics

// Labels of one exposition line after "family{": returns [labels, rest]
// or null when the line is malformed (it is then skipped).
function parseLabels(s) {
  const labels = {};
  let i = 0;
  for (let n = 0; n < 64; n++) {           // bounded: a handful of labels
    if (s[i] === "}") return [labels, s.slice(i + 1)];
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(s.slice(i));
    if (!m) return null;
    i += m[0].length;
    let v = "";
    for (;;) {
      if (i >= s.length) return null;
      const c = s[i++];
      if (c === '"') break;
      if (c === "\\") {
        const e = s[i++];
        v += e === "n" ? "\n" : e;
      } else {
        v += c;
      }
    }
    labels[m[1]] = v;
    if (s[i] === ",") i++;
  }
  return null;
}

// steer_answers_total{name,provider,rule} -> Map "name\nrule" -> {provider: n}
function parseAnswers(text) {
  const out = new Map();
  const prefix = "steer_answers_total{";
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const p = parseLabels(line.slice(prefix.length));
    if (!p) continue;
    const [l, rest] = p;
    const v = parseFloat(rest.trim().split(/\s+/)[0]);
    if (l.name === undefined || l.provider === undefined || l.rule === undefined || !isFinite(v)) continue;
    const key = normName(l.name) + "\n" + l.rule;
    if (!out.has(key)) out.set(key, {});
    out.get(key)[l.provider] = v;
  }
  return out;
}

function normName(n) {
  n = n.toLowerCase();
  return n.endsWith(".") ? n.slice(0, -1) : n;
}

// Remembers this poll's counters; returns {counts, since, windowed} where
// counts are the answers in the window (or since start on the first poll).
function trafficWindow(counts, now) {
  const last = history[history.length - 1];
  if (last && wentBackwards(last.counts, counts)) history.length = 0;   // steerd restarted
  history.push({ t: now, counts });
  while (history.length > 1 && now - history[0].t > WINDOW_MS) history.shift();
  const base = history[0];
  if (base.t === now) return { counts, windowed: false, base: null };
  return { counts, windowed: true, base: base.counts, seconds: (now - base.t) / 1000 };
}

function wentBackwards(a, b) {
  for (const [k, provs] of a) {
    const nb = b.get(k);
    for (const p in provs) if (!nb || (nb[p] || 0) < provs[p]) return true;
  }
  return false;
}

// {provider: answers} for one (name, rule label) over the window, plus
// whether it is windowed; cumulative when nothing moved in the window.
function shareOf(tw, key) {
  const cur = tw.counts.get(key);
  if (!cur) return null;
  if (tw.windowed) {
    const prev = tw.base.get(key) || {};
    const d = {};
    let total = 0;
    for (const p in cur) { d[p] = cur[p] - (prev[p] || 0); total += d[p]; }
    if (total > 0) return { by: d, total, windowed: true };
  }
  let total = 0;
  for (const p in cur) total += cur[p];
  return { by: cur, total, windowed: false };
}

// The metrics' rule label for each rule of a name: metric_label is what
// steerd/metrics.c uses; the others keep the page working with exporters
// that label rules by region, match text, index or first pool.
function ruleKeys(name, tw) {
  const keys = [];
  const n = normName(name.name);
  for (const r of name.rules) {
    const cands = [r.metric_label, r.label, r.match, String(r.index), r.pools[0]];
    let key = null;
    for (const c of cands) {
      if (c !== undefined && tw && tw.counts.has(n + "\n" + c)) { key = n + "\n" + c; break; }
    }
    keys.push(key);
  }
  return keys;
}

// ---------------------------------------------------------------- DOM helpers

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) {
    if (k === "class") e.className = attrs[k];
    else if (k === "title") e.title = attrs[k];
    else e.setAttribute(k, attrs[k]);
  }
  for (const k of kids) {
    if (k === null || k === undefined) continue;
    e.append(typeof k === "string" || typeof k === "number" ? String(k) : k);
  }
  return e;
}

function badge(cls, text, title) {
  return el("span", { class: "badge " + cls, title: title || text }, text);
}

function ms(v) {
  if (v === null || v === undefined) return "–";
  return (v < 10 ? v.toFixed(1) : Math.round(v)) + " ms";
}

function ago(epochMs) {
  if (!epochMs) return "–";
  const s = Math.max(0, Math.round((Date.now() - epochMs) / 1000));
  if (s < 120) return s + " s ago";
  if (s < 7200) return Math.round(s / 60) + " min ago";
  if (s < 172800) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}

function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return d ? d + "d " + h + "h" : h ? h + "h " + m + "m" : m ? m + "m " + (s % 60) + "s" : s + "s";
}

const ADMIN_TEXT = { none: "–", up: "forced up", down: "forced down", drain: "drain" };

function healthCell(p) {
  if (!p) return el("td", {}, badge("unknown", "unknown"));
  const td = el("td", { class: "health" }, badge(p.health, p.health));
  if (p.reason) td.append(el("div", { class: "small reason" }, p.reason));
  return td;
}

function adminCell(p) {
  const a = p ? p.admin : "none";
  return el("td", {}, a === "none" ? el("span", { class: "muted" }, "–") : badge("admin-" + a, ADMIN_TEXT[a] || a));
}

function weightCell(p) {
  if (!p || p.weight === null) return el("td", { class: "muted", title: "weights from the config" }, "config");
  return el("td", { class: "override", title: "weight override" }, String(p.weight));
}

// RUM buckets of a provider for a rule: its continents' buckets, trusted or
// not (/v1/rum lists thin ones too; they are drawn greyed). The global
// bucket instead when the rule's continents have no data (or it matches no
// continent), and after them, marked "↳", when none of them is trusted but
// global is: decisions for the region fall back to it. [{b, fallback}]
function rumFor(rum, provider, rule) {
  const pr = rum.get(provider);
  if (!pr) return [];
  const out = [];
  for (const c of rule.continents) {
    const b = pr.find(x => x.continent === c);
    if (b) out.push({ b, fallback: false });
  }
  const g = pr.find(x => x.level === "global");
  if (g && !out.length) out.push({ b: g, fallback: false });
  else if (g && g.trusted && !out.some(x => x.b.trusted)) out.push({ b: g, fallback: true });
  return out;
}

function rumLine(b, fallback) {
  const where = b.continent || "global";
  const cls = "rum " + (b.trusted ? "trusted" : "untrusted") + (fallback ? " fallback" : "");
  return el("div", { class: cls,
                     title: where + ": p50 " + ms(b.p50_ms) + ", p95 " + ms(b.p95_ms) + ", success " +
                            (b.success * 100).toFixed(1) + " %, " + Math.round(b.samples) + " samples" +
                            (b.trusted ? " (trusted)" : " (too few samples to decide)") +
                            (fallback ? "; the region's own buckets are too thin, decisions use this one" : "") },
            (fallback ? "↳ " : "") + where + " " + ms(b.p50_ms) + " · n " + Math.round(b.samples) +
            (b.trusted ? "" : " (untrusted)"));
}

// Member weight and pool of a provider in a rule's chain, or null.
function membership(name, rule, provider) {
  for (const pn of rule.pools) {
    const pool = name.pools.find(x => x.name === pn);
    const m = pool && pool.members.find(x => x.provider === provider);
    if (m) return { pool, weight: m.weight };
  }
  return null;
}

// ---------------------------------------------------------------- rendering

function renderName(name, provs, rum, tw) {
  const keys = ruleKeys(name, tw);
  const shares = keys.map(k => (k && tw ? shareOf(tw, k) : null));
  const sec = el("section", { class: "name", "data-name": name.name });
  const sub = ["zone " + (name.zone || "?"), "ttl " + name.ttl + " s", "degraded " + name.degraded_ttl + " s"];
  if (name.apex) sub.push("apex (CDNs flattened)");
  sec.append(el("h2", {}, name.name, " ", el("span", { class: "muted small" }, sub.join(" · "))));

  const head = el("tr", {}, el("th", {}, "provider"), el("th", {}, "health"), el("th", {}, "admin"),
                  el("th", {}, "weight"));
  name.rules.forEach(r => {
    head.append(el("th", { class: "region", "data-region": r.label },
                   el("div", { class: "rname" }, r.label),
                   el("div", { class: "muted small" }, (r.default ? "everyone else" : r.match) + " → " +
                      r.pools.join(" › "))));
  });
  const body = el("tbody");
  for (const pn of name.providers) {
    const p = provs.get(pn);
    const row = el("tr", { "data-provider": pn, "data-health": p ? p.health : "unknown",
                           "data-admin": p ? p.admin : "none" },
                   el("td", { class: "prov" }, pn, " ", el("span", { class: "type" }, p ? p.type : "")),
                   healthCell(p), adminCell(p), weightCell(p));
    name.rules.forEach((r, i) => {
      const mem = membership(name, r, pn);
      if (!mem) { row.append(el("td", { class: "cell none muted", title: "not in this region's pools" }, "–")); return; }
      const td = el("td", { class: "cell" });
      const s = shares[i];
      if (s && s.total > 0) {
        const pct = 100 * (s.by[pn] || 0) / s.total;
        const bar = el("div", { class: "bar" }, el("div", { class: "fill" }));
        bar.firstChild.style.width = pct.toFixed(1) + "%";   // CSSOM: allowed by the CSP
        td.append(el("div", { class: "share" }, bar, el("span", { class: "pct" }, pct.toFixed(1) + " %")));
      } else {
        td.append(el("div", { class: "share muted" }, s ? "no answers yet" : "no traffic data"));
      }
      td.append(el("div", { class: "small muted" }, mem.pool.name + " (" + mem.pool.policy + ") w " + mem.weight));
      const rb = rumFor(rum, pn, r);
      if (rb.length) rb.forEach(x => td.append(rumLine(x.b, x.fallback)));
      else td.append(el("div", { class: "rum small muted" }, "no RUM data"));
      row.append(td);
    });
    body.append(row);
  }
  const foot = el("tr", {}, el("td", { colspan: "4", class: "muted" }, "answers"));
  shares.forEach(s => {
    let t = "no traffic data";
    if (s) t = s.windowed ? s.total + " in " + Math.round(tw.seconds) + " s (" +
                            (s.total / tw.seconds).toFixed(1) + "/s)" : s.total + " since start";
    foot.append(el("td", { class: "small muted" }, t));
  });
  sec.append(el("table", { class: "grid" }, el("thead", {}, head), body, el("tfoot", {}, foot)));
  return sec;
}

function renderProviders(list, rum) {
  const tb = document.querySelector("#providers tbody");
  tb.replaceChildren();
  for (const p of list) {
    const g = (rum.get(p.name) || []).find(x => x.level === "global");
    tb.append(el("tr", { "data-provider": p.name, "data-health": p.health, "data-admin": p.admin },
                 el("td", { class: "prov" }, p.name), el("td", {}, p.type),
                 el("td", {}, badge(p.health, p.health)),
                 el("td", { class: "small" }, p.reason || (p.failing_check ? p.failing_check : "–")),
                 el("td", { class: "small" }, ago(p.since_ms)), el("td", {}, String(p.transitions)),
                 adminCell(p), weightCell(p), el("td", {}, g ? rumLine(g, false) : "–")));
  }
  document.getElementById("provider-section").hidden = false;
}

function render(st, names, providers, rum, metricsText) {
  const provs = new Map(providers.providers.map(p => [p.name, p]));
  const rumMap = new Map(rum.providers.map(p => [p.name, p.buckets]));
  let tw = null;
  if (metricsText !== null) tw = trafficWindow(parseAnswers(metricsText), Date.now());
  const main = document.getElementById("names");
  main.replaceChildren();
  if (!names.names.length) main.append(el("p", { class: "muted" }, "No steered names configured."));
  for (const n of names.names) main.append(renderName(n, provs, rumMap, tw));
  renderProviders(providers.providers, rumMap);
  document.getElementById("meta").textContent =
    "steerd " + st.version + " · generation " + st.generation + " · zones " + (st.zones.join(", ") || "none") +
    " · up " + duration(st.uptime_s) + (metricsText === null ? " · no traffic data (/metrics unavailable)" : "");
  document.getElementById("window").textContent = tw && tw.windowed ? Math.round(tw.seconds) + " s" : "poll";
}

function setConn(ok, msg) {
  const c = document.getElementById("conn");
  c.className = "badge " + (ok ? "up" : "down");
  c.textContent = ok ? "live " + new Date().toLocaleTimeString() : "stale";
  const e = document.getElementById("error");
  e.hidden = ok;
  e.textContent = ok ? "" : "Cannot reach steerd: " + msg + " (showing the last data; retrying)";
}

async function poll() {
  try {
    const [st, names, providers, rum, metrics] = await Promise.all([
      getJSON("/v1/status"), getJSON("/v1/names"), getJSON("/v1/providers"), getJSON("/v1/rum"), getMetrics()]);
    render(st, names, providers, rum, metrics);
    setConn(true);
  } catch (e) {
    setConn(false, e.message);
  }
  setTimeout(poll, POLL_MS);
}

poll();
