"""``eln.asm``: Allotrope Simple Model JSON, as instrument data converters write it
(``connector``), one measurement document to results, lot and method
(``measurements``).
"""
