"""Procurement agreements (带量采购购销协议) signed online: records generated from a batch's final
allocations, their transition table, renewals per cycle year, signing certificates and the
public check of a signed PDF's version (issue 20 item 4). PDFs are rendered and signed in
reports/agreement_signing.py."""
