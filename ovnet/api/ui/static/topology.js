// ovnet's topology page: reads the Neutron API with the token the user typed (kept in this tab's
// sessionStorage, sent as X-Auth-Token, never in a URL) and draws routers <-> networks <-> ports
// with cytoscape, grouped by project or by hypervisor; polls every few seconds.
"use strict";
(() => {
  const POLL_MS = 3000;
  const KEY = "ovnet.token";
  const STATUS_COLORS = { ACTIVE: "#22c55e", DOWN: "#64748b", BUILD: "#38bdf8", ERROR: "#ef4444" };
  const HOST_COLORS = ["#a78bfa", "#f472b6", "#2dd4bf", "#fb923c", "#60a5fa", "#facc15", "#4ade80", "#f87171"];
  const KINDS = {
    namespace: { label: "namespace", shape: "ellipse" },
    docker: { label: "Docker container", shape: "hexagon" },
    podman: { label: "Podman container", shape: "octagon" },
    cni: { label: "CNI container", shape: "octagon" },
    vm: { label: "VM", shape: "round-rectangle" },
    unbound: { label: "not bound", shape: "ellipse" },
  };
  const HIDDEN_OWNERS = ["network:dhcp", "network:floatingip", "network:router_gateway", "network:router_interface",
                         "network:router_interface_distributed", "network:router_centralized_snat"];

  const $ = (id) => document.getElementById(id);
  let cy = null, timer = null, lastShape = "", state = null;
  // Project names a member may read one by one (its own: Keystone's identity:get_project policy),
  // kept for the session (a name never changes); null where the API refused (another project's).
  let memberNames = {};

  class AuthError extends Error {}

  const token = () => sessionStorage.getItem(KEY);

  async function get(path) {
    const answer = await fetch(path, { headers: { "X-Auth-Token": token(), "Accept": "application/json" },
                                       cache: "no-store" });
    if (answer.status === 401) throw new AuthError("the API does not accept this token");
    if (answer.status === 404 || answer.status === 403) return null;  // kind not served, or not for this token
    if (!answer.ok) throw new Error(`${path}: HTTP ${answer.status}`);
    return answer.json();
  }

  async function load() {
    const [networks, subnets, ports, routers, fips, projects] = await Promise.all([
      get("/v2.0/networks"), get("/v2.0/subnets"), get("/v2.0/ports"), get("/v2.0/routers"),
      get("/v2.0/floatingips"), get("/v3/projects")]);
    const data = {
      networks: networks ? networks.networks : [], subnets: subnets ? subnets.subnets : [],
      ports: ports ? ports.ports : [], routers: routers ? routers.routers : [],
      floatingips: fips ? fips.floatingips : [], routersServed: routers !== null, fipsServed: fips !== null,
      admin: projects !== null,
    };
    if (projects) {
      data.projects = Object.fromEntries(projects.projects.map((p) => [p.id, p.name]));
    } else {  // a member may not list projects, but may read its own (and is refused the others)
      const ids = new Set([...data.networks, ...data.ports, ...data.routers, ...data.floatingips]
        .map((o) => o.project_id).filter((id) => id && !(id in memberNames)));
      await Promise.all([...ids].map(async (id) => {
        const found = await get(`/v3/projects/${encodeURIComponent(id)}`);
        memberNames[id] = found ? found.project.name : null;
      }));
      data.projects = memberNames;
    }
    return data;
  }

  function kindOf(port) {
    const owner = port.device_owner || "";
    if (owner === "compute:docker") return "docker";
    if (/podman/.test(owner)) return "podman";
    if (/cni|containerd|k8s/.test(owner)) return "cni";
    if (owner.startsWith("compute:")) return "vm";
    return port["binding:host_id"] ? "namespace" : "unbound";
  }

  const short = (id) => (id || "").slice(0, 8);
  const projectName = (data, id) => (data.projects && data.projects[id]) || `project ${short(id)}`;

  function elements(data, groupBy) {
    const els = [], hosts = [];
    const subnetsOf = {};
    for (const s of data.subnets) (subnetsOf[s.network_id] = subnetsOf[s.network_id] || []).push(s);
    const visibleNets = new Set(data.networks.map((n) => n.id));
    const projectIds = new Set();
    const parentFor = (projectId, host) => {
      if (groupBy === "project") { projectIds.add(projectId); return `proj:${projectId}`; }
      if (host === undefined) return undefined;
      if (!hosts.includes(host)) hosts.push(host);
      return `host:${host}`;
    };
    for (const n of data.networks) {
      const cidrs = (subnetsOf[n.id] || []).map((s) => s.cidr).join("\n");
      const owner = groupBy === "host" && data.admin ? `${projectName(data, n.project_id)} · ` : "";
      els.push({ group: "nodes", classes: "network" + (n["router:external"] ? " external" : ""),
                 data: { id: `net:${n.id}`, label: `${owner}${n.name || short(n.id)}${cidrs ? "\n" + cidrs : ""}`,
                         w: Math.max(120, 16 + 7.5 * Math.max(...`${owner}${n.name}\n${cidrs}`.split("\n").map((l) => l.length))),
                         parent: parentFor(n.project_id), ref: n, type: "network" } });
    }
    for (const r of data.routers) {
      els.push({ group: "nodes", classes: "router",
                 data: { id: `rtr:${r.id}`, label: r.name || short(r.id), parent: parentFor(r.project_id), ref: r,
                         type: "router" } });
      const gw = r.external_gateway_info && r.external_gateway_info.network_id;
      if (gw && visibleNets.has(gw)) {
        els.push({ group: "edges", classes: "gateway", data: { id: `gw:${r.id}`, source: `rtr:${r.id}`, target: `net:${gw}` } });
      }
    }
    const hostColor = {};
    for (const p of data.ports) {
      const owner = p.device_owner || "";
      if (owner.startsWith("network:router_interface") && data.routers.some((r) => r.id === p.device_id)) {
        els.push({ group: "edges", classes: "interface",
                   data: { id: `if:${p.id}`, source: `rtr:${p.device_id}`, target: `net:${p.network_id}`,
                           label: (p.fixed_ips[0] || {}).ip_address || "" } });
        continue;
      }
      if (HIDDEN_OWNERS.includes(owner)) continue;
      const host = p["binding:host_id"] || "";
      const kind = kindOf(p);
      const ips = p.fixed_ips.map((f) => f.ip_address).join("\n");
      const full = p.name || (p.device_id && kind !== "namespace" ? p.device_id : "") || short(p.id);
      const who = full.length > 16 ? full.slice(0, 15) + "…" : full;  // neighbours' labels must not overlap
      if (host && !(host in hostColor)) hostColor[host] = HOST_COLORS[Object.keys(hostColor).length % HOST_COLORS.length];
      els.push({ group: "nodes", classes: `port ${kind} ${(p.status || "DOWN").toLowerCase()}`,
                 data: { id: `port:${p.id}`, label: `${who}\n${ips}`, ref: p, type: "port", kind,
                         parent: parentFor(p.project_id, host || undefined),
                         color: STATUS_COLORS[p.status] || STATUS_COLORS.DOWN,
                         hostColor: hostColor[host] || "#334155", shape: KINDS[kind].shape } });
      if (visibleNets.has(p.network_id)) {
        els.push({ group: "edges", classes: `attach ${(p.status || "DOWN").toLowerCase()}`,
                   data: { id: `att:${p.id}`, source: `port:${p.id}`, target: `net:${p.network_id}` } });
      }
    }
    for (const f of data.floatingips) {
      els.push({ group: "nodes", classes: "fip",
                 data: { id: `fip:${f.id}`, label: f.floating_ip_address, parent: parentFor(f.project_id),
                         ref: f, type: "floating IP" } });
      if (f.port_id) els.push({ group: "edges", classes: "nat", data: { id: `nat:${f.id}`, source: `fip:${f.id}`, target: `port:${f.port_id}` } });
      if (visibleNets.has(f.floating_network_id)) {
        els.push({ group: "edges", classes: "pool", data: { id: `pool:${f.id}`, source: `fip:${f.id}`, target: `net:${f.floating_network_id}` } });
      }
    }
    const known = new Set(els.filter((e) => e.group === "nodes").map((e) => e.data.id));
    const edges = els.filter((e) => e.group === "edges" && known.has(e.data.source) && known.has(e.data.target));
    const groups = groupBy === "project"
      ? [...projectIds].map((id) => ({ group: "nodes", classes: "group project", data: { id: `proj:${id}`, label: projectName(data, id) } }))
      : hosts.map((h) => ({ group: "nodes", classes: "group host", data: { id: `host:${h}`, label: `hypervisor ${h}`, hostColor: hostColor[h] } }));
    groups.sort((a, b) => a.data.label.localeCompare(b.data.label));  // left to right by name
    return { elements: [...groups, ...els.filter((e) => e.group === "nodes"), ...edges], hostColor };
  }

  const STYLE = [
    { selector: "node", style: { "label": "data(label)", "color": "#e2e8f0", "font-size": 11, "text-wrap": "wrap",
                                 "text-valign": "bottom", "text-margin-y": 4, "font-family": "DejaVu Sans, sans-serif",
                                 "text-outline-color": "#0f172a", "text-outline-width": 2 } },
    { selector: "node.network", style: { "shape": "round-rectangle", "width": "data(w)", "height": 36, "background-color": "#0ea5e9",
                                         "border-color": "#7dd3fc", "border-width": 2, "text-valign": "center",
                                         "text-margin-y": 0, "color": "#04111f", "font-size": 11, "font-weight": "bold",
                                         "text-outline-width": 0 } },
    { selector: "node.network.external", style: { "background-color": "#1e293b", "border-color": "#f59e0b",
                                                  "border-style": "double", "border-width": 4, "color": "#fde68a" } },
    { selector: "node.router", style: { "shape": "diamond", "width": 44, "height": 44, "background-color": "#f59e0b",
                                        "border-color": "#fde68a", "border-width": 2 } },
    { selector: "node.port", style: { "shape": "data(shape)", "width": 24, "height": 24, "background-color": "data(color)",
                                      "border-color": "data(hostColor)", "border-width": 3 } },
    { selector: "node.fip", style: { "shape": "tag", "width": 30, "height": 20, "background-color": "#facc15" } },
    { selector: "node.group", style: { "shape": "round-rectangle", "background-color": "#1e293b", "background-opacity": 0.55,
                                       "border-color": "#334155", "border-width": 1, "border-style": "dashed",
                                       "text-valign": "top", "text-halign": "center", "text-margin-y": -6,
                                       "font-size": 13, "font-weight": "bold", "color": "#cbd5e1", "padding": 18 } },
    { selector: "node.group.host", style: { "border-color": "data(hostColor)", "border-width": 2 } },
    { selector: "edge", style: { "width": 2, "line-color": "#475569", "curve-style": "bezier" } },
    { selector: "edge.attach.active", style: { "line-color": "#16a34a" } },
    { selector: "edge.interface", style: { "width": 3, "line-color": "#f59e0b", "label": "data(label)", "font-size": 9,
                                           "color": "#fde68a", "text-outline-color": "#0f172a", "text-outline-width": 2 } },
    { selector: "edge.gateway", style: { "width": 3, "line-color": "#f59e0b", "line-style": "dashed" } },
    { selector: "edge.nat", style: { "line-color": "#facc15", "line-style": "dotted", "width": 2,
                                     "target-arrow-shape": "triangle", "target-arrow-color": "#facc15" } },
    { selector: "edge.pool", style: { "line-color": "#a16207", "line-style": "dotted" } },
    { selector: ":selected", style: { "overlay-color": "#38bdf8", "overlay-opacity": 0.25 } },
  ];

  // A preset layout, computed here, keeps the picture the same from one poll to the next and
  // reads like a network diagram: per project, each network a column with its ports below and
  // its routers above; per hypervisor, the networks in a row and each hypervisor's ports below.
  const COL = 220, ROW = 78, ROUTER_Y = -120;

  function positions(groupBy) {
    const pos = {};
    const nodes = (cls) => cy.nodes(cls).sort((a, b) => String(a.data("label")).localeCompare(String(b.data("label"))));
    const networkOf = (port) => port.connectedEdges(".attach").targets(".network")[0];
    const placePorts = (ports, x0, y0, perRow) => ports.forEach((p, j) => {
      pos[p.id()] = { x: x0 + (j % perRow) * (COL * 0.55), y: y0 + Math.floor(j / perRow) * ROW };
    });
    let x = 0;
    if (groupBy === "project") {
      const groups = cy.nodes(".group");
      const loose = cy.collection();
      const buckets = groups.length ? groups.map((g) => g.children()) : [cy.nodes().not(".group")];
      for (const members of buckets) {
        const nets = members.filter(".network").sort((a, b) => String(a.data("label")).localeCompare(String(b.data("label"))));
        nets.forEach((n, i) => {
          const nx = x + i * COL;
          pos[n.id()] = { x: nx, y: 0 };
          const ports = members.filter(".port").filter((p) => networkOf(p) && networkOf(p).id() === n.id())
            .sort((a, b) => String(a.data("label")).localeCompare(String(b.data("label"))));
          ports.forEach((p, j) => { pos[p.id()] = { x: nx + (j % 2 ? 56 : -56), y: 95 + Math.floor(j / 2) * ROW }; });
        });
        const others = members.filter(".port").filter((p) => !pos[p.id()]);
        placePorts(others, x + nets.length * COL, 95, 1);
        members.filter(".router").forEach((r, i) => {
          // Over its own group's networks only: a gateway's external network sits in another
          // group, and a router pulled towards it stretched its box over that group.
          const xs = r.connectedEdges().targets(".network").filter((n) => members.contains(n)).map((n) => pos[n.id()].x);
          pos[r.id()] = { x: xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : x + i * COL, y: ROUTER_Y };
        });
        x += Math.max(1, nets.length + (others.length ? 1 : 0)) * COL + 70;
        loose.merge(members);
      }
    } else {
      const nets = nodes(".network");
      nets.forEach((n, i) => { pos[n.id()] = { x: i * COL, y: 0 }; });
      const netX = (p) => (networkOf(p) ? pos[networkOf(p).id()].x : 1e9);
      const hosts = cy.nodes(".group");
      const widths = hosts.map((h) => Math.min(4, h.children().length));
      const total = widths.reduce((a, w) => a + w * COL * 0.55 + 90, 0);
      x = (Math.max(0, nets.length - 1) * COL) / 2 - total / 2;
      hosts.forEach((h, i) => {
        const ports = h.children(".port").sort((a, b) => netX(a) - netX(b) || String(a.data("label")).localeCompare(String(b.data("label"))));
        placePorts(ports, x, 190, 4);
        x += widths[i] * COL * 0.55 + 90;
      });
      placePorts(cy.nodes(".port").filter((p) => !pos[p.id()]), x, 190, 2);
      cy.nodes(".router").forEach((r, i) => {
        const xs = r.connectedEdges().targets(".network").map((n) => pos[n.id()].x);
        pos[r.id()] = { x: xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : i * COL, y: ROUTER_Y };
      });
    }
    cy.nodes(".fip").forEach((f, i) => {
      const port = f.connectedEdges(".nat").targets()[0];
      pos[f.id()] = port && pos[port.id()] ? { x: pos[port.id()].x + 30, y: pos[port.id()].y - 34 } : { x: i * 60, y: ROUTER_Y - 80 };
    });
    return pos;
  }

  function layout() {
    const pos = positions($("group").value);
    cy.layout({ name: "preset", positions: (node) => pos[node.id()] || { x: 0, y: 0 }, fit: false }).run();
    separateGroups();
    cy.fit(undefined, 40);
    if (cy.zoom() > 1.6) { cy.zoom(1.6); cy.center(); }
  }

  // A group's box is only known once drawn: it grows with its members' labels (a long network
  // name, its subnets) and its own title. Walking the groups left to right, each one that starts
  // before the previous one ends (plus a gap) is moved right, with everything in it.
  const GROUP_GAP = 30;

  function separateGroups() {
    let right = -Infinity;
    const groups = cy.nodes(".group").sort((a, b) => a.boundingBox().x1 - b.boundingBox().x1);
    groups.forEach((g) => {
      const box = g.boundingBox();
      if (box.x1 < right + GROUP_GAP) g.descendants().shift({ x: right + GROUP_GAP - box.x1 });
      right = g.boundingBox().x2;
    });
  }

  function groupBoxes() {
    return cy.nodes(".group").map((g) => {
      const box = g.boundingBox();
      return { id: g.id(), label: g.data("label"), x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2 };
    });
  }

  function render(data) {
    const groupBy = $("group").value;
    const { elements: els, hostColor } = elements(data, groupBy);
    const shape = groupBy + "|" + els.map((e) => e.data.id + ">" + (e.data.parent || "")).join(",");
    if (!cy) {
      cy = cytoscape({ container: $("graph"), style: STYLE, wheelSensitivity: 0.3, minZoom: 0.2, maxZoom: 3 });
      cy.on("tap", "node, edge", (event) => showDetails(event.target.data()));
    }
    if (shape !== lastShape) {
      cy.elements().remove();
      cy.add(els);
      layout();
      lastShape = shape;
    } else {
      for (const e of els) {  // same picture: only statuses and labels change, positions stay
        const el = cy.getElementById(e.data.id);
        el.data(e.data);
        el.classes(e.classes);
      }
    }
    // What is drawn, by kind, for tests and scripts that cannot read a canvas.
    const drawn = {};
    for (const cls of ["router", "network", "port", "fip", "interface", "gateway", "nat", "pool", "attach"]) {
      drawn[cls] = cy.elements(`.${cls}`).length;
    }
    $("graph").dataset.drawn = JSON.stringify(drawn);
    $("graph").dataset.groups = JSON.stringify(groupBoxes());  // each group's box, model coordinates
    summary(data, hostColor);
  }

  function summary(data, hostColor) {
    const shown = data.ports.filter((p) => !HIDDEN_OWNERS.includes(p.device_owner || ""));
    const active = shown.filter((p) => p.status === "ACTIVE").length;
    const counts = $("counts");
    counts.dataset.networks = data.networks.length;
    counts.dataset.ports = shown.length;
    counts.dataset.routers = data.routers.length;
    counts.dataset.floatingips = data.floatingips.length;
    const item = (n, what, extra) => `<span><b>${n}</b> ${what}${extra ? ` <small>${extra}</small>` : ""}</span>`;
    counts.innerHTML = [
      item(data.networks.length, "networks"), item(shown.length, "ports", `${active} active`),
      item(data.routers.length, "routers", data.routersServed ? "" : "(not served)"),
      item(data.floatingips.length, "floating IPs", data.fipsServed ? "" : "(not served)"),
      item(Object.keys(hostColor).length, "hypervisors"),
    ].join("");
    // A member sees other projects' networks only when they are shared or external to it: its own
    // project is that of a network that is neither (the list's order is by id, so the first network
    // may well be the admin's public one), else of a port of its own.
    const own = (data.networks.find((n) => !n.shared && !n["router:external"])
                 || data.ports.find((p) => !(p.device_owner || "").startsWith("network:")) || {}).project_id;
    $("scope").textContent = data.admin ? "admin: all projects" : `member: ${own ? projectName(data, own) : "no resources yet"}`;
    legend(hostColor, new Set(shown.map(kindOf)));
    listing(data);
    $("status").textContent = `updated ${new Date().toLocaleTimeString()} · polling every ${POLL_MS / 1000} s`;
  }

  function legend(hostColor, kinds) {
    const row = (swatch, text) => `<div class="legend-row">${swatch}<span>${text}</span></div>`;
    const dot = (color, radius, border) => `<span class="swatch" style="background:${color};border-radius:${radius};${border || ""}"></span>`;
    $("legend").innerHTML = "<h3>Legend</h3>" + [
      row(dot("#f59e0b", "2px;transform:rotate(45deg)"), "router"),
      row(dot("#0ea5e9", "4px"), "network (subnets below its name)"),
      row(dot("#1e293b", "4px", "border-color:#f59e0b"), "external network"),
      row(dot("#facc15", "2px"), "floating IP"),
      row(dot(STATUS_COLORS.ACTIVE, "50%"), "port ACTIVE"),
      row(dot(STATUS_COLORS.DOWN, "50%"), "port DOWN"),
      ...Object.entries(KINDS).filter(([k]) => kinds.has(k)).map(([k, v]) => row(`<span class="swatch shape-${k}"></span>`, v.label)),
      ...Object.entries(hostColor).map(([h, c]) => row(dot("transparent", "50%", `border-color:${c}`), `on ${h}`)),
    ].join("");
  }

  function listing(data) {
    const byProject = {};
    const sorted = [...data.networks].sort((a, b) => projectName(data, a.project_id).localeCompare(projectName(data, b.project_id))
                                                   || String(a.name).localeCompare(String(b.name)));
    for (const n of sorted) (byProject[n.project_id] = byProject[n.project_id] || []).push(n);
    const portsOn = (id) => data.ports.filter((p) => p.network_id === id && !HIDDEN_OWNERS.includes(p.device_owner || ""));
    const html = ["<h3>Networks</h3>"];
    for (const [pid, nets] of Object.entries(byProject)) {
      html.push(`<div class="proj">${escapeHtml(projectName(data, pid))}</div><ul>`);
      for (const n of nets) {
        const ports = portsOn(n.id);
        html.push(`<li data-network-id="${n.id}" data-project-id="${pid}" data-ports="${ports.length}">`
                  + `<b>${escapeHtml(n.name || short(n.id))}</b> · ${ports.length} ports, `
                  + `${ports.filter((p) => p.status === "ACTIVE").length} active</li>`);
      }
      html.push("</ul>");
    }
    $("listing").innerHTML = html.join("");
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function showDetails(d) {
    const ref = d.ref;
    if (!ref) { $("details").innerHTML = `<h3>Details</h3><p>${escapeHtml(d.label || d.id)}</p>`; return; }
    const pick = { port: ["name", "id", "status", "mac_address", "fixed_ips", "binding:host_id", "device_owner", "device_id", "network_id", "project_id"],
                   network: ["name", "id", "status", "mtu", "router:external", "shared", "project_id"],
                   router: ["name", "id", "status", "external_gateway_info", "project_id"],
                   "floating IP": ["floating_ip_address", "fixed_ip_address", "port_id", "status", "project_id"] }[d.type] || Object.keys(ref);
    const value = (v) => (typeof v === "object" && v !== null) ? JSON.stringify(v) : String(v);
    const rows = pick.filter((k) => k in ref).map((k) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(value(ref[k]))}</td></tr>`);
    const kind = d.kind ? `<tr><td>workload</td><td>${KINDS[d.kind].label}</td></tr>` : "";
    $("details").innerHTML = `<h3>${escapeHtml(d.type)}</h3><table class="kv">${kind}${rows.join("")}</table>`;
  }

  async function refresh() {
    try {
      state = await load();
      render(state);
      window.ovnetTopology = state;  // for tests and the curious: what the page drew
    } catch (error) {
      if (error instanceof AuthError) { signOut(error.message); return; }
      $("status").textContent = `could not load: ${error.message} (retrying)`;
    }
  }

  function signIn(value) {
    sessionStorage.setItem(KEY, value);
    $("login").hidden = true;
    $("view").hidden = false;
    $("controls").hidden = false;
    refresh();
    timer = setInterval(refresh, POLL_MS);
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    clearInterval(timer);
    memberNames = {};  // the next token may be another project's
    if (cy) { cy.destroy(); cy = null; lastShape = ""; }
    $("view").hidden = true;
    $("controls").hidden = true;
    $("login").hidden = false;
    $("counts").innerHTML = "";
    $("scope").textContent = "";
    $("login-error").textContent = message || "";
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login").addEventListener("submit", (event) => {
      event.preventDefault();  // the token must never travel as a form field in a URL
      const value = $("token").value.trim();
      $("token").value = "";
      if (value) signIn(value);
    });
    $("signout").addEventListener("click", () => signOut());
    $("group").addEventListener("change", () => { lastShape = ""; if (state) render(state); });
    if (token()) signIn(token());
  });
})();
