// Finding lots by what a person knows of them: a number, a product, a vendor.
import { graphql } from "./api.js";
import { badge } from "./dom.js";

export const LOT_FIELDS = "id number status manufacturedOn vendor { id name } product { name } material { name }";
const FIND = `query Find($number: String) {
  byNumber: batches(filter: { number: $number }, first: 50) { nodes { ${LOT_FIELDS} } }
  products(first: 500) { nodes { id name code } }
  organizations(first: 500) { nodes { id name } }
}`;
const LOTS_OF = `query LotsOf($filter: BatchFilter) { batches(filter: $filter, first: 100) { nodes { ${LOT_FIELDS} } } }`;
export const lotColumns = [
  ["Lot", (lot) => lot.number],
  ["Vendor", (lot) => lot.vendor?.name],
  ["Product or material", (lot) => lot.product?.name || lot.material?.name],
  ["Made on", (lot) => lot.manufacturedOn],
  ["Status", (lot) => badge(lot.status)],
];

export async function findLots(text) {
  const wanted = text.trim().toLowerCase();
  const found = await graphql(FIND, { number: text.trim() });
  const lots = [...found.byNumber.nodes];
  const product = found.products.nodes.find((p) => p.name?.toLowerCase().includes(wanted) || p.code.toLowerCase() === wanted);
  const vendor = found.organizations.nodes.find((o) => o.name?.toLowerCase().includes(wanted));
  for (const filter of [product && { product: product.id }, vendor && { vendor: vendor.id }].filter(Boolean)) {
    lots.push(...(await graphql(LOTS_OF, { filter })).batches.nodes);
  }
  return [...new Map(lots.map((lot) => [lot.id, lot])).values()];
}

