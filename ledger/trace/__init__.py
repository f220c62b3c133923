"""Traceability codes (药品追溯码, issue 19 item 2): one code per pack on a shipment line, checked
for format and count when the distributor attaches them, matched against the hospital's scan at
receipt, released by rejection and return, and a code delivered twice anywhere is a warning.
supervision-and-interop.md §5."""
