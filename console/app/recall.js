// Recall / impact: from a lot, everything a recall must reach, and a CSV of it.
import { graphql, saveBlob } from "./api.js";
import { badge, csv, fill, h, hashParams, table } from "./dom.js";
import { findLots, lotColumns } from "./lots.js";

const IMPACT = `query Impact($id: ID!) {
  impact(batchId: $id) {
    root truncated
    batches { id depth redacted batch { number status manufacturedOn vendor { name } site { name } product { name } material { name } } }
    products { id code name }
    vendors { id name kind country }
    agreements { id agreementId version status effectiveFrom effectiveTo vendor { name } sponsor { name } }
    shipments { batchId shippedOn quantity unit to { id name } site { name } }
  }
}`;

/** One CSV of the whole scope: a row per affected lot, product, vendor, agreement and shipment. */
export function impactCsv(impact) {
  const lots = impact.batches.map((node) => {
    const lot = node.batch;
    return node.redacted
      ? ["lot", node.id, "(redacted)", "", "", "", `depth ${node.depth}`]
      : ["lot", node.id, lot.number, lot.vendor?.name, lot.product?.name || lot.material?.name, lot.status, `depth ${node.depth}`];
  });
  return csv(["kind", "id", "name", "vendor", "product or material", "status", "detail"], [
    ...lots,
    ...impact.products.map((p) => ["product", p.id, p.name || p.code, "", "", "", ""]),
    ...impact.vendors.map((v) => ["vendor", v.id, v.name, "", "", "", [v.kind, v.country].filter(Boolean).join(" ")]),
    ...impact.agreements.map((a) => ["agreement", a.id, `${a.agreementId} v${a.version}`, a.vendor?.name, "", a.status, `${a.effectiveFrom ?? ""}..${a.effectiveTo ?? ""}`]),
    ...impact.shipments.map((s) => ["shipment", s.batchId, s.to?.name, "", "", "", `${s.shippedOn ?? ""} ${s.quantity ?? ""} ${s.unit ?? ""} ${s.site?.name ?? ""}`.trim()]),
  ]);
}

function scope(impact) {
  const finished = impact.batches.filter((node) => !node.redacted && node.batch.product);
  const name = `recall-${impact.root.replace(/[^\w.-]+/g, "_")}.csv`;
  return [
    h("div", { class: "kv" },
      h("span", {}, h("b", {}, impact.batches.length), " affected lots"),
      h("span", {}, h("b", {}, finished.length), " of a product"),
      h("span", {}, h("b", {}, impact.products.length), " products"),
      h("span", {}, h("b", {}, impact.vendors.length), " vendors"),
      h("span", {}, h("b", {}, impact.shipments.length), " shipments"),
      impact.truncated ? h("span", { class: "error" }, "cut at the depth limit: the scope may be larger") : ""),
    h("div", { class: "actions" },
      h("button", { type: "button", id: "recall-csv", onclick: () => saveBlob(new Blob([impactCsv(impact)], { type: "text/csv" }), name) }, "Download CSV")),
    h("h2", {}, "Affected lots"),
    table([
      ["Lot", (n) => (n.redacted ? h("em", {}, "redacted lot") : h("a", { href: `#/lineage?lot=${encodeURIComponent(n.id)}` }, n.batch.number))],
      ["Vendor", (n) => n.batch?.vendor?.name], ["Site", (n) => n.batch?.site?.name],
      ["Product or material", (n) => n.batch?.product?.name || n.batch?.material?.name],
      ["Status", (n) => badge(n.batch?.status)], ["Steps down", (n) => n.depth],
    ], impact.batches),
    h("h2", {}, "Market shipments"),
    impact.shipments.length
      ? table([["Lot", (s) => s.batchId], ["To", (s) => s.to?.name], ["Site", (s) => s.site?.name], ["Shipped on", (s) => s.shippedOn], ["Quantity", (s) => `${s.quantity ?? ""} ${s.unit ?? ""}`]], impact.shipments)
      : h("p", { class: "muted" }, "No shipment you may read."),
    h("h2", {}, "Products"), table([["Product", (p) => p.name], ["Code", (p) => p.code]], impact.products),
    h("h2", {}, "Vendors"), table([["Vendor", (v) => v.name], ["Kind", (v) => v.kind], ["Country", (v) => v.country]], impact.vendors),
    h("h2", {}, "Quality agreements"),
    table([["Agreement", (a) => `${a.agreementId} v${a.version}`], ["Sponsor", (a) => a.sponsor?.name], ["Vendor", (a) => a.vendor?.name], ["Status", (a) => a.status], ["In force", (a) => `${a.effectiveFrom ?? ""} – ${a.effectiveTo ?? ""}`]], impact.agreements),
  ];
}

export async function recallView(main) {
  const lot = h("input", { name: "lot", placeholder: "lot number or id (batch:vendor/LOT)", required: true, value: hashParams().get("lot") || "", size: 40 });
  const result = h("div", { id: "recall" });
  const run = () =>
    fill(result, async () => {
      let id = lot.value.trim();
      if (!id.startsWith("batch:")) {
        const lots = await findLots(id);
        if (lots.length !== 1) {
          if (!lots.length) throw new Error(`No lot you may read matches “${id}”.`);
          return [h("p", {}, "Several lots match: pick one."),
            table(lotColumns, lots, (one) => { location.hash = `#/recall?lot=${encodeURIComponent(one.id)}`; })];
        }
        id = lots[0].id;
      }
      const { impact } = await graphql(IMPACT, { id });
      if (!impact) throw new Error(`No lot ${id} that you may read.`);
      return scope(impact);
    });
  main.append(
    h("h1", {}, "Recall scope"),
    h("form", { class: "inline panel", onsubmit: (event) => { event.preventDefault(); location.hash = `#/recall?lot=${encodeURIComponent(lot.value.trim())}`; } },
      h("label", {}, "From the lot", lot), h("button", { type: "submit" }, "Show scope")),
    result,
  );
  if (lot.value) await run();
}
