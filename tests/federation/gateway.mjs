// An Apollo Gateway over a fixed supergraph, for the federation tests.
//
//   node gateway.mjs SUPERGRAPH.graphql [PORT]      (0 or no PORT picks a free port)
//
// The subgraph URLs are the ones composition wrote into the supergraph
// (@join__graph(url: ...)). The client's Authorization header is passed on to every
// subgraph request. Prints `ready http://127.0.0.1:PORT/` once it listens.

import { readFileSync } from "node:fs";

import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const [supergraphPath, portArgument = "0"] = process.argv.slice(2);
const port = Number(portArgument);
if (!supergraphPath || !Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: node gateway.mjs SUPERGRAPH.graphql [PORT]");
  process.exit(2);
}

class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context?.authorization) {
      request.http.headers.set("authorization", context.authorization);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(supergraphPath, "utf8"),
  buildService: ({ url }) => new ForwardingDataSource({ url }),
});

const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`ready ${url}`);
