// Lineage explorer: find a lot, draw its genealogy up and down across vendors, open a
// lot's detail, expand from it, export the picture.
import { graphql, saveBlob } from "./api.js";
import { badge, errorBox, fill, h, hashParams, sources, table } from "./dom.js";
import { LOT_FIELDS, findLots, lotColumns } from "./lots.js";

const PALETTE = ["#2f6fde", "#e4572e", "#17a398", "#f3a712", "#8f3985", "#29335c", "#669bbc", "#a8c256", "#c06c84", "#6c5b7b"];
const REDACTED = "#e5e7eb";

const LINEAGE = `query Lineage($id: ID!, $direction: Direction!, $depth: Int!) {
  lineage(batchId: $id, direction: $direction, maxDepth: $depth) {
    truncated
    nodes { id redacted batch { ${LOT_FIELDS} } complianceGaps { reason message } }
    edges { from to kind quantity unit }
  }
}`;
const DETAIL = `query Lot($id: ID!) {
  batch(id: $id) {
    id number status statusText manufacturedOn releasedOn expiresOn quantity unit validationStage
    vendor { name } site { name } product { name } material { name }
    sources { ingestionId location }
    complianceGaps { reason message }
    results { resultId test value textValue unit specLow specHigh verdict testedOn sources { ingestionId location } }
    deviations { deviationId title classification status openedOn sources { ingestionId location } }
    shipments { to { name } shippedOn quantity unit retracted }
  }
}`;

/** The picture's state: every lot and edge drawn so far, by id. */
class Picture {
  constructor(container, legend, onSelect) {
    this.lots = new Map();
    this.edges = new Map();
    this.vendors = new Map(); // vendor id -> { name, colour }
    this.truncated = false;
    this.legend = legend;
    this.cy = window.cytoscape({
      container,
      style: [
        { selector: "node", style: { label: "data(label)", "text-wrap": "wrap", "font-size": 10, "text-valign": "bottom", "text-margin-y": 4, "text-max-width": 120, "background-color": "data(colour)", width: 26, height: 26, "border-width": 1, "border-color": "#555555" } },
        { selector: "node.root", style: { width: 34, height: 34, "border-width": 3, "border-color": "#1d2330" } },
        { selector: "node.redacted", style: { "background-color": REDACTED, "border-style": "dashed", "border-color": "#6b7280", "border-width": 2, color: "#6b7280" } },
        { selector: "node.gap", style: { "border-width": 4, "border-color": "#b42318" } },
        { selector: "node:selected", style: { "overlay-color": "#1f5fbf", "overlay-opacity": 0.2 } },
        { selector: "edge", style: { width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle", "line-color": "#9aa3b2", "target-arrow-color": "#9aa3b2" } },
        { selector: "edge.SAME_LOT", style: { "line-style": "dashed", "line-color": "#c2410c", "target-arrow-color": "#c2410c", label: "same lot", "font-size": 8, color: "#c2410c" } },
      ],
    });
    this.cy.on("tap", "node", (event) => onSelect(event.target.id()));
    // For scripts driving the page (the browser tests): the picture as Cytoscape holds it.
    window.partnerhub = { ...window.partnerhub, lineage: this.cy };
  }

  colourOf(vendor) {
    if (!vendor) return REDACTED;
    if (!this.vendors.has(vendor.id)) {
      this.vendors.set(vendor.id, { name: vendor.name || vendor.id, colour: PALETTE[this.vendors.size % PALETTE.length] });
    }
    return this.vendors.get(vendor.id).colour;
  }

  add(lineage, root) {
    this.truncated ||= lineage.truncated;
    for (const node of lineage.nodes) {
      const known = this.lots.get(node.id);
      if (!known || (known.redacted && !node.redacted)) this.lots.set(node.id, node);
    }
    for (const edge of lineage.edges) this.edges.set(`${edge.from}|${edge.kind}|${edge.to}`, edge);
    this.root = this.root || root;
    this.draw();
  }

  draw() {
    const elements = [];
    for (const [id, node] of this.lots) {
      const lot = node.batch;
      const classes = [node.redacted ? "redacted" : "", node.complianceGaps?.length ? "gap" : "", id === this.root ? "root" : ""];
      elements.push({
        group: "nodes",
        data: {
          id,
          label: node.redacted ? "redacted lot" : `${lot.number}\n${lot.vendor?.name || ""}`,
          colour: node.redacted ? REDACTED : this.colourOf(lot.vendor),
          vendor: node.redacted ? null : lot.vendor?.id,
        },
        classes: classes.filter(Boolean).join(" "),
      });
    }
    for (const [key, edge] of this.edges) {
      if (this.lots.has(edge.from) && this.lots.has(edge.to)) {
        // A lineage edge points from a lot to what it came from; the picture's arrows
        // show the material's way instead: from the input (or the maker's lot) onward.
        elements.push({ group: "edges", data: { id: key, source: edge.to, target: edge.from, kind: edge.kind }, classes: edge.kind });
      }
    }
    this.cy.elements().remove();
    this.cy.add(elements);
    this.cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 45, rankSep: 120 }).run();
    this.drawLegend();
  }

