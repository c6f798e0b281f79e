// Ingestions: recent pushes with their outcome, one push's rejections and warnings
// with where they are in the payload; for the operator, partners and their identifiers.
import { getJson, graphql } from "./api.js";
import { session } from "./auth.js";
import { badge, fill, h, hashParams, table } from "./dom.js";

const findings = (title, list) =>
  list?.length
    ? [h("h2", {}, title), table([["Where", (f) => h("code", {}, f.location)], ["Field", (f) => f.field], ["What", (f) => f.message]], list)]
    : [];

async function oneIngestion(id) {
  const found = await getJson(`/ingestions/${encodeURIComponent(id)}`);
  const report = found.report || {};
  return h("div", { class: "panel", id: "ingestion" },
    h("h2", {}, `${found.ingestion_id} `, badge(found.status)),
    h("div", { class: "kv" },
      h("span", {}, "from ", h("b", {}, found.org)), h("span", {}, "connector ", h("b", {}, found.connector)),
      h("span", {}, "file ", h("b", {}, found.filename || "–")), h("span", {}, "received ", h("b", {}, found.received_at)),
      h("span", {}, "records ", h("b", {}, report.records ?? "–")), h("span", {}, "applied ", h("b", {}, report.applied ?? "–")),
      h("span", {}, "rejected ", h("b", {}, report.rejected ?? "–")), h("span", {}, "warned ", h("b", {}, report.warned ?? "–"))),
    report.error ? h("p", { class: "error" }, `${report.error.location}: ${report.error.message}`) : "",
    findings("Rejections", report.rejections),
    findings("Warnings", report.warnings),
    found.superseded_by?.length ? h("p", {}, `Superseded by ${found.superseded_by.join(", ")}`) : "");
}

async function directory() {
  const { organizations } = await graphql(`{ organizations(first: 500) { nodes { id orgId name kind country } } }`);
  const identifiers = await Promise.all(
    organizations.nodes.map((org) => getJson(`/admin/organizations/${encodeURIComponent(org.orgId)}/identifiers`).catch(() => [])),
  );
  return [h("h2", {}, "Partners and their identifiers"),
    table([["Partner", (o) => o.name], ["Kind", (o) => o.kind], ["Country", (o) => o.country],
      ["Identifiers", (o) => o.identifiers.map((id) => `${id.scheme} ${id.value}`).join(", ")]],
    organizations.nodes.map((org, index) => ({ ...org, identifiers: identifiers[index] })))];
}

export async function ingestionsView(main) {
  const current = session();
  const mayList = current.scopes.includes("ingest:write");
  const params = hashParams();
  const status = h("select", { name: "status" }, ["", "RECEIVED", "APPLIED", "PARTIAL", "REJECTED", "FAILED"].map((word) => h("option", { value: word, selected: word === params.get("status") }, word || "any status")));
  const list = h("div", { id: "ingestions" });
  const detail = h("div", {});
  const load = () =>
    fill(list, async () => {
      const query = new URLSearchParams({ first: "100", ...(status.value ? { status: status.value } : {}) });
      const { ingestions } = await getJson(`/ingestions?${query}`);
      if (!ingestions.length) return h("p", { class: "muted" }, "No ingestion yet.");
      return table([
        ["Received", (i) => i.received_at.replace("T", " ").slice(0, 19)], ["Partner", (i) => i.org], ["Connector", (i) => i.connector],
        ["File", (i) => i.filename], ["Status", (i) => badge(i.status)], ["Records", (i) => i.records], ["Rejected", (i) => i.rejected], ["Warned", (i) => i.warned],
      ], ingestions, (i) => { location.hash = `#/ingestions?id=${encodeURIComponent(i.ingestion_id)}`; });
    });
  main.append(h("h1", {}, "Ingestions"));
  if (!mayList) {
    main.append(h("p", { class: "muted" }, "Your account may not push data (no ingest:write scope), so it has no ingestions to show."));
    return;
  }
  main.append(detail,
    h("form", { class: "inline panel", onsubmit: (event) => { event.preventDefault(); load(); } }, h("label", {}, "Status", status), h("button", { type: "submit" }, "Show")),
    list);
  if (params.get("id")) await fill(detail, () => oneIngestion(params.get("id")));
  await load();
  if (current.scopes.includes("admin")) {
    const operator = h("div", { class: "panel", id: "operator" });
    main.append(operator);
    await fill(operator, directory);
  }
}
