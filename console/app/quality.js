// Quality of a product across its vendors: compliance gaps, scorecards, and I-MR
// control charts with their limits, the specification and every run-rule break marked.
import { graphql } from "./api.js";
import { badge, fill, h, hashParams, table } from "./dom.js";

const PRODUCTS = `{ products(first: 500) { nodes { id name code specifications { test } } } }`;
const OVERVIEW = `query Overview($product: ID!) {
  complianceGaps(productId: $product, first: 200) { nodes { id manufacturedOn batch { number vendor { name } } gaps { reason message } } }
  vendorScorecards(productId: $product) {
    vendor { name } batches dispositioned rightFirstTimeRate deviationsPer100Batches testedBatches oosRate medianDaysToRelease
  }
}`;
const CHARTS = `query Charts($product: ID!, $test: String!) {
  controlCharts(productId: $product, test: $test) {
    test unit specificationSource vendor { name } site { name }
    points { index value on batchId rules specLow specHigh batch { number } }
    analysis {
      centreLine upperControlLimit lowerControlLimit
      capability { cpk ppk specLow specHigh }
      violations { rule number description points }
    }
  }
}`;

const percent = (rate) => (rate === null || rate === undefined ? "" : `${(rate * 100).toFixed(1)} %`);
const fixed = (value) => (value === null || value === undefined ? "–" : value.toFixed(2));

function drawChart(element, chart) {
  const analysis = chart.analysis;
  const lots = chart.points.map((point) => point.batch?.number || point.batchId);
  const points = chart.points.map((point) => point.value);
  const broken = chart.points
    .map((point, position) => ({ value: [lots[position], point.value], rules: point.rules }))
    .filter((point) => point.rules.length);
  const line = (name, value, colour, dashed) =>
    value === null || value === undefined ? null : { name, yAxis: value, lineStyle: { color: colour, type: dashed ? "dashed" : "solid" }, label: { formatter: `${name} ${value.toFixed(2)}`, position: "insideEndTop" } };
  const lastSpec = chart.points[chart.points.length - 1] || {};
  const chartLines = [
    analysis && line("CL", analysis.centreLine, "#067647", false),
    analysis && line("UCL", analysis.upperControlLimit, "#b54708", true),
    analysis && line("LCL", analysis.lowerControlLimit, "#b54708", true),
    line("USL", lastSpec.specHigh, "#b42318", false),
    line("LSL", lastSpec.specLow, "#b42318", false),
  ].filter(Boolean);
  const view = window.echarts.init(element, null, { renderer: "svg" });
  view.setOption({
    animation: false,
    grid: { left: 50, right: 90, top: 20, bottom: 60 },
    tooltip: { trigger: "item" },
    xAxis: { type: "category", name: "lot", data: lots, axisLabel: { rotate: 30 } },
    yAxis: { type: "value", scale: true, name: chart.unit || "" },
    series: [
      { name: chart.test, type: "line", data: points, symbolSize: 6, markLine: { symbol: "none", data: chartLines } },
      { name: "rule broken", type: "scatter", data: broken, symbolSize: 14, itemStyle: { color: "#b42318" },
        tooltip: { formatter: (item) => `rules: ${item.data.rules.join(", ")}` } },
    ],
  });
  return view;
}

function chartPanel(chart) {
  const element = h("div", { class: "chart" });
  const analysis = chart.analysis;
  const lotOf = new Map(chart.points.map((point) => [point.index, point.batch?.number || point.batchId]));
  const panel = h("div", { class: "panel control-chart" },
    h("h2", {}, `${chart.test} at ${chart.site?.name || chart.vendor?.name || "?"}`),
    h("div", { class: "kv" },
      h("span", {}, "Cpk ", h("b", {}, fixed(analysis?.capability?.cpk))),
      h("span", {}, "Ppk ", h("b", {}, fixed(analysis?.capability?.ppk))),
      h("span", {}, "points ", h("b", {}, chart.points.length)),
      h("span", { class: "muted" }, `specification: ${chart.specificationSource.toLowerCase()}`)),
    element,
    analysis?.violations.length
      ? h("ul", { class: "violations" }, analysis.violations.map((violation) =>
          h("li", {}, badge("WARN"), ` Rule ${violation.number} (${violation.description}): lots ${violation.points.map((index) => lotOf.get(index)).join(", ")}`)))
      : h("p", { class: "muted" }, "No run rule broken."),
  );
  requestAnimationFrame(() => drawChart(element, chart));
  return panel;
}

export async function qualityView(main) {
  const { products } = await graphql(PRODUCTS);
  const params = hashParams();
  const product = h("select", { name: "product" },
    products.nodes.map((p) => h("option", { value: p.id, selected: p.id === params.get("product") }, p.name || p.code)));
  const test = h("select", { name: "test" });
  const overview = h("div", { id: "overview" });
  const charts = h("div", { id: "charts" });
  const tests = () => {
    const chosen = products.nodes.find((p) => p.id === product.value);
    const names = [...new Set((chosen?.specifications || []).map((spec) => spec.test))];
    test.replaceChildren(...names.map((name) => h("option", { value: name, selected: name === params.get("test") }, name)));
  };
  const show = async () => {
    await fill(overview, async () => {
      const data = await graphql(OVERVIEW, { product: product.value });
      return [
        h("h2", {}, "Vendor scorecards"),
        table([
          ["Vendor", (s) => s.vendor?.name], ["Lots", (s) => s.batches], ["Dispositioned", (s) => s.dispositioned],
          ["Right first time", (s) => percent(s.rightFirstTimeRate)], ["Deviations / 100 lots", (s) => fixed(s.deviationsPer100Batches)],
          ["OOS lots", (s) => percent(s.oosRate)], ["Median days to release", (s) => s.medianDaysToRelease],
        ], data.vendorScorecards),
        h("h2", {}, "Compliance gaps"),
        data.complianceGaps.nodes.length
          ? table([["Lot", (g) => h("a", { href: `#/lineage?lot=${encodeURIComponent(g.id)}` }, g.batch?.number || g.id)], ["Vendor", (g) => g.batch?.vendor?.name], ["Made on", (g) => g.manufacturedOn],
              ["Why", (g) => h("ul", {}, g.gaps.map((gap) => h("li", {}, badge(gap.reason), " ", gap.message)))]], data.complianceGaps.nodes)
          : h("p", { class: "muted" }, "No lot of this product has a compliance gap you may see."),
      ];
    });
    if (test.value) {
      await fill(charts, async () => {
        const data = await graphql(CHARTS, { product: product.value, test: test.value });
        return data.controlCharts.length ? data.controlCharts.map(chartPanel) : h("p", { class: "muted" }, "No results of this test you may read.");
      });
    }
  };
  product.addEventListener("change", () => { tests(); show(); });
  test.addEventListener("change", show);
  tests();
  main.append(
    h("h1", {}, "Quality"),
    h("form", { class: "inline panel", onsubmit: (event) => { event.preventDefault(); show(); } },
      h("label", {}, "Product", product), h("label", {}, "Control chart of", test)),
    h("h2", {}, "Control charts (I-MR)"), charts, overview,
  );
  if (product.value) await show();
}
