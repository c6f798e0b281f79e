// Inspection readiness of a vendor (for a product) as of a day, check by check, and
// the product's process validation stage by stage.
import { graphql } from "./api.js";
import { badge, fill, h, hashParams, table } from "./dom.js";

const CHOICES = `{ organizations(first: 500) { nodes { id name kind } } products(first: 500) { nodes { id name code } } }`;
const READINESS = `query Readiness($vendor: ID, $product: ID, $asOf: Date) {
  inspectionReadiness(vendorId: $vendor, productId: $product, asOf: $asOf) {
    status asOf vendor { name } product { name }
    checks { name status message evidence { id kind } }
  }
}`;
const VALIDATION = `query Validation($product: ID!, $asOf: Date) {
  processValidation(productId: $product, asOf: $asOf) { stage status checks { name status message } }
}`;

const evidence = (check) =>
  h("ul", {}, check.evidence.map((item) =>
    h("li", {}, item.kind === "Batch" ? h("a", { href: `#/lineage?lot=${encodeURIComponent(item.id)}` }, item.id) : h("code", {}, item.id), ` ${item.kind}`)));

export async function readinessView(main) {
  const { organizations, products } = await graphql(CHOICES);
  const params = hashParams();
  const vendor = h("select", { name: "vendor" },
    organizations.nodes.filter((o) => o.kind !== "SPONSOR").map((o) => h("option", { value: o.id, selected: o.id === params.get("vendor") }, o.name || o.id)));
  const product = h("select", { name: "product" },
    h("option", { value: "" }, "every product"),
    products.nodes.map((p) => h("option", { value: p.id, selected: p.id === params.get("product") }, p.name || p.code)));
  const asOf = h("input", { type: "date", name: "asOf", value: params.get("asOf") || "" });
  const result = h("div", { id: "readiness" });
  const run = () =>
    fill(result, async () => {
      const day = asOf.value || null;
      const { inspectionReadiness: ready } = await graphql(READINESS, { vendor: vendor.value, product: product.value || null, asOf: day });
      const parts = [
        h("div", { class: "panel" },
          h("h2", {}, `${ready.vendor?.name || "?"}${ready.product ? ` for ${ready.product.name}` : ""}, as of ${ready.asOf}: `, badge(ready.status)),
          table([["Check", (c) => c.name], ["Status", (c) => badge(c.status)], ["Why", (c) => c.message], ["Evidence", evidence]], ready.checks)),
      ];
      if (product.value) {
        const { processValidation } = await graphql(VALIDATION, { product: product.value, asOf: day });
        parts.push(h("div", { class: "panel" }, h("h2", {}, "Process validation"),
          table([["Stage", (s) => s.stage], ["Status", (s) => badge(s.status)],
            ["Checks", (s) => h("ul", {}, s.checks.map((c) => h("li", {}, badge(c.status), ` ${c.name}: ${c.message}`)))]], processValidation)));
      }
      return parts;
    });
  main.append(
    h("h1", {}, "Inspection readiness"),
    h("form", { class: "inline panel", onsubmit: (event) => { event.preventDefault(); run(); } },
      h("label", {}, "Vendor", vendor), h("label", {}, "Product", product), h("label", {}, "As of (today if empty)", asOf),
      h("button", { type: "submit" }, "Judge")),
    result,
  );
  if (params.get("vendor")) await run();
}
