# The demo application's image: python's http.server, curl and dig, nothing of svcdns in it.
# The containers are registered from outside, by the registrar service (svcdnsctl docker).
#   BASE: debian:12-slim from a registry, or a local base (scripts/docker-base-image).
ARG BASE=debian:12-slim
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends python3 curl bind9-dnsutils \
 && rm -rf /var/lib/apt/lists/*
