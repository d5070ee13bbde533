# svcdns container image: build stage on Debian 12, small runtime stage.
#   docker build -t svcdns .
#   docker run --rm -p 53:53/udp -p 53:53 -p 8053:8053/udp -p 8053:8053 svcdns
# Without an image registry, make a local Debian 12 base first and name it (the apt-get
# steps below still fetch packages from Debian's archive):
#   sudo scripts/docker-base-image svcdns-base
#   docker build --build-arg BASE=svcdns-base -t svcdns .
# Fully offline, from binaries built here with make: see Dockerfile.prebuilt.
ARG BASE=debian:12-slim
FROM ${BASE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config \
      libldns-dev libevent-dev libyaml-dev libssl-dev libjansson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY scripts ./scripts
COPY server ./server
COPY client ./client
COPY include ./include
COPY tests/unit ./tests/unit
RUN make -j"$(nproc)" build/release/svcdns build/release/svcdnsctl

FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends libldns3 libevent-2.1-7 libyaml-0-2 libssl3 \
      libjansson4 libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin svcdns \
 && mkdir -p /etc/svcdns/zones /var/lib/svcdns \
 && chown svcdns:svcdns /var/lib/svcdns
COPY --from=build /src/build/release/svcdns /src/build/release/svcdnsctl /usr/local/bin/
# Port 53 without root: the binary carries the one capability it needs.
RUN setcap cap_net_bind_service=+ep /usr/local/bin/svcdns
USER svcdns
VOLUME ["/var/lib/svcdns"]
EXPOSE 53/udp 53/tcp 8053/udp 8053/tcp 8054/tcp
ENTRYPOINT ["/usr/local/bin/svcdns", "--zones", "/etc/svcdns/zones", "--state", "/var/lib/svcdns/state"]
