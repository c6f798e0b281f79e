"""``mes.csv``, ``lims.csv`` and ``qms.csv``: CSV (or JSON lines) exports read through a
partner's mapping profile (``profile``, YAML; examples in ``profiles/``). A payload is
read to rows (``reading``), cells to typed values (``cells``, ``fields``), rows to
records (``mapping``, ``records``); ``preview`` tries a profile on a sample file.
"""
