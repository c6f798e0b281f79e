"""The hub's limits beyond the token endpoint's (``auth.login_limits``): each client's
GraphQL cost budget (``graphql_budget``), each organization's ingest quotas
(``ingest_quotas``), and the refusals of all of them counted for ``/metrics``
(``metrics``).

Every count is this process's own memory (``auth.rate_limits``): with N hub processes
behind a load balancer, a client gets up to N times each amount. May import ``auth``
and ``schema``; not the service at ``hub``'s top.
"""
