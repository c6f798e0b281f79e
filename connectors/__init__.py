"""Connectors: a partner's export, in its own format, to canonical records
(``graph.model``), each with its provenance, and every refusal located.

At the top, the framework: what a connector is (``base``), connectors by name
(``registry``), safe XML and located JSON reading (``xml``, ``json_source``), partners'
words and values (``vocabulary``, ``field_values``), building a record or a located
rejection (``record_building``), and the single-module formats (``canonical``,
``animl``, ``rocrate``). One folder per format family that spans several modules: ``csv`` (the
profile-driven ``mes.csv``, ``lims.csv``, ``qms.csv``), ``epcis``, ``asm``, ``b2mml``.
Adding a format is a module or a folder and one line in ``registry``.

May import ``graph``'s model, ids and intake; nothing of ``schema``, ``auth`` or
``hub``. Families do not import each other, and only ``registry`` imports them.
"""
