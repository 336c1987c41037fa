#include "data/idx_file.h"

#include <torch/torch.h>
#include <zlib.h>

#include <array>
#include <limits>
#include <memory>
#include <vector>

#include "core/error.h"

namespace tilt::data {
namespace {

constexpr unsigned char kUnsignedByte = 0x08;
constexpr int kMaxRank = 8;

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};

class GzReader {
 public:
  explicit GzReader(const std::filesystem::path& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    if (!std::filesystem::is_regular_file(path) || !file_)
      throw Error("IDX file '" + path.string() + "' cannot be opened (is the data path right?)");
  }
  // Reads exactly `bytes` bytes or fails naming what was being read.
  void read(void* out, size_t bytes, const char* what) {
    auto* cursor = static_cast<unsigned char*>(out);
    while (bytes > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes, 1u << 30));
      const int got = gzread(file_.get(), cursor, chunk);
      if (got < 0) {
        int code = 0;
        const char* message = gzerror(file_.get(), &code);
        throw Error("IDX file '" + path_.string() + "' is corrupt while reading " + what + ": " + message);
      }
      if (got == 0)
        throw Error("IDX file '" + path_.string() + "' is truncated: it ends inside " + std::string(what));
      cursor += got;
      bytes -= static_cast<size_t>(got);
    }
  }
  bool at_end() {
    unsigned char extra = 0;
    const int got = gzread(file_.get(), &extra, 1);
    if (got < 0) read(&extra, 1, "the end of the data");  // reports the stream error
    return got == 0;
  }

 private:
  std::filesystem::path path_;
  std::unique_ptr<gzFile_s, GzCloser> file_;
};

uint32_t big_endian(const std::array<unsigned char, 4>& bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | bytes[3];
}

}  // namespace

at::Tensor read_idx(const std::filesystem::path& path) {
  GzReader reader(path);
  std::array<unsigned char, 4> magic{};
  reader.read(magic.data(), 4, "the magic number");
  if (magic[0] != 0 || magic[1] != 0)
    throw Error("IDX file '" + path.string() + "' does not start with an IDX magic number (00 00 type rank)");
  if (magic[2] != kUnsignedByte)
    throw Error("IDX file '" + path.string() + "' holds data of type 0x" + std::to_string(magic[2]) +
                ": only unsigned bytes (0x08) are read");
  const int rank = magic[3];
  if (rank < 1 || rank > kMaxRank)
    throw Error("IDX file '" + path.string() + "' claims " + std::to_string(rank) +
                " dimensions (1..8 read)");
  std::vector<int64_t> shape;
  int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    std::array<unsigned char, 4> size{};
    reader.read(size.data(), 4, "the header's dimensions");
    shape.push_back(big_endian(size));
    if (shape.back() == 0) throw Error("IDX file '" + path.string() + "' has an empty dimension");
    if (count > std::numeric_limits<int64_t>::max() / shape.back() ||
        count * shape.back() > (int64_t{1} << 34))
      throw Error("IDX file '" + path.string() + "' claims more values than it can hold");
    count *= shape.back();
  }
  at::Tensor values = torch::empty(shape, torch::kUInt8);
  reader.read(values.data_ptr<uint8_t>(), static_cast<size_t>(count), "the values");
  if (!reader.at_end())
    throw Error("IDX file '" + path.string() + "' has bytes past the " + std::to_string(count) +
                " values its header declares");
  return values;
}

}  // namespace tilt::data
