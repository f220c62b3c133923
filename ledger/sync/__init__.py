"""The sync interface for hospital (HIS) and enterprise (ERP) systems: each collection a system
mirrors can be read as "changes since cursor" (issue 19 item 4).

- `cursor`: the opaque cursor (collection, xid, seq) and its parsing.
- `registry`: what a collection is (table, who may see which rows, serializer); `register()`.
- `collections`: the platform's collections, registered.
- `feed`: `changes_since()`, one bounded page of current representations.
- `nhsa`: the mapping from platform fields to national insurance message abbreviations.
"""
