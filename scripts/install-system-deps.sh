#!/usr/bin/env bash
# Installs the Debian packages handouts needs, if they are missing:
#   - Pango: the text engine WeasyPrint draws with
#   - HarfBuzz's subsetter: embeds only the letters used (about 5x faster than without)
#   - Noto Sans and DejaVu fonts: the leaflets' typefaces, with wide language coverage
#     (fonts-noto-core: Latin, Vietnamese, Arabic; fonts-noto-cjk: Chinese)
# Pass extra package names as arguments (the docs target adds poppler-utils).
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-noto-core fonts-noto-cjk fonts-dejavu-core "$@")
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
