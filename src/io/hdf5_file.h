// HDF5 files of named tensors and strings: the storage format of checkpoints, samples and metrics.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tilt::io {

// An open HDF5 file. Names are absolute paths ("/params/net.0.weight"); writing creates the
// intermediate groups. Tensors keep their shape and dtype (float32, float64, int64, uint8).
// Every HDF5 failure is turned into tilt::Error naming the file and the object.
//
// Integrity: every dataset carries a CRC-32 of its bytes (attribute "crc32", zlib's), checked on
// every read, and files use HDF5's newer object format, whose metadata is checksummed by HDF5
// itself: a truncated or bit-flipped file is refused with a message instead of read as garbage.
class H5File {
 public:
  static H5File create(const std::filesystem::path& path);  // truncates an existing file
  static H5File open_read(const std::filesystem::path& path);
  H5File(H5File&& other) noexcept;
  H5File& operator=(H5File&& other) noexcept;
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;
  ~H5File();

  void write(const std::string& name, const at::Tensor& tensor);
  at::Tensor read(const std::string& name) const;
  void write_string(const std::string& name, const std::string& value);
  std::string read_string(const std::string& name) const;
  bool has(const std::string& name) const;
  // String attributes of the file's root group (provenance: config hash, code revision, ...).
  void set_attribute(const std::string& key, const std::string& value);
  std::string attribute(const std::string& key) const;  // throws if absent
  std::vector<std::string> attribute_names() const;
  // Names of the direct children of a group, sorted.
  std::vector<std::string> children(const std::string& group) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  H5File(long long id, std::filesystem::path path);
  void close();
  long long id_ = -1;
  std::filesystem::path path_;
};

// Writes `path` so that readers see either the old file or the complete new one, never a torn
// file (io/atomic_file.h): `fill` writes a temporary file, which is checked and renamed over `path`.
void write_atomically(const std::filesystem::path& path, const std::function<void(H5File&)>& fill);

}  // namespace tilt::io
