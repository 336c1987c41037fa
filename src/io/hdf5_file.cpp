#include "io/hdf5_file.h"

#include <hdf5.h>
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <optional>
#include <system_error>
#include <utility>

#include "core/error.h"
#include "io/atomic_file.h"

namespace tilt::io {
namespace {

namespace fs = std::filesystem;

// Owns one HDF5 identifier, so that every exit path (a thrown tilt::Error included) releases it.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (id_ >= 0) closer_(id_);
  }
  hid_t get() const { return id_; }

 private:
  hid_t id_;
  Closer closer_;
};

void silence_hdf5_errors() {
  // HDF5 prints its error stack to stderr by default; failures reach the user as tilt::Error instead.
  [[maybe_unused]] static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
}

[[noreturn]] void fail(const fs::path& file, const std::string& what) {
  throw Error("HDF5 file " + file.string() + ": " + what);
}

// For failures of an HDF5 call: appends HDF5's own innermost explanation (e.g. "file signature not
// found"), which tells a truncated file from a permission problem.
[[noreturn]] void fail_h5(const fs::path& file, const std::string& what) {
  std::string reason;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* error, void* data) -> herr_t {
        if (n == 0 && error->desc != nullptr) *static_cast<std::string*>(data) = error->desc;
        return 0;
      },
      &reason);
  fail(file, reason.empty() ? what : what + ": " + reason);
}

// HDF5 reports failure as a negative identifier or status.
template <typename T>
T checked(T result, const fs::path& file, const std::string& what) {
  if (result < 0) fail_h5(file, what);
  return result;
}

hid_t native_type(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat:
      return H5T_NATIVE_FLOAT;
    case at::kDouble:
      return H5T_NATIVE_DOUBLE;
    case at::kLong:
      return H5T_NATIVE_INT64;
    case at::kByte:
      return H5T_NATIVE_UINT8;
    default:
      return H5I_INVALID_HID;
  }
}

// Decided by class, size and sign rather than by equality with the native types, so that a file
// written on a machine of the other byte order still reads (HDF5 converts on read).
std::optional<at::ScalarType> stored_dtype(hid_t type) {
  const size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      if (size == 4) return at::kFloat;
      if (size == 8) return at::kDouble;
      break;
    case H5T_INTEGER: {
      const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
      if (size == 8 && is_signed) return at::kLong;
      if (size == 1 && !is_signed) return at::kByte;
      break;
    }
    default:
      break;
  }
  return std::nullopt;
}

std::string in_quotes(const std::string& name) { return "'" + name + "'"; }

bool exists(hid_t file, const fs::path& path, const std::string& name) {
  // H5Lexists fails instead of answering false when a parent of the name is missing or is a dataset,
  // so the name is walked one component at a time from the root.
  std::string prefix = !name.empty() && name.front() == '/' ? "/" : "";
  size_t begin = 0;
  while (begin < name.size()) {
    size_t end = name.find('/', begin);
    if (end == std::string::npos) end = name.size();
    if (end > begin) {
      if (!prefix.empty() && prefix.back() != '/') prefix += '/';
      prefix += name.substr(begin, end - begin);
      if (checked(H5Lexists(file, prefix.c_str(), H5P_DEFAULT), path,
                  "cannot look up " + in_quotes(prefix)) == 0) {
        return false;
      }
      if (end < name.size()) {
        const Handle parent(
            checked(H5Oopen(file, prefix.c_str(), H5P_DEFAULT), path, "cannot open " + in_quotes(prefix)),
            H5Oclose);
        if (H5Iget_type(parent.get()) != H5I_GROUP) return false;
      }
    }
    begin = end + 1;
  }
  return true;
}

// Creates dataset `name` (and its missing parent groups), replacing whatever the name held before.
hid_t create_dataset(hid_t file, const fs::path& path, const std::string& name, hid_t type, hid_t space) {
  if (exists(file, path, name)) {
    checked(H5Ldelete(file, name.c_str(), H5P_DEFAULT), path, "cannot replace " + in_quotes(name));
  }
  const Handle link_plist(checked(H5Pcreate(H5P_LINK_CREATE), path, "cannot create a property list"),
                          H5Pclose);
  checked(H5Pset_create_intermediate_group(link_plist.get(), 1), path, "cannot set up link creation");
  return checked(H5Dcreate2(file, name.c_str(), type, space, link_plist.get(), H5P_DEFAULT, H5P_DEFAULT),
                 path, "cannot create dataset " + in_quotes(name));
}

