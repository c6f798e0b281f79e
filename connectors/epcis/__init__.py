"""``supply.epcis``: GS1 EPCIS events (2.0 JSON / JSON-LD, 1.2 and 2.0 XML). The readers
(``json_reader``, ``xml_reader``) turn a document into located event facts (``facts``);
``gs1`` reads GS1 identifiers and CBV words, ``lots`` which lots an event names and
whose they are (serials and containers too, through what earlier pushes said),
``events`` what an event means for the lineage graph and the notes it leaves for later
pushes (``connectors.traces``); ``connector`` is the connector itself.
"""
