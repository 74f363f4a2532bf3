#!/usr/bin/env bash
# Builds the Docker image and checks it end to end, recording the figures of docs/benchmarks.md ("Docker image").
# Not part of `make test`: it needs a Docker daemon with BuildKit and the package index, and takes minutes.
#
#   deploy/check_image.sh                 # figures and logs in $OUT (default /tmp/investbot-image-check)
#   PYTHON_IMAGE=python:3.11-slim deploy/check_image.sh    # a local base image, by tag (no registry digest)
#   DOCKER=/usr/bin/docker deploy/check_image.sh           # a docker client with BuildKit built in (20.10)
#
# What it does, each step timed:
# 1. builds from a copy of the build context (the work tree is never edited), without the build cache ("cold");
# 2. appends a line to the copy's README.md and builds again: only the wheel and the layers after it may run;
# 3. appends a comment to the copy's bot/cli/main.py and builds again: the same layers, the dependencies stay cached;
# 4. runs the image --read-only with a new volume, as uid 10001, against the Bot API stand-in on 127.0.0.1
#    (deploy/standin.py): one question in Russian, one in English, both answered with the right fact and source;
#    waits for the health status; times `docker stop`; checks the exit code and that the token is in no log line;
# 5. runs it again on the same volume (a restart: the store is already filled) and times the first answer again.
# Every build and run uses --network host and talks to nothing but 127.0.0.1 and the package index. The package
# index is the one pip uses on this machine (PIP_INDEX_URL or pip config's index-url; PyPI when neither is set),
# handed to the build as BuildKit secrets with the CA bundle pip trusts (PIP_CERT or pip config's cert), so that
# neither stays in the image.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-/tmp/investbot-image-check}"
IMAGE="${IMAGE:-investbot:check}"
NAME="${NAME:-investbot-check}"
VOLUME="${VOLUME:-investbot-check-data}"
STOP_TIMEOUT="${STOP_TIMEOUT:-10}"  # docker stop -t: Docker's default grace; the bot stops in seconds, mid-embedding too
TOKEN="123456789:AAcheckImageTokenMustNeverBeLogged0"
export DOCKER_BUILDKIT=1

# A docker client that builds with BuildKit: one with the buildx plugin, or a 20.10 client (BuildKit built in).
if [ -z "${DOCKER:-}" ]; then
    if docker buildx version >/dev/null 2>&1; then
        DOCKER=docker
    elif [ -x /usr/bin/docker ] && /usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null | grep -q '^20\.'; then
        DOCKER=/usr/bin/docker
    else
        echo "check_image.sh: no docker client with BuildKit (install the buildx plugin, or set DOCKER=...)" >&2
        exit 2
    fi
fi

rm -rf "$OUT"
mkdir -p "$OUT"
log() { echo "[check_image] $*" >&2; }

