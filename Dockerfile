# Builds one connector binary into a small runtime image.
#
#   docker build --build-arg CONNECTOR=baton-valimail -t baton-valimail .
#   docker build --build-arg CONNECTOR=baton-sendgrid -t baton-sendgrid .
#   docker build --build-arg CONNECTOR=baton-ironclad -t baton-ironclad .
#   docker build --build-arg CONNECTOR=baton-scim -t baton-scim .
#   docker build --build-arg CONNECTOR=baton-1password --build-arg OP_DEB=op.deb -t baton-1password .
#
# CONNECTOR names the binary and its feature, as the README's install command does: only
# that connector is compiled, without the test kit or the fake ConductorOne. The 1Password
# connector also needs the 1Password CLI: put its .deb next to this file and pass OP_DEB.

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS build
ARG CONNECTOR=baton-valimail
WORKDIR /src
COPY . .
RUN cargo install --locked --path . --root /out --example "${CONNECTOR}" --features "${CONNECTOR}" \
 && cp "/out/bin/${CONNECTOR}" /baton-connector

FROM debian:bookworm-slim AS runtime
ARG OP_DEB=""
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY ${OP_DEB:-Dockerfile} /tmp/op-package
RUN if [ -n "${OP_DEB}" ]; then dpkg -i /tmp/op-package; fi; rm -f /tmp/op-package
COPY --from=build /baton-connector /usr/local/bin/baton-connector
# An unprivileged user; op keeps its config under HOME, which must be writable.
RUN useradd --uid 65532 --create-home --home-dir /home/baton baton && mkdir /data && chown baton /data
USER 65532
ENV HOME=/home/baton BATON_FILE=/data/sync.c1z
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/baton-connector"]
