// A small stand-in "ERP" subgraph for the federation tests.
//
//   node erp_subgraph.mjs [PORT]      (or PORT in the environment; 0 picks a free port)
//
// It contributes `erpOrder` to the PartnerHub `Batch` entity, computed only from the
// batch id (`batch:<maker>/<number>`, parts percent-encoded), so a test can predict
// every value: tests/federation/harness.py `erp_order_for` computes the same thing.
// Prints `ready http://127.0.0.1:PORT/` once it listens.
//
// No descriptions on Batch or Batch.id on purpose: composition hints
// (INCONSISTENT_DESCRIPTION) when two subgraphs describe the same element differently.

import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

const typeDefs = parse(`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Query {
    "Always \\"ok\\" while the ERP answers."
    erpHealth: String!
    "The Authorization header this subgraph received with the request, if any."
    erpAuthorization: String
  }

  type Batch @key(fields: "id") {
    id: ID!
    erpOrder: ErpOrder
  }

  "The purchase order under which the ERP books a batch."
  type ErpOrder {
    orderNumber: String!
    costCenter: String!
    unitCost: Float!
    currency: String!
  }
`);

const CURRENCY_BY_MAKER = { alder: "INR", birch: "EUR" };

// `batch:<maker>/<number>` -> {maker, number}, or null for anything else.
function parseBatchId(id) {
  if (typeof id !== "string" || !id.startsWith("batch:")) return null;
  const parts = id.slice("batch:".length).split("/");
  if (parts.length !== 2) return null;
  try {
    const [maker, number] = parts.map((part) => decodeURIComponent(part));
    return maker && number ? { maker, number } : null;
  } catch {
    return null; // malformed percent-encoding
  }
}

function erpOrderFor(id) {
  const key = parseBatchId(id);
  if (key === null) return null;
  let hash = 0;
  for (const byte of new TextEncoder().encode(`${key.maker}/${key.number}`)) {
    hash = (hash * 31 + byte) % 100003;
  }
  return {
    orderNumber: `PO-${key.number}`,
    costCenter: `CC-${key.maker.toUpperCase()}`,
    unitCost: 5 + (hash % 99500) / 100,
    currency: CURRENCY_BY_MAKER[key.maker] ?? "USD",
  };
}

const resolvers = {
  Query: {
    erpHealth: () => "ok",
    erpAuthorization: (_parent, _args, context) => context.authorization ?? null,
  },
  Batch: {
    __resolveReference: (reference) => ({ id: reference.id }),
    erpOrder: (batch) => erpOrderFor(batch.id),
  },
};

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`usage: node erp_subgraph.mjs [PORT]  (got port ${process.argv[2] ?? process.env.PORT})`);
  process.exit(2);
}
const server = new ApolloServer({
  schema: buildSubgraphSchema({ typeDefs, resolvers }),
  plugins: [ApolloServerPluginInlineTraceDisabled()],
});
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`ready ${url}`);
