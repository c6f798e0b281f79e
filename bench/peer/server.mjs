// @neo4j/graphql on Apollo Server (standalone, one Node.js process): the peer that
// bench.peer measures PartnerHub against, on the graph PartnerHub's own store wrote.
//
//   node server.mjs   (PEER_PORT, PEER_NEO4J_URI, PEER_JWT_KEY from the environment)
//
// Reads only. Batches are scoped as PartnerHub scopes them: an operator's token (role
// "admin") reads every lot, any other organization's token the lots whose `readers`
// list names it (an @authorization filter, ANDed into each query's Cypher).
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { Neo4jGraphQL } from "@neo4j/graphql";
import neo4j from "neo4j-driver";

export const typeDefs = /* GraphQL */ `
  type JWT @jwt {
    roles: [String!]!
    org: String!
  }

  type Organization @node {
    id: ID!
    orgId: String @alias(property: "org_id")
    name: String
    kind: String
    country: String
  }

  type Product @node {
    id: ID!
    code: String
    name: String
    sponsor: String
  }

  type Material @node {
    id: ID!
    code: String
    name: String
    products: [Product!]! @relationship(type: "FOR_PRODUCT", direction: OUT)
  }

  type Batch
    @node
    @authorization(
      filter: [
        { where: { jwt: { roles: { includes: "admin" } } } }
        { where: { node: { readers: { includes: "$jwt.org" } } } }
      ]
    ) {
    id: ID!
    number: String!
    status: String
    maker: String
    readers: [String!]!
    manufacturedOn: String @alias(property: "manufactured_on")
    quantity: Float
    unit: String
    vendor: [Organization!]! @relationship(type: "MADE_BY", direction: OUT)
    material: [Material!]! @relationship(type: "OF_MATERIAL", direction: OUT)
    inputs: [Batch!]! @relationship(type: "CONSUMED", direction: OUT)
    outputs: [Batch!]! @relationship(type: "CONSUMED", direction: IN)
    sameLotAs: [Batch!]! @relationship(type: "SAME_LOT", direction: OUT)
    "Lots upstream of this one within 10 genealogy hops (CONSUMED, SAME_LOT, PART_OF)."
    upstream: [Batch!]!
      @cypher(
        statement: """
        MATCH (this)-[:CONSUMED|SAME_LOT|PART_OF*1..10]->(m:Batch)
        RETURN DISTINCT m
        """
        columnName: "m"
      )
  }
`;

const driver = neo4j.driver(process.env.PEER_NEO4J_URI ?? "bolt://127.0.0.1:7687");
const schema = await new Neo4jGraphQL({
  typeDefs,
  driver,
  features: { authorization: { key: process.env.PEER_JWT_KEY } },
}).getSchema();
const server = new ApolloServer({ schema });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PEER_PORT ?? 4000), host: "127.0.0.1" },
  context: async ({ req }) => ({ token: req.headers.authorization }),
});
console.log(`peer answering at ${url}`);
