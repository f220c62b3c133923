#!/usr/bin/env bash
# Debian packages the platform and its tests need, installed only when missing:
#   fonts-wqy-zenhei  TrueType CJK font that reportlab embeds in statement and report PDFs
#                     (reportlab embeds TTF/TTC outlines only; CFF .otf fonts do not work)
#   poppler-utils     pdftotext / pdffonts, used by the tests to read the PDFs back
#   chromium          the browser the page tests drive through Playwright (never its own download)
set -euo pipefail
packages=(fonts-wqy-zenhei poppler-utils chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing system packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
