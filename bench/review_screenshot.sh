#!/usr/bin/env bash
# Screenshot of the "Unanswered questions" review page, as staff see it, with headless Chromium.
#   apt-get update && apt-get install -y chromium     # once
#   bash bench/review_screenshot.sh [OUT.png]          # default: docs/review-unanswered.png
# It builds a demo store in a temporary folder (knowledge/ plus a few sample questions), starts
# `investbot review` on a free port, and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/review-unanswered.png}"
bin=.venv/bin
tmp=$(mktemp -d)
trap 'kill "${review_pid:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
export INVESTBOT_DATA_DIR="$tmp/data" INVESTBOT_MODEL=none
"$bin/investbot" ingest knowledge >/dev/null 2>&1
"$bin/investbot" ask - --json >/dev/null 2>&1 <<'QUESTIONS'
How many industrial parks does Kaluga Region have?
What is the electricity tariff for industrial parks in Kaluga Region?
Electricity tariffs for a new plant?
Какие тарифы на электроэнергию для резидентов?
What does a hectare of land cost in Vorsino industrial park?
Сколько стоит земля в индустриальном парке Ворсино?
Are there tax breaks for residents of the Lyudinovo special economic zone?
Какие налоговые льготы в ОЭЗ Людиново?
How much French investment has Kaluga Region attracted?
QUESTIONS
port=$("$bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/investbot" review --port "$port" >"$tmp/review.log" 2>&1 &
review_pid=$!
for _ in $(seq 1 50); do
  curl -sf "http://127.0.0.1:$port/-/versions.json" >/dev/null && break
  sleep 0.2
done
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$tmp/chromium" --window-size=1280,900 --hide-scrollbars \
  --screenshot="$out" "http://127.0.0.1:$port/investbot/unanswered" 2>/dev/null
echo "Saved $out"
