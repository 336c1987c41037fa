#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/error.h"

namespace tilt::io {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const fs::path& path, const std::string& what, int error_number) {
  throw Error("cannot write " + path.string() + ": " + what + ": " + std::strerror(error_number));
}

// fsync of a file (or directory) by name: data written by another library (HDF5) may still sit in
// the page cache, and a rename is only durable once the directory entry is synced too.
void sync_to_disk(const fs::path& path, const fs::path& reported, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) fail(reported, "cannot open " + path.string() + " to flush it", errno);
  const int status = ::fsync(fd);
  const int error_number = errno;
  ::close(fd);
  // Some file systems (e.g. certain network mounts) cannot fsync a directory; the rename stands.
  if (status != 0 && !(directory && (error_number == EINVAL || error_number == ENOTSUP)))
    fail(reported, "cannot flush " + path.string() + " to disk", error_number);
}

}  // namespace

void replace_atomically(const fs::path& path, const std::function<void(const fs::path& temp)>& fill) {
  // Host name and process id keep concurrent writers (two jobs sharing a directory by mistake, on
  // one node or several) from writing into each other's temporary file.
  char host[64] = {};
  ::gethostname(host, sizeof host - 1);
  fs::path temp = path;
  temp += ".tmp." + std::string(host) + "." + std::to_string(::getpid());
  try {
    fill(temp);
    sync_to_disk(temp, path, false);
    std::error_code error;
    fs::rename(temp, path, error);
    if (error) fail(path, "cannot rename " + temp.string() + " over it", error.value());
    const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    sync_to_disk(parent, path, true);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw;
  }
}

void write_text_atomically(const fs::path& path, const std::string& text) {
  replace_atomically(path, [&](const fs::path& temp) {
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail(path, "cannot create " + temp.string(), errno);
    size_t written = 0;
    while (written < text.size()) {
      const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error_number = errno;
        ::close(fd);
        fail(path, "cannot write " + temp.string(), error_number);
      }
      written += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) fail(path, "cannot close " + temp.string(), errno);
  });
}

}  // namespace tilt::io
