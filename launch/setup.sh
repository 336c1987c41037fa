#!/usr/bin/env bash
# Installs every system package tilt needs to build, test and run on Debian 12 (bookworm).
# Idempotent: packages already present are skipped by apt.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  zlib1g-dev
  dataset-fashion-mnist    # DxMI on images: /usr/share/datasets/fashion-mnist (IDX, gzip)
  libxsmm-dev libdnnl-dev  # bench_gemm_libraries: the own GEMM against both (tilt does not link them)
  slurm-wlm munge
  python3-h5py python3-matplotlib python3-pandas python3-yaml
  python3-torch  # the tests write TorchScript rewards with it (tilt itself never runs Python)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  echo "[setup] installing: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "[setup] all packages present"
fi
