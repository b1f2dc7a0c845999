// The dashboard page: one EventSource per page, a full re-render of the view per frame.
// Plain DOM, no framework, nothing fetched from elsewhere.
"use strict";

// Test and measurement hook: when each pod first appeared on this page (Date.now()).
window.skiffSeen = {};

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") el.className = v;
    else if (k.startsWith("data-")) el.setAttribute(k, v);
    else el[k] = v;
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function podStatusClass(p) {
  if (p.ready) return "ok";
  if (/Err|BackOff|Failed|Error|OOM/.test(p.status)) return "bad";
  if (p.status === "Succeeded" || p.status === "Completed" || p.status === "Deleted") return "idle";
  return "warn";
}

function podLink(p) {
  const key = p.namespace + "/" + p.name;
  if (!(key in window.skiffSeen)) window.skiffSeen[key] = Date.now();
  return h("span", { class: "pod", "data-pod": key },
    h("a", { href: "/pods/" + encodeURIComponent(p.namespace) + "/" + encodeURIComponent(p.name) }, key), " ",
    h("span", { class: "badge " + podStatusClass(p) }, p.status));
}

function podList(pods) {
  if (!pods.length) return h("p", { class: "muted" }, "no pods");
  return h("ul", { class: "pods" }, pods.map(p => h("li", {}, podLink(p))));
}

function renderOverview(o) {
  const nodes = h("section", { id: "nodes" }, h("h2", {}, "Nodes"),
    h("div", { class: "grid" }, o.nodes.map(n => h("div", { class: "card node", "data-node": n.name },
      h("h3", {}, n.name, " ", h("span", { class: "badge " + (n.ready ? "ok" : "bad") }, n.ready ? "Ready" : "NotReady")),
      n.ip ? h("div", { class: "muted" }, n.ip) : null,
      (n.taints || []).map(t => h("div", { class: "muted" }, "taint " + t)),
      podList(n.pods)))));
  if (!o.nodes.length) nodes.append(h("p", { class: "muted" }, "no nodes"));
  const pending = o.unscheduled.length ? h("section", { id: "unscheduled" }, h("h2", {}, "Waiting for a node"),
    podList(o.unscheduled)) : null;
  const deps = h("section", { id: "deployments" }, h("h2", {}, "Deployments → ReplicaSets → Pods"),
    o.deployments.length ? o.deployments.map(d => h("div", { class: "card", "data-deployment": d.namespace + "/" + d.name },
      h("h3", {}, d.namespace + "/" + d.name, " ", h("span", { class: "muted" }, d.ready + "/" + d.replicas + " ready")),
      d.replicaSets.map(rs => h("div", { class: "tree" },
        h("div", {}, h("span", { class: "arrow" }, "→ ReplicaSet "), rs.name,
          rs.revision ? h("span", { class: "muted" }, " revision " + rs.revision) : null,
          h("span", { class: "muted" }, " (" + rs.replicas + " wanted)")),
        h("div", { class: "tree" }, podList(rs.pods)))))) : h("p", { class: "muted" }, "no deployments"));
  const svcs = h("section", { id: "services" }, h("h2", {}, "Services → EndpointSlices → Pods"),
    o.services.length ? o.services.map(s => h("div", { class: "card", "data-service": s.namespace + "/" + s.name },
      h("h3", {}, s.namespace + "/" + s.name, " ", h("span", { class: "muted" }, s.type + " " + (s.clusterIP || "") + " " + (s.ports || ""))),
      s.slices.length ? s.slices.map(sl => h("div", { class: "tree" },
        h("div", {}, h("span", { class: "arrow" }, "→ EndpointSlice "), sl.name),
        h("ul", { class: "pods tree" }, sl.endpoints.map(e => h("li", { class: "endpoint " + (e.ready ? "ready" : "notready") },
          h("span", { class: "badge " + (e.ready ? "ok" : "warn") }, e.ready ? "ready" : "not ready"), " ", e.address, " ",
          e.pod ? podLink(e.pod) : null))))) : h("div", { class: "tree muted" }, "no endpoint slices"))) :
      h("p", { class: "muted" }, "no services"));
  return [h("h1", {}, "Cluster"), nodes, pending, deps, svcs];
}

