#!/usr/bin/env bash
# Refresh the page catalogue after changing pages: extract, update, compile.
# Sorted by msgid and without source locations, so that two branches adding strings rarely touch
# the same lines of messages.po (and a moved line of code changes nothing in it).
#   bash scripts/translations.sh      # then fill in every empty msgstr and run it again
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x .venv/bin/python ]; then
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi
T=app/web/translations
pybabel extract -F babel.cfg -k _l --no-location --sort-output -o "$T/messages.pot" . >/dev/null 2>&1
pybabel update -i "$T/messages.pot" -d "$T" --no-fuzzy-matching --ignore-obsolete >/dev/null 2>&1
pybabel compile -d "$T" --statistics 2>&1 | grep -v "^compiling" || true
python - <<'PY'
from babel.messages.pofile import read_po
with open("app/web/translations/zh/LC_MESSAGES/messages.po", "rb") as f:
    missing = [m.id for m in read_po(f) if m.id and not m.string]
for msgid in missing:
    print("no Chinese yet:", msgid)
PY