constexpr const char* kChecksumAttribute = "crc32";

uint32_t crc32_of(const void* data, size_t bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  // zlib takes lengths as uInt: feed large buffers in pieces.
  while (bytes > 0) {
    const uInt piece = static_cast<uInt>(std::min<size_t>(bytes, 1u << 30));
    crc = crc32(crc, p, piece);
    p += piece;
    bytes -= piece;
  }
  return static_cast<uint32_t>(crc);
}

void write_checksum(hid_t dataset, const fs::path& path, const std::string& name, uint32_t crc) {
  const Handle space(checked(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"), H5Sclose);
  const Handle attribute(checked(H5Acreate2(dataset, kChecksumAttribute, H5T_STD_U32LE, space.get(),
                                            H5P_DEFAULT, H5P_DEFAULT),
                                 path, "cannot add a checksum to " + in_quotes(name)),
                         H5Aclose);
  checked(H5Awrite(attribute.get(), H5T_NATIVE_UINT32, &crc), path,
          "cannot write the checksum of " + in_quotes(name));
}

// Compares the bytes read with the checksum stored at write time (datasets written before
// checksums existed have none and are accepted as they are).
void verify_checksum(hid_t dataset, const fs::path& path, const std::string& name, const void* data,
                     size_t bytes) {
  if (checked(H5Aexists(dataset, kChecksumAttribute), path, "cannot look up the checksum of " + in_quotes(name)) == 0)
    return;
  const Handle attribute(checked(H5Aopen(dataset, kChecksumAttribute, H5P_DEFAULT), path,
                                 "cannot open the checksum of " + in_quotes(name)),
                         H5Aclose);
  uint32_t stored = 0;
  checked(H5Aread(attribute.get(), H5T_NATIVE_UINT32, &stored), path,
          "cannot read the checksum of " + in_quotes(name));
  if (stored != crc32_of(data, bytes))
    fail(path, in_quotes(name) + " is corrupt (its CRC-32 does not match the one written with it)");
}

// Files are created with HDF5's 1.8+ object format: its object headers carry checksums.
hid_t file_access_plist(const fs::path& path) {
  const hid_t plist = checked(H5Pcreate(H5P_FILE_ACCESS), path, "cannot create a property list");
  if (H5Pset_libver_bounds(plist, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0) {
    H5Pclose(plist);
    fail_h5(path, "cannot select the file format");
  }
  return plist;
}

}  // namespace

H5File::H5File(long long id, std::filesystem::path path) : id_(id), path_(std::move(path)) {}

H5File::H5File(H5File&& other) noexcept : id_(std::exchange(other.id_, -1)), path_(std::move(other.path_)) {}

H5File& H5File::operator=(H5File&& other) noexcept {
  if (this != &other) {
    close();
    id_ = std::exchange(other.id_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

H5File::~H5File() { close(); }

void H5File::close() {
  if (id_ >= 0) H5Fclose(id_);
  id_ = -1;
}

H5File H5File::create(const std::filesystem::path& path) {
  silence_hdf5_errors();
  const Handle access(file_access_plist(path), H5Pclose);
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get());
  if (id < 0) fail_h5(path, "cannot create the file");
  return H5File(id, path);
}

H5File H5File::open_read(const std::filesystem::path& path) {
  silence_hdf5_errors();
  std::error_code error;
  if (!fs::exists(path, error)) fail(path, "no such file");
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) fail_h5(path, "cannot open the file (not an HDF5 file, or corrupt)");
  return H5File(id, path);
}

void H5File::write(const std::string& name, const at::Tensor& tensor) {
  if (id_ < 0) fail(path_, "cannot write " + in_quotes(name) + " to a closed file");
  if (!tensor.defined()) fail(path_, "cannot write " + in_quotes(name) + ": the tensor is undefined");
  const hid_t mem_type = native_type(tensor.scalar_type());
  if (mem_type < 0) {
    fail(path_, "cannot write " + in_quotes(name) + ": dtype " + c10::toString(tensor.scalar_type()) +
                    " is not one of float32, float64, int64, uint8");
  }
  const at::Tensor data = tensor.cpu().contiguous();
  const std::vector<hsize_t> dims(data.sizes().begin(), data.sizes().end());
  const Handle space(
      checked(data.dim() == 0 ? H5Screate(H5S_SCALAR)
                              : H5Screate_simple(static_cast<int>(data.dim()), dims.data(), nullptr),
              path_, "cannot describe the shape of " + in_quotes(name)),
      H5Sclose);
  const Handle dataset(create_dataset(id_, path_, name, mem_type, space.get()), H5Dclose);
  // An empty tensor may have no buffer at all, and HDF5 rejects a null buffer even for zero elements.
  if (data.numel() > 0) {
    checked(H5Dwrite(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data_ptr()), path_,
            "cannot write " + in_quotes(name));
  }
  write_checksum(dataset.get(), path_, name, crc32_of(data.data_ptr(), data.nbytes()));
}

at::Tensor H5File::read(const std::string& name) const {
  if (!has(name)) fail(path_, "no dataset " + in_quotes(name));
  const Handle dataset(checked(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), path_,
                               "cannot open " + in_quotes(name) + " as a dataset"),
                       H5Dclose);
  const Handle type(checked(H5Dget_type(dataset.get()), path_, "cannot get the type of " + in_quotes(name)),
                    H5Tclose);
  const std::optional<at::ScalarType> dtype = stored_dtype(type.get());
  if (!dtype) fail(path_, in_quotes(name) + " is not a float32, float64, int64 or uint8 dataset");
  const Handle space(
      checked(H5Dget_space(dataset.get()), path_, "cannot get the shape of " + in_quotes(name)), H5Sclose);
  std::vector<int64_t> shape;
  switch (H5Sget_simple_extent_type(space.get())) {
    case H5S_SCALAR:
      break;
    case H5S_SIMPLE: {
      std::vector<hsize_t> dims(checked(H5Sget_simple_extent_ndims(space.get()), path_,
                                        "cannot get the rank of " + in_quotes(name)));
      H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
      shape.assign(dims.begin(), dims.end());
      break;
    }
    default:
      fail(path_, in_quotes(name) + " holds no data");
  }
  at::Tensor tensor = torch::empty(shape, torch::dtype(*dtype));
  if (tensor.numel() > 0) {
    checked(H5Dread(dataset.get(), native_type(*dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, tensor.data_ptr()),
            path_, "cannot read " + in_quotes(name));
  }
  verify_checksum(dataset.get(), path_, name, tensor.data_ptr(), tensor.nbytes());
  return tensor;
}

// Stored as one fixed-length string of exactly value.size() bytes, so embedded and trailing NUL bytes
// survive; HDF5 forbids zero-length string types, so the empty string is a dataset with a null dataspace.
void H5File::write_string(const std::string& name, const std::string& value) {
  if (id_ < 0) fail(path_, "cannot write " + in_quotes(name) + " to a closed file");
  const Handle type(checked(H5Tcopy(H5T_C_S1), path_, "cannot create a string type"), H5Tclose);
  checked(H5Tset_size(type.get(), std::max<size_t>(value.size(), 1)), path_,
          "cannot size the string " + in_quotes(name));
  checked(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), path_, "cannot set up the string " + in_quotes(name));
  checked(H5Tset_cset(type.get(), H5T_CSET_UTF8), path_, "cannot set up the string " + in_quotes(name));
  const Handle space(checked(H5Screate(value.empty() ? H5S_NULL : H5S_SCALAR), path_,
                             "cannot create a dataspace for " + in_quotes(name)),
                     H5Sclose);
  const Handle dataset(create_dataset(id_, path_, name, type.get(), space.get()), H5Dclose);
  if (!value.empty()) {
    checked(H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()), path_,
            "cannot write " + in_quotes(name));
  }
  write_checksum(dataset.get(), path_, name, crc32_of(value.data(), value.size()));
}

std::string H5File::read_string(const std::string& name) const {
  if (!has(name)) fail(path_, "no string " + in_quotes(name));
  const Handle dataset(checked(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), path_,
                               "cannot open " + in_quotes(name) + " as a dataset"),
                       H5Dclose);
  const Handle type(checked(H5Dget_type(dataset.get()), path_, "cannot get the type of " + in_quotes(name)),
                    H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) != 0) {
    fail(path_, in_quotes(name) + " is not a fixed-length string");
  }
  const Handle space(
      checked(H5Dget_space(dataset.get()), path_, "cannot get the shape of " + in_quotes(name)), H5Sclose);
  const H5S_class_t space_class = H5Sget_simple_extent_type(space.get());
  if (space_class == H5S_NULL) {
    verify_checksum(dataset.get(), path_, name, "", 0);
    return "";
  }
  if (space_class != H5S_SCALAR) fail(path_, in_quotes(name) + " is not a single string");
  // The file's own type is used as the memory type: no conversion, so the bytes come back unchanged.
  std::string value(H5Tget_size(type.get()), '\0');
  checked(H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()), path_,
          "cannot read " + in_quotes(name));
  verify_checksum(dataset.get(), path_, name, value.data(), value.size());
  return value;
}

