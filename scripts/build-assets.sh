#!/usr/bin/env bash
# Build front-end vendor assets for bwv-review.
#
# Installs npm packages (govuk-frontend, @ministryofjustice/frontend, htmx.org,
# chart.js) from package-lock.json and copies their distributable files into
# app/static/vendor/ (git-ignored). Idempotent and fast when already built.
#
# Output (served under /static):
#   vendor/govuk/govuk-frontend.min.css   url()s rewritten to relative "assets/..."
#   vendor/govuk/govuk-frontend.min.js    ES module (initAll)
#   vendor/govuk/assets/                  fonts, images, manifest.json
#   vendor/moj/moj-frontend.min.css       url()s rewritten to relative "assets/..."
#   vendor/moj/moj-frontend.min.js        ES module (initAll)
#   vendor/moj/assets/                    images
#   vendor/htmx/htmx.min.js               htmx 2.x
#   vendor/chartjs/chart.umd.min.js       Chart.js 4 UMD build (window.Chart)
#
# Because CSS url()s are rewritten to relative paths, no /assets mount is
# required: mounting app/static at /static is enough.
#
# Usage: scripts/build-assets.sh [--force]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

NM="$ROOT/node_modules"
VENDOR="$ROOT/app/static/vendor"
LOCK="$ROOT/package-lock.json"

log() { printf 'build-assets: %s\n' "$*" >&2; }

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

command -v npm >/dev/null 2>&1 || { log "npm not found (apt-get install nodejs npm)"; exit 1; }
[[ -f "$LOCK" ]] || { log "package-lock.json missing"; exit 1; }

LOCK_HASH="$(hash_of "$LOCK" "$ROOT/package.json")"
BUILD_HASH="$(hash_of "$LOCK" "$ROOT/package.json" "${BASH_SOURCE[0]}")"

# 1. npm ci when node_modules is missing or the lock file changed.
if [[ $FORCE == 1 || ! -d "$NM" || "$(cat "$NM/.bwv-lock-hash" 2>/dev/null || true)" != "$LOCK_HASH" ]]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$LOCK_HASH" > "$NM/.bwv-lock-hash"
fi

# 2. Skip copying when vendor/ already matches this lock + script.
if [[ $FORCE == 0 && -f "$VENDOR/.build-hash" && "$(cat "$VENDOR/.build-hash")" == "$BUILD_HASH" ]]; then
  log "up to date"
  exit 0
fi

GOVUK="$NM/govuk-frontend/dist/govuk"
MOJ="$NM/@ministryofjustice/frontend/moj"
for f in "$GOVUK/govuk-frontend.min.css" "$GOVUK/govuk-frontend.min.js" "$GOVUK/assets" \
         "$MOJ/moj-frontend.min.css" "$MOJ/moj-frontend.min.js" "$MOJ/assets" \
         "$NM/htmx.org/dist/htmx.min.js" "$NM/chart.js/dist/chart.umd.min.js"; do
  [[ -e "$f" ]] || { log "expected file missing: $f"; exit 1; }
done

log "copying vendor files"
mkdir -p "$ROOT/app/static"
TMP="$(mktemp -d "$ROOT/app/static/.vendor.tmp.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/govuk" "$TMP/moj" "$TMP/htmx" "$TMP/chartjs"

# CSS: make /assets/... URLs relative to the stylesheet and drop the source map
# comment (the rewritten file no longer matches the map).
rewrite_css() {
  sed -e 's#url(/assets/#url(assets/#g' \
      -e 's#url("/assets/#url("assets/#g' \
      -e "s#url('/assets/#url('assets/#g" \
      -e 's#/\*\# sourceMappingURL=[^*]*\*/##' "$1" > "$2"
}

rewrite_css "$GOVUK/govuk-frontend.min.css" "$TMP/govuk/govuk-frontend.min.css"
cp "$GOVUK/govuk-frontend.min.js" "$GOVUK/govuk-frontend.min.js.map" "$TMP/govuk/"
cp -R "$GOVUK/assets" "$TMP/govuk/assets"

rewrite_css "$MOJ/moj-frontend.min.css" "$TMP/moj/moj-frontend.min.css"
cp "$MOJ/moj-frontend.min.js" "$MOJ/moj-frontend.min.js.map" "$TMP/moj/"
cp -R "$MOJ/assets" "$TMP/moj/assets"
# White MoJ crest for the black header (the packaged SVG has fill="none" on the
# root and no fill on its paths).
sed -e 's/fill="none"/fill="#ffffff"/' "$MOJ/assets/images/moj-logotype-crest-2024.svg" \
  > "$TMP/moj/assets/images/moj-logotype-crest-2024-white.svg"

cp "$NM/htmx.org/dist/htmx.min.js" "$TMP/htmx/"
cp "$NM/chart.js/dist/chart.umd.min.js" "$TMP/chartjs/"
[[ -f "$NM/chart.js/dist/chart.umd.min.js.map" ]] && cp "$NM/chart.js/dist/chart.umd.min.js.map" "$TMP/chartjs/"

# Every url() in the rewritten CSS must point at a copied file.
for css in "$TMP/govuk/govuk-frontend.min.css" "$TMP/moj/moj-frontend.min.css"; do
  dir="$(dirname "$css")"
  { grep -o 'url([^)]*)' "$css" || true; } | sed -e 's/^url(//' -e 's/)$//' -e "s/[\"']//g" | sort -u |
  while read -r u; do
    case "$u" in data:*|http*|\#*) continue ;; esac
    [[ -f "$dir/$u" ]] || { log "warning: $css references missing $u"; }
  done
done

{
  echo "govuk-frontend $(node -p "require('$NM/govuk-frontend/package.json').version")"
  echo "@ministryofjustice/frontend $(node -p "require('$NM/@ministryofjustice/frontend/package.json').version")"
  echo "htmx.org $(node -p "require('$NM/htmx.org/package.json').version")"
  echo "chart.js $(node -p "require('$NM/chart.js/package.json').version")"
} > "$TMP/VERSIONS.txt"
echo "$BUILD_HASH" > "$TMP/.build-hash"

# Swap in atomically-ish (a running server sees either old or new tree).
rm -rf "$VENDOR.old"
[[ -d "$VENDOR" ]] && mv "$VENDOR" "$VENDOR.old"
mv "$TMP" "$VENDOR"
chmod 755 "$VENDOR"
rm -rf "$VENDOR.old"
trap - EXIT
log "done: $(tr '\n' ',' < "$VENDOR/VERSIONS.txt")"
