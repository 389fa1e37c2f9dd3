# The perturb command line in a container, for the cluster manifests (scripts/k8s/, and Slurm
# sites that run containers). Multi-stage: build with the pinned toolchain, ship the binary, the
# zoo and a Vulkan loader (wgpu on NVIDIA GPUs through the NVIDIA container toolkit).
#
#   docker build -t perturb:0.1 .
#   docker run --rm perturb:0.1 attack --count 100          # CPU
#   docker run --rm --gpus all perturb:0.1 attack --count 1000 --device wgpu
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p perturb-cli \
 && strip target/release/perturb

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvulkan1 mesa-vulkan-drivers ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# The NVIDIA toolkit mounts the driver's Vulkan ICD only when asked for graphics.
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
COPY --from=build /src/target/release/perturb /usr/local/bin/perturb
COPY models /opt/perturb/models
# `--models-dir models` (the default) finds the zoo from here; data and runs live on a volume.
WORKDIR /opt/perturb
ENTRYPOINT ["perturb"]
