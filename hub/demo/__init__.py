"""The demo: the story of ``DESIGN.md`` as canonical records (``story``), the same
story at scale for benchmarks (``generator``), and ``partnerhub demo`` (``launch``).

May import ``graph``, ``auth``, ``hub.records`` and the service's settings and
rendering; ``hub.ingest`` does not import it.
"""
