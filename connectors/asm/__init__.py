"""``eln.asm``: Allotrope Simple Model JSON, as instrument data converters write it
(``connector``), one measurement document to results, lot and method
(``measurements``); ``lims.instrument``: raw instrument files converted to ASM by
allotropy, then read the same way (``instrument``).
"""