bool H5File::has(const std::string& name) const {
  if (id_ < 0) fail(path_, "cannot look up " + in_quotes(name) + " in a closed file");
  return exists(id_, path_, name);
}

std::vector<std::string> H5File::children(const std::string& group) const {
  if (!has(group)) fail(path_, "no group " + in_quotes(group));
  const Handle handle(checked(H5Gopen2(id_, group.c_str(), H5P_DEFAULT), path_,
                              "cannot open " + in_quotes(group) + " as a group"),
                      H5Gclose);
  std::vector<std::string> names;
  checked(H5Literate(
              handle.get(), H5_INDEX_NAME, H5_ITER_NATIVE, nullptr,
              [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
                static_cast<std::vector<std::string>*>(data)->emplace_back(name);
                return 0;
              },
              &names),
          path_, "cannot list " + in_quotes(group));
  // The order HDF5 iterates in depends on how the group is stored; callers rely on sorted names.
  std::sort(names.begin(), names.end());
  return names;
}

void H5File::set_attribute(const std::string& key, const std::string& value) {
  if (id_ < 0) fail(path_, "cannot set attribute " + in_quotes(key) + " of a closed file");
  if (checked(H5Aexists(id_, key.c_str()), path_, "cannot look up attribute " + in_quotes(key)) > 0)
    checked(H5Adelete(id_, key.c_str()), path_, "cannot replace attribute " + in_quotes(key));
  const Handle type(checked(H5Tcopy(H5T_C_S1), path_, "cannot create a string type"), H5Tclose);
  checked(H5Tset_size(type.get(), std::max<size_t>(value.size(), 1)), path_, "cannot size attribute " + in_quotes(key));
  checked(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), path_, "cannot set up attribute " + in_quotes(key));
  checked(H5Tset_cset(type.get(), H5T_CSET_UTF8), path_, "cannot set up attribute " + in_quotes(key));
  const Handle space(checked(H5Screate(H5S_SCALAR), path_, "cannot create a dataspace"), H5Sclose);
  const Handle attribute(
      checked(H5Acreate2(id_, key.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), path_,
              "cannot create attribute " + in_quotes(key)),
      H5Aclose);
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  checked(H5Awrite(attribute.get(), type.get(), padded.data()), path_, "cannot write attribute " + in_quotes(key));
}

