// IDX files (the MNIST family's format: big-endian magic 0x0000 <type> <rank>, one big-endian
// uint32 per dimension, then the values), plain or gzip-compressed as Debian ships them
// (/usr/share/datasets/fashion-mnist/*.gz). Only unsigned-byte data (type 0x08) is read: every
// MNIST-like set stores its images and labels that way. A missing file, a wrong magic, a size that
// disagrees with the header or a truncated or corrupt stream is an Error naming the file.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>

namespace tilt::data {

// uint8 tensor with the file's shape ([N, 28, 28] images, [N] labels).
at::Tensor read_idx(const std::filesystem::path& path);

}  // namespace tilt::data