  drawLegend() {
    const redacted = [...this.lots.values()].filter((node) => node.redacted).length;
    const gaps = [...this.lots.values()].filter((node) => node.complianceGaps?.length).length;
    const sameLot = [...this.edges.values()].filter((edge) => edge.kind === "SAME_LOT").length;
    this.legend.replaceChildren(
      ...[...this.vendors.values()].map((vendor) =>
        h("span", { class: "vendor" }, h("span", { class: "swatch", style: `background:${vendor.colour}` }), vendor.name),
      ),
      h("span", { class: "redacted-count" }, h("span", { class: "swatch redacted" }), `redacted lots: ${redacted}`),
      h("span", { class: "gap-count" }, h("span", { class: "swatch gap" }), `compliance gaps: ${gaps}`),
      h("span", { class: "same-lot-count" }, h("span", { class: "swatch same-lot" }), `same-lot crossings: ${sameLot}`),
      h("span", { class: "muted" }, `${this.lots.size} lots; arrows follow the material`, this.truncated ? " (cut at the depth limit)" : ""),
    );
  }
}

async function lineageOf(id, depth) {
  const ask = (direction) => graphql(LINEAGE, { id, direction, depth }).then((data) => data.lineage);
  const [up, down] = await Promise.all([ask("UPSTREAM"), ask("DOWNSTREAM")]);
  if (!up) throw new Error(`No lot ${id} that you may read.`);
  return { truncated: up.truncated || down.truncated, nodes: [...up.nodes, ...down.nodes], edges: [...up.edges, ...down.edges] };
}

function detailOf(lot, onExpand) {
  const row = (name, value) => (value === null || value === undefined || value === "" ? [] : [h("dt", {}, name), h("dd", {}, value)]);
  return [
    h("h2", {}, `Lot ${lot.number}`),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: onExpand }, "Expand from this lot"),
      h("a", { href: `#/recall?lot=${encodeURIComponent(lot.id)}` }, "Recall scope →")),
    h("dl", {},
      row("Id", h("code", {}, lot.id)), row("Vendor", lot.vendor?.name), row("Site", lot.site?.name),
      row("Product", lot.product?.name), row("Material", lot.material?.name), row("Status", badge(lot.status) || lot.statusText),
      row("Made on", lot.manufacturedOn), row("Released on", lot.releasedOn), row("Quantity", lot.quantity === null ? "" : `${lot.quantity} ${lot.unit || ""}`),
      row("Validation", lot.validationStage)),
    lot.complianceGaps?.length ? [h("h2", {}, "Compliance gaps"), h("ul", { class: "gaps" }, lot.complianceGaps.map((gap) => h("li", {}, badge("FAIL"), " ", gap.message)))] : [],
    lot.results.length ? [h("h2", {}, "Results"), table([
      ["Test", (r) => r.test], ["Value", (r) => (r.value ?? r.textValue ?? "") + (r.unit ? ` ${r.unit}` : "")],
      ["Limits", (r) => `${r.specLow ?? ""} – ${r.specHigh ?? ""}`], ["Verdict", (r) => badge(r.verdict)], ["Source", (r) => sources(r.sources)],
    ], lot.results)] : [],
    lot.deviations.length ? [h("h2", {}, "Deviations"), table([
      ["Deviation", (d) => d.deviationId], ["Title", (d) => d.title], ["Class", (d) => d.classification], ["Status", (d) => d.status], ["Source", (d) => sources(d.sources)],
    ], lot.deviations)] : [],
    lot.shipments.length ? [h("h2", {}, "Shipped to"), h("ul", {}, lot.shipments.map((s) => h("li", {}, `${s.to?.name || "?"} on ${s.shippedOn || "?"}${s.retracted ? " (retracted)" : ""}`)))] : [],
    h("h2", {}, "Where this lot came from"),
    sources(lot.sources),
  ];
}