std::string H5File::attribute(const std::string& key) const {
  if (id_ < 0) fail(path_, "cannot read attribute " + in_quotes(key) + " of a closed file");
  if (checked(H5Aexists(id_, key.c_str()), path_, "cannot look up attribute " + in_quotes(key)) == 0)
    fail(path_, "no attribute " + in_quotes(key));
  const Handle attribute(checked(H5Aopen(id_, key.c_str(), H5P_DEFAULT), path_, "cannot open attribute " + in_quotes(key)),
                         H5Aclose);
  const Handle type(checked(H5Aget_type(attribute.get()), path_, "cannot get the type of attribute " + in_quotes(key)),
                    H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) != 0)
    fail(path_, "attribute " + in_quotes(key) + " is not a fixed-length string");
  std::string value(H5Tget_size(type.get()), '\0');
  checked(H5Aread(attribute.get(), type.get(), value.data()), path_, "cannot read attribute " + in_quotes(key));
  // NUL padding (and the placeholder byte of an empty value) is not part of the value.
  value.erase(std::find(value.begin(), value.end(), '\0'), value.end());
  return value;
}

std::vector<std::string> H5File::attribute_names() const {
  if (id_ < 0) fail(path_, "cannot list the attributes of a closed file");
  std::vector<std::string> names;
  checked(H5Aiterate2(
              id_, H5_INDEX_NAME, H5_ITER_INC, nullptr,
              [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
                static_cast<std::vector<std::string>*>(data)->emplace_back(name);
                return 0;
              },
              &names),
          path_, "cannot list the attributes");
  std::sort(names.begin(), names.end());
  return names;
}

void write_atomically(const std::filesystem::path& path, const std::function<void(H5File&)>& fill) {
  replace_atomically(path, [&](const fs::path& temp) {
    {
      H5File file = H5File::create(temp);
      fill(file);
    }
    // The destructor cannot report a failed final flush (a full disk, say), so reopening the closed
    // file proves it complete before it replaces `path`.
    H5File::open_read(temp);
  });
}

}  // namespace tilt::io