function clock(t) { return t ? new Date(t).toLocaleTimeString([], { hour12: false }) : "—"; }

function renderJourney(j) {
  const created = j.steps.length && j.steps[0].time ? new Date(j.steps[0].time) : null;
  const steps = h("ol", { class: "timeline", id: "journey" }, j.steps.map(s => h("li", { class: s.state, "data-stage": s.stage },
    h("div", { class: "step-head" },
      h("span", { class: "time" }, clock(s.time)),
      created && s.time && s.stage !== "created" ? h("span", { class: "delta" }, "+" + ((new Date(s.time) - created) / 1000).toFixed(0) + "s") : null,
      h("span", { class: "title" }, s.title),
      s.by ? h("span", { class: "by" }, "by " + s.by) : null,
      h("span", { class: "badge " + ({ done: "ok", waiting: "warn", failed: "bad", pending: "idle" })[s.state] }, s.state)),
    s.detail && s.detail.length ? h("ul", { class: "detail" }, s.detail.map(d => h("li", {}, d))) : null)));
  const events = h("table", { id: "events" }, h("tr", {}, ["time", "type", "reason", "from", "message"].map(c => h("th", {}, c))),
    j.events.map(e => h("tr", {}, h("td", {}, clock(e.time)), h("td", {}, e.type), h("td", {}, e.reason),
      h("td", {}, e.from), h("td", {}, e.message + (e.count > 1 ? " (x" + e.count + ")" : "")))));
  const p = j.pod;
  return [h("h1", {}, "Pod ", p.namespace + "/" + p.name, " ", h("span", { class: "badge " + podStatusClass(p) }, p.status)),
    h("p", { class: "muted" }, p.node ? "on node " + p.node : "no node yet", p.ip ? ", IP " + p.ip : ""),
    h("h2", {}, "Journey"), steps,
    h("h2", {}, "Events"), j.events.length ? events : h("p", { class: "muted" }, "no events")];
}

function setConnection(f) {
  const conn = document.getElementById("conn");
  document.body.dataset.connected = f.connected ? "true" : "false";
  document.body.classList.toggle("stale", !f.connected);
  conn.className = "conn " + (f.connected ? "ok" : "bad");
  conn.textContent = f.connected ? "live: " + f.server : "disconnected — reconnecting";
  conn.title = f.error || "";
}

function render(view, f) {
  setConnection(f);
  const main = document.getElementById("main");
  let content;
  if (view.kind === "pod") {
    if (f.journey) content = renderJourney(f.journey);
    else if (f.notFound) content = [h("h1", {}, "Pod " + view.namespace + "/" + view.name), h("p", { id: "notfound" }, "This pod is not in the cluster (deleted, or not created yet).")];
  } else if (f.overview) {
    content = renderOverview(f.overview);
  }
  if (!content) content = [h("p", { class: "muted" }, f.connected ? "Loading…" : "Waiting for the cluster at " + f.server + " …"),
    f.error ? h("p", { class: "muted" }, f.error) : null];
  if (!f.connected && (f.overview || f.journey)) {
    content.unshift(h("p", { class: "banner", id: "banner" }, "The cluster at " + f.server + " is unreachable" +
      (f.error ? " (" + f.error + ")" : "") + ". Showing the last state seen; reconnecting…"));
  }
  main.replaceChildren(...content.flat().filter(Boolean));
}

function currentView() {
  const m = location.pathname.match(/^\/pods\/([^/]+)\/([^/]+)$/);
  if (m) return { kind: "pod", namespace: decodeURIComponent(m[1]), name: decodeURIComponent(m[2]) };
  return { kind: "overview" };
}

function start() {
  const view = currentView();
  if (view.kind === "pod") document.title = "pod " + view.namespace + "/" + view.name + " — skiff";
  const q = view.kind === "pod" ? "view=pod&namespace=" + encodeURIComponent(view.namespace) + "&name=" + encodeURIComponent(view.name) : "view=overview";
  const es = new EventSource("/api/watch?" + q);
  es.onmessage = ev => render(view, JSON.parse(ev.data));
  // The dashboard itself went away: EventSource retries on its own; say so meanwhile.
  es.onerror = () => setConnection({ connected: false, server: "the dashboard", error: "no connection to the dashboard" });
}

start();
