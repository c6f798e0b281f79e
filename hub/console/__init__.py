"""The console: the hub's pages for people, served by the hub itself.

``/console`` (and ``/console/callback``, where sign-in returns) is one page whose scripts
read the API with the signed-in person's token: the same GraphQL, exports and
ingestion routes a partner's own tools call, so the console sees exactly what the
person's organization may see. The page itself holds no data, so it and its files are
served without a token; everything it shows comes through the API.

Its scripts and styles are this repository's (``console/app``) and the drawing
libraries installed by ``make`` from ``console/package-lock.json`` (Cytoscape.js with
the dagre layout for lineage, ECharts for control charts): no page loads anything from
another host, so the console works on an air-gapped site, and runs only code the hub
shipped.
"""