export async function lineageView(main) {
  const results = h("div", { class: "results" });
  const legend = h("div", { class: "legend", id: "legend" });
  const graphBox = h("div", { id: "graph" });
  const detail = h("div", { class: "panel detail", id: "detail" }, h("p", { class: "muted" }, "Click a lot in the picture to see its detail."));
  const search = h("input", { name: "q", placeholder: "lot number, product or vendor", required: true });
  const depth = h("input", { name: "depth", type: "number", min: 1, max: 25, value: 10 });
  let picture = null;

  const open = async (id) => {
    results.replaceChildren();
    legend.replaceChildren();
    graphBox.replaceChildren();
    picture = new Picture(graphBox, legend, select);
    try {
      picture.add(await lineageOf(id, Number(depth.value)), id);
      await select(id);
    } catch (error) {
      legend.replaceChildren(errorBox(error));
    }
  };
  const select = (id) =>
    fill(detail, async () => {
      const node = picture.lots.get(id);
      if (node?.redacted) {
        return [h("h2", {}, "Redacted lot"), h("p", {}, "This lot is in the genealogy, but its attributes belong to an organization whose data you may not read."), h("code", {}, id)];
      }
      const { batch } = await graphql(DETAIL, { id });
      return detailOf(batch, async () => {
        try {
          picture.add(await lineageOf(id, 3), picture.root);
        } catch (error) {
          detail.append(errorBox(error));
        }
      });
    });

  const exportAs = (kind) => {
    if (!picture) return;
    const name = `lineage-${picture.root.replace(/[^\w.-]+/g, "_")}`;
    if (kind === "png") saveBlob(picture.cy.png({ output: "blob", full: true, bg: "#ffffff", scale: 2 }), `${name}.png`);
    else saveBlob(new Blob([picture.cy.svg({ full: true, bg: "#ffffff" })], { type: "image/svg+xml" }), `${name}.svg`);
  };

  main.append(
    h("h1", {}, "Lineage"),
    h("form", { class: "inline panel", onsubmit: async (event) => {
      event.preventDefault();
      await fill(results, async () => {
        const lots = await findLots(search.value);
        if (!lots.length) return h("p", { class: "muted" }, `No lot you may read matches “${search.value}”.`);
        return table(lotColumns, lots, (lot) => { location.hash = `#/lineage?lot=${encodeURIComponent(lot.id)}`; });
      });
    } },
      h("label", {}, "Find a lot", search), h("label", {}, "Depth", depth), h("button", { type: "submit" }, "Find"),
      h("button", { type: "button", class: "secondary", onclick: () => exportAs("png") }, "Export PNG"),
      h("button", { type: "button", class: "secondary", onclick: () => exportAs("svg") }, "Export SVG")),
    results,
    legend,
    h("div", { class: "lineage" }, graphBox, detail),
  );
  const lot = hashParams().get("lot");
  if (lot) await open(lot);
}
