# inputserve container image: inputserve-server, inputserve-admin,
# inputserve-datagen and trainer_example on Debian 12, run as a non-root user.
#
#   podman build -t inputserve:0.1.0 .        (or docker build)
#   docker run -p 50051:50051 -p 9300:9300 inputserve:0.1.0
#
# The default command serves synthetic ImageNet-shaped batches with the admin
# service disabled. To enable it, mount a token file and pass e.g.
#   --dataset=... --admin_listen=0.0.0.0:50052 --admin_token_file=/run/secrets/inputserve-admin-token
# See README.md, "Running in production" (Kubernetes: deploy/k8s).

# ---- build stage: compiler and -dev packages, never shipped ----------------
FROM debian:bookworm AS build
# ARG, not ENV: applies to the RUNs below without staying in the image.
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake g++ make pkg-config \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libabsl-dev prometheus-cpp-dev libcivetweb-dev \
      libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev \
      libgtest-dev libbenchmark-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the binaries are built from (tests are off), so edits to tests or
# deploy files do not invalidate the compile layer.
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY common/ common/
COPY proto/ proto/
COPY server/ server/
COPY client/ client/
COPY trainer_example/ trainer_example/
# The Python package configures itself off here (no pybind11 in this stage).
COPY python/ python/

# Parallel compile jobs; raise on a big builder (--build-arg BUILD_JOBS=16).
ARG BUILD_JOBS=2
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
      -DINPUTSERVE_BUILD_TESTS=OFF -DINPUTSERVE_WITH_CUDA=OFF \
      -DCMAKE_INSTALL_PREFIX=/usr/local \
 && cmake --build /build -j"${BUILD_JOBS}" \
 && DESTDIR=/staging cmake --install /build \
 && strip --strip-unneeded /staging/usr/local/bin/*

# ---- runtime stage: shared libraries only ----------------------------------
FROM debian:bookworm
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcivetweb1 \
      libturbojpeg0 libjpeg62-turbo libpng16-16 libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 inputserve \
 && useradd --uid 10001 --gid inputserve --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin inputserve

# Binaries only: the headers, static library and CMake package of the client
# belong in a development image, not here.
COPY --from=build /staging/usr/local/bin/ /usr/local/bin/

USER 10001:10001
WORKDIR /tmp
# data (gRPC), admin (gRPC, 127.0.0.1 unless --admin_listen says otherwise),
# metrics (HTTP /metrics).
EXPOSE 50051 50052 9300

# grpc.health.v1.Health on the data port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["inputserve-admin", "--server=127.0.0.1:50051", "health"]

ENTRYPOINT ["inputserve-server"]
CMD ["--dataset=synthetic:imagenet", "--admin_listen="]
