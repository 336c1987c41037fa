// Helpers shared by the GoogleTest suites.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"

namespace tilt::test_support {

// The message of the tilt::Error that `action` throws, or "(no error)".
inline std::string error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// An IDX file's bytes (MNIST's format): the unsigned-byte magic, the shape, then `values`.
inline std::vector<unsigned char> idx_bytes(const std::vector<uint32_t>& shape,
                                            const std::vector<unsigned char>& values) {
  std::vector<unsigned char> out{0, 0, 0x08, static_cast<unsigned char>(shape.size())};
  for (uint32_t d : shape)
    for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<unsigned char>(d >> shift));
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

inline void write_bytes(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace tilt::test_support
