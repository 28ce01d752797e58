# swarmkeeper's image, for manifests/swarmkeeper.stack.yml:
#   docker build -t swarmkeeper:0.1.0 .
# git is there for file:// and ssh:// sources (gix runs `git upload-pack`
# and `ssh`); https needs only the CA certificates. The lab builds the same
# root filesystem by import (tests/lab/swarmkeeper-image), as it cannot pull.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin swarmkeeper

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/swarmkeeper /usr/local/bin/swarmkeeper
ENTRYPOINT ["/usr/local/bin/swarmkeeper"]
CMD ["run"]
