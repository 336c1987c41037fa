#include "train/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"
#include "io/run_files.h"
#include "train/checkpoint.h"
#include "train/job.h"

namespace tilt {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDensityGridPoints = 200;  // per axis of the exact-density grid in samples.h5

bool holds_a_run(const fs::path& dir) {
  return fs::exists(dir / run_files::kConfig) || fs::exists(dir / run_files::kCheckpoint);
}

// Only the files tilt writes are removed: `--out ~/ --replace` must not empty a home directory.
void remove_run_files(const fs::path& dir) {
  for (const char* name :
       {run_files::kConfig, run_files::kProvenance, run_files::kCheckpoint, run_files::kMetricsCsv,
        run_files::kMetricsH5, run_files::kSamples, run_files::kEval}) {
    std::error_code error;
    fs::remove(dir / name, error);
    if (error) throw Error("--replace: cannot remove " + (dir / name).string() + ": " + error.message());
  }
}

}  // namespace

RunDirectoryLock::RunDirectoryLock(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw Error("cannot create run directory '" + dir.string() + "': " + error.message());
  const fs::path path = dir / run_files::kLock;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot open " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error_number = errno;
    char holder[256] = {};
    const ssize_t noted = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (error_number == EWOULDBLOCK)
      throw Error("run directory '" + dir.string() + "' is in use by another tilt" +
                  (noted > 0 ? " (" + std::string(holder) + ")" : std::string()));
    throw Error("cannot lock " + path.string() + ": " + std::strerror(error_number));
  }
  char host[64] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string holder = "host " + std::string(host) + ", pid " + std::to_string(::getpid());
  // Who holds the lock is only a note for the message above: the lock holds without it.
  [[maybe_unused]] const bool noted =
      ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, holder.data(), holder.size(), 0) >= 0;
}

RunDirectoryLock::~RunDirectoryLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool prepare_run_directory(const fs::path& dir, StartMode mode, const std::string& resolved_config,
                           const std::function<void(const fs::path& checkpoint)>& check_resumable) {
  const bool has_checkpoint = fs::exists(dir / run_files::kCheckpoint);
  bool resuming = false;
  switch (mode) {
    case StartMode::kResume:
      if (!has_checkpoint) throw Error("--resume: no checkpoint in '" + dir.string() + "'");
      resuming = true;
      break;
    case StartMode::kAutoResume:
      resuming = has_checkpoint;
      break;
    case StartMode::kFresh:
      if (holds_a_run(dir))
        throw Error("run directory '" + dir.string() +
                    "' already holds a run: continue it with --resume, replace it with --replace, or "
                    "choose another --out");
      break;
    case StartMode::kReplace:
      remove_run_files(dir);
      break;
  }
  if (resuming) check_resumable(dir / run_files::kCheckpoint);
  // --set may have changed the config (e.g. more iterations): the directory describes the run it holds.
  io::write_text_atomically(dir / run_files::kConfig, resolved_config);
  return resuming;
}

bool prepare_run_directory(const fs::path& dir, StartMode mode, const Config& config) {
  return prepare_run_directory(dir, mode, to_yaml(config),
                               [&](const fs::path& checkpoint) { check_resumable(checkpoint, config); });
}

void require_same_config(const std::filesystem::path& checkpoint, const std::string& stored,
                         const std::string& current, const std::string& may_change) {
  std::istringstream a(stored), b(current);
  for (;;) {
    std::string line_a, line_b;
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a && !more_b) return;
    if (more_a && more_b && line_a == line_b) continue;
    throw Error("checkpoint '" + checkpoint.string() + "' was written under a different config: '" +
                (more_a ? line_a : "(end)") + "' there, '" + (more_b ? line_b : "(end)") + "' here (only " +
                may_change + " may change on resume)");
  }
}

void write_samples(const fs::path& path, const std::vector<float>& samples, const Job& job,
                   const Provenance& provenance) {
  const int64_t dim = job.config().dim();
  const int64_t n = static_cast<int64_t>(samples.size()) / dim;
  io::write_atomically(path, [&](io::H5File& file) {
    file.write("/samples", torch::from_blob(const_cast<float*>(samples.data()), {n, dim}, torch::kFloat32));
    file.write_string("/config", to_yaml(job.config()));
    stamp(file, provenance);
    const GroundTruth* truth = job.target().truth();
    if (dim != 2 || !truth) return;
    double x_min, x_max, y_min, y_max;
    if (const auto& box = job.config().eval.plot_box) {
      x_min = (*box)[0], x_max = (*box)[1], y_min = (*box)[2], y_max = (*box)[3];
    } else {
      // The range of exact samples, padded by a tenth of its width on every side.
      const at::Tensor exact = truth->sample(job.rng(), kExactSampleDraws, 0, 20000).to(torch::kFloat64);
      const at::Tensor low = std::get<0>(exact.min(0)), high = std::get<0>(exact.max(0));
      const at::Tensor pad = 0.1 * (high - low) + 0.5;
      x_min = (low[0] - pad[0]).item<double>(), x_max = (high[0] + pad[0]).item<double>();
      y_min = (low[1] - pad[1]).item<double>(), y_max = (high[1] + pad[1]).item<double>();
    }
    const at::Tensor x = torch::linspace(x_min, x_max, kDensityGridPoints, torch::kFloat64);
    const at::Tensor y = torch::linspace(y_min, y_max, kDensityGridPoints, torch::kFloat64);
    const std::vector<at::Tensor> mesh = torch::meshgrid({y, x}, "ij");
    const at::Tensor points = torch::stack({mesh[1].reshape(-1), mesh[0].reshape(-1)}, 1);
    file.write("/exact/x", x);
    file.write("/exact/y", y);
    file.write("/exact/log_density",
               truth->log_density(points).reshape({kDensityGridPoints, kDensityGridPoints}));
  });
}

std::string metrics_json(const std::vector<std::pair<std::string, double>>& metrics) {
  nlohmann::ordered_json out;
  for (const auto& [name, value] : metrics)
    out[name] = std::isfinite(value) ? nlohmann::ordered_json(value) : nullptr;
  return out.dump();
}

}  // namespace tilt
