// Compose subgraphs into a supergraph with Apollo's own composition library.
//
//   node compose.mjs subgraphs.json      (or the JSON on standard input)
//
// The input is a JSON list of {"name", "url", "sdl"} objects, one per subgraph.
// On success the supergraph SDL goes to standard output and the exit status is 0.
// Any composition error or hint is printed to standard error, one per line as
// "error CODE: message" or "hint CODE: message", and the exit status is 1: a hint
// means the subgraphs disagree somewhere, which the tests treat as a failure.
// Unusable input (not JSON, a missing field, an SDL that does not parse) exits 2.

import { readFileSync } from "node:fs";

import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

function oneLine(text) {
  return String(text).trim().replace(/\s*\r?\n\s*/g, " | ");
}

function usage(message) {
  process.stderr.write(`input ${oneLine(message)}\n`);
  process.exit(2);
}

function readInput() {
  const path = process.argv[2];
  const text = path && path !== "-" ? readFileSync(path, "utf8") : readFileSync(0, "utf8");
  let subgraphs;
  try {
    subgraphs = JSON.parse(text);
  } catch (error) {
    usage(`is not JSON: ${error.message}`);
  }
  if (!Array.isArray(subgraphs) || subgraphs.length === 0) {
    usage("must be a non-empty JSON list of {name, url, sdl} objects");
  }
  return subgraphs.map((subgraph, index) => {
    for (const field of ["name", "url", "sdl"]) {
      if (typeof subgraph?.[field] !== "string" || subgraph[field] === "") {
        usage(`subgraph #${index} has no string "${field}"`);
      }
    }
    let typeDefs;
    try {
      typeDefs = parse(subgraph.sdl);
    } catch (error) {
      usage(`subgraph "${subgraph.name}" SDL does not parse: ${error.message}`);
    }
    return { name: subgraph.name, url: subgraph.url, typeDefs };
  });
}

const result = composeServices(readInput());

if (result.errors) {
  for (const error of result.errors) {
    const code = error.extensions?.code ?? "UNKNOWN";
    process.stderr.write(`error ${code}: ${oneLine(error.message)}\n`);
  }
  process.exit(1);
}

if (result.hints.length > 0) {
  for (const hint of result.hints) {
    process.stderr.write(`hint ${hint.definition.code}: ${oneLine(hint.message)}\n`);
  }
  process.exit(1);
}

process.stdout.write(result.supergraphSdl.endsWith("\n") ? result.supergraphSdl : `${result.supergraphSdl}\n`);
