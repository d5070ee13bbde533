# A demo application image: python's http.server, curl, and svcdnsctl as the
# entrypoint wrapper that registers the container and keeps its lease alive.
FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential pkg-config \
      libldns-dev libevent-dev libyaml-dev libssl-dev libjansson-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" build/release/svcdnsctl

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 curl libssl3 iproute2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/release/svcdnsctl /usr/local/bin/
COPY examples/compose/register-and-run /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/register-and-run"]
