"""The Lua script that makes wrk send GraphQL requests and say how they went.

wrk (C, from Debian's ``wrk`` package) is the load generator of the HTTP benchmarks:
it rotates through ``bodies`` (POSTed as JSON with ``headers``), counts an answer that
is not a 200 or carries GraphQL ``errors`` as failed, and at the end prints
``requests``, ``seconds``, ``failures`` and the latency percentiles asked for (ms),
one ``name value`` line each, for the benchmark to read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def wrk_script(
    folder: Path,
    name: str,
    bodies: Sequence[dict[str, Any]],
    headers: dict[str, str],
    percentiles: Sequence[int] = (50, 95),
) -> Path:
    lua_bodies = ",\n".join("[[" + json.dumps(body) + "]]" for body in bodies)
    lua_headers = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    lua_percentiles = ", ".join(str(p) for p in percentiles)
    script = folder / f"{name}.lua"
    script.write_text(
        f"""
local bodies = {{ {lua_bodies} }}
local counter = 0
local failures = 0
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
{lua_headers}
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])
end
response = function(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then failures = failures + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d\\n", summary.requests))
  io.write(string.format("seconds %.6f\\n", summary.duration / 1e6))
  io.write(string.format("failures %d\\n", failures + summary.errors.status))
  for _, p in pairs({{ {lua_percentiles} }}) do
    io.write(string.format("p%d %.3f\\n", p, latency:percentile(p) / 1000))
  end
end
"""
    )
    return script
