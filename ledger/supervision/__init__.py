"""Supervision (监督, issue 18): supply guarantee, price governance, use monitoring, the shortage
list, and the warnings (预警) the bureau acts on. Reads the ledger's states; never changes a flow
except through the ledger's own services (a void, a suspension, a volume move)."""