# --- the package index, as the build's secrets -------------------------------------------------------------------
pip_setting() { pip config get "global.$1" 2>/dev/null || true; }
index="${PIP_INDEX_URL:-$(pip_setting index-url)}"
cert="${PIP_CERT:-$(pip_setting cert)}"
{
    echo "[global]"
    # file:// indexes are folders of this machine: the build cannot see them, and the lock needs none of them.
    case "$index" in "" | file://*) ;; *) echo "index-url = $index" ;; esac
    if [ -n "$cert" ]; then echo "cert = /run/secrets/pipcert"; fi
    echo "timeout = ${PIP_DEFAULT_TIMEOUT:-120}"
} >"$OUT/pip.conf"
secrets=(--secret "id=pipconf,src=$OUT/pip.conf")
if [ -n "$cert" ]; then secrets+=(--secret "id=pipcert,src=$cert"); fi
build_args=()
if [ -n "${PYTHON_IMAGE:-}" ]; then build_args+=(--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE"); fi

# --- the build context, copied: the README and code edits below happen in the copy ------------------------------
context="$OUT/context"
mkdir -p "$context"
(cd "$root" && cp -r Dockerfile .dockerignore pyproject.toml README.md requirements.lock constraints.txt \
    index bot knowledge "$context/")
find "$context" -name __pycache__ -prune -exec rm -rf {} +

# build NAME [docker build options]: times one build; records seconds and how many steps ran or came from cache.
build() {
    local name="$1"
    shift
    local start end
    start=$(date +%s.%N)
    "$DOCKER" build --progress plain --network host "${secrets[@]}" "${build_args[@]}" "$@" -t "$IMAGE" "$context" \
        >"$OUT/build-$name.log" 2>&1 || { tail -30 "$OUT/build-$name.log" >&2; log "build $name failed"; exit 1; }
    end=$(date +%s.%N)
    local steps cached
    steps=$(grep -oE '^#[0-9]+ \[[^]]+\] (RUN|COPY|WORKDIR)' "$OUT/build-$name.log" | cut -d' ' -f1 | sort -u | wc -l)
    cached=$(grep -cE '^#[0-9]+ CACHED' "$OUT/build-$name.log" || true)
    ran=$(grep -oE '^#[0-9]+ \[[^]]+\] (RUN|COPY|WORKDIR).*' "$OUT/build-$name.log" | sort -u |
        while read -r id rest; do grep -qE "^$id CACHED" "$OUT/build-$name.log" || echo "$rest"; done |
        cut -c1-60 | paste -sd '|' -)
    printf '{"build": "%s", "seconds": %.1f, "steps": %d, "cached": %d, "ran": "%s"}\n' \
        "$name" "$(echo "$end - $start" | bc)" "$steps" "$cached" "${ran//\"/\'}" | tee -a "$OUT/builds.jsonl" >&2
}

log "cold build (no build cache; the base image is local)"
build cold --no-cache
echo "README edit $(date)" >>"$context/README.md"
log "build after a README.md edit"
build readme
echo "# code edit $(date)" >>"$context/bot/cli/main.py"
log "build after a code edit"
build code
size=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE")
echo "{\"image\": \"$IMAGE\", \"bytes\": $size}" >"$OUT/size.json"
log "image size: $((size / 1000000)) MB"

# --- run against the stand-in ------------------------------------------------------------------------------------
cleanup() {
    "$DOCKER" rm -f "$NAME" >/dev/null 2>&1 || true
    "$DOCKER" volume rm -f "$VOLUME" >/dev/null 2>&1 || true
}
cleanup
trap cleanup EXIT
health=()
if "$DOCKER" run --rm --network host --entrypoint investbot "$IMAGE" health --help >/dev/null 2>&1; then
    health=(--health "$DOCKER inspect -f {{.State.Health.Status}} $NAME")
else
    log "this code has no \`investbot health\` yet: the HEALTHCHECK cannot pass; health is not waited for"
fi
export TELEGRAM_BOT_TOKEN="$TOKEN"  # docker run -e NAME (no value) takes it from here: not on a command line
run="$DOCKER run -d --name $NAME --network host --read-only --health-interval 5s \
-e TELEGRAM_BOT_TOKEN -e TELEGRAM_API_BASE_URL={base_url} -v $VOLUME:/data $IMAGE"

status=0
for pass in new-volume restart; do
    log "run ($pass)"
    python3 "$root/deploy/standin.py" --token "$TOKEN" --out "$OUT/run-$pass.json" --timeout 600 \
        --run "$run" "${health[@]}" --health-timeout 300 --stop "$DOCKER stop -t $STOP_TIMEOUT $NAME" >/dev/null || status=1
    "$DOCKER" logs "$NAME" >"$OUT/container-$pass.log" 2>&1
    exit_code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$NAME")
    leaked=$(grep -c "${TOKEN#*:}" "$OUT/container-$pass.log" || true)
    echo "{\"run\": \"$pass\", \"exit_code\": $exit_code, \"token_lines_in_log\": $leaked}" |
        tee -a "$OUT/runs.jsonl" >&2
    if [ "$exit_code" != 0 ] || [ "$leaked" != 0 ]; then status=1; fi
    "$DOCKER" rm "$NAME" >/dev/null
done

python3 - "$OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
builds = [json.loads(line) for line in (out / "builds.jsonl").read_text().splitlines()]
runs = {p: json.loads((out / f"run-{p}.json").read_text()) for p in ("new-volume", "restart")}
stops = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
size = json.loads((out / "size.json").read_text())["bytes"]
lines = ["| figure | value |", "| --- | --- |"]
for b in builds:
    lines.append(f"| build, {b['build']} | {b['seconds']:.0f} s ({b['steps'] - b['cached']} of {b['steps']} steps ran) |")
lines.append(f"| image size | {size / 1e6:.0f} MB |")
for (name, r), s in zip(runs.items(), stops):
    lines.append(f"| {name}: first poll / first answer after `docker run` | {r['first_poll_after_run']} s / "
                 f"{r['first_answer_after_run']} s |")
    for reply in r["replies"]:
        lines.append(f"| {name}: {reply['language']} answer | {'ok' if reply['ok'] else 'FAILED ' + reply['problem']}, "
                     f"{reply['seconds_after_run']} s |")
    health = f"{r['health']} ({r['health_after_run']} s)" if r["health"] else "not checked: no `investbot health` yet"
    lines.append(f"| {name}: health | {health} |")
    lines.append(f"| {name}: `docker stop` | {r['stop_seconds']} s, exit code {s['exit_code']} |")
    lines.append(f"| {name}: log lines with the token | {s['token_lines_in_log']} |")
(out / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
log "figures and logs: $OUT"
exit $status
