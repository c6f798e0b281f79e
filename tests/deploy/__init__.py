"""Tests of the production deployment files in ``deploy/``: the image definition, the
Compose file, the Helm chart (linted, rendered and checked against Kubernetes' schemas
with the real tools), the Apollo Router configuration and the supergraph it serves."""
