"""``mes.b2mml``: B2MML / BatchML exports (ISA-95 / ISA-88) from a partner's MES
(``connector``), and the words exports use where the standard leaves free text
(``words``).
"""
