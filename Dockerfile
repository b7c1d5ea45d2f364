# Build: the whole crate in release mode (rustls everywhere, SQLite bundled: no system
# libraries needed at run time beyond CA certificates).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock diesel.toml ./
COPY src src
COPY migrations migrations
COPY static static
COPY benches benches
RUN cargo build --release --locked --bin livedrop

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/livedrop --create-home livedrop
COPY --from=build /src/target/release/livedrop /usr/local/bin/livedrop
USER livedrop
WORKDIR /var/lib/livedrop
ENV BIND=0.0.0.0:8080 LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
CMD ["livedrop", "serve", "--migrate"]
