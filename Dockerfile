# Build: compile one self-contained binary with the pinned Deno; run it as a non-root user.
FROM denoland/deno:debian-2.9.6 AS build
WORKDIR /src
# Dependencies first for layer caching; the lock file is frozen (deno.json "lock": {"frozen": true}).
COPY deno.json deno.lock ./
COPY . .
RUN deno install --entrypoint main.ts \
 && deno task check \
 && deno task compile

FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 amq2api \
 && useradd --system --uid 10001 --gid amq2api --home-dir /var/lib/amq2api --shell /usr/sbin/nologin amq2api \
 && mkdir -p /var/lib/amq2api && chown amq2api:amq2api /var/lib/amq2api \
 && apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/dist/amq2api /usr/local/bin/amq2api
USER amq2api
ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/var/lib/amq2api
VOLUME ["/var/lib/amq2api"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/health" || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/amq2api"]
