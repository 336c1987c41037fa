// The MPI C API only: skip the deprecated C++ bindings, which need an extra library.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1

#include <mpi.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/error.h"
#include "dist/communicator.h"

namespace tilt {
namespace {

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw Error(std::string("MPI ") + what + " failed: " + std::string(text, length));
  }
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "init");
      std::atexit([] {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
      });
    }
    // Errors come back as codes (turned into tilt::Error) instead of MPI's default abort.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(float* data, size_t count) override { reduce(data, count, MPI_FLOAT, MPI_SUM); }
  void all_reduce_sum(double* data, size_t count) override { reduce(data, count, MPI_DOUBLE, MPI_SUM); }
  void all_reduce_max(double* data, size_t count) override { reduce(data, count, MPI_DOUBLE, MPI_MAX); }

  void broadcast(void* data, size_t bytes, int root) override {
    check(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
  }

  std::vector<float> gather(const std::vector<float>& local, int root) override {
    std::vector<float> all;
    gather_variable(local.data(), static_cast<int>(local.size()), MPI_FLOAT, all, root);
    return all;
  }

  std::vector<std::string> gather_strings(const std::string& local, int root) override {
    std::string all;
    const std::vector<int> counts = gather_variable(local.data(), static_cast<int>(local.size()), MPI_CHAR, all, root);
    std::vector<std::string> strings;
    size_t offset = 0;
    for (const int count : counts) {
      strings.push_back(all.substr(offset, count));
      offset += count;
    }
    return strings;
  }

  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "barrier"); }

  [[noreturn]] void abort(const std::string& message) override {
    std::fprintf(stderr, "tilt: error on rank %d: %s\n", rank_, message.c_str());
    std::fflush(stderr);
    if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    std::exit(1);
  }

 private:
  // A sum of two or more floats can differ with the reduction tree, so it is computed on rank 0
  // and broadcast: every rank then applies bitwise the same update to its parameters.
  void reduce(void* data, size_t count, MPI_Datatype type, MPI_Op op) {
    if (size_ == 1) return;
    check(MPI_Reduce(rank_ == 0 ? MPI_IN_PLACE : data, data, static_cast<int>(count), type, op, 0,
                     MPI_COMM_WORLD),
          "reduce");
    int bytes = 0;
    MPI_Type_size(type, &bytes);
    broadcast(data, count * static_cast<size_t>(bytes), 0);
  }

  // Concatenates every rank's `count` elements into `all` on `root` (in rank order); returns the
  // per-rank counts there (empty elsewhere).
  template <typename Buffer>
  std::vector<int> gather_variable(const void* local, int count, MPI_Datatype type, Buffer& all, int root) {
    std::vector<int> counts(size_), offsets(size_);
    check(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "gather");
    if (rank_ == root) {
      int total = 0;
      for (int r = 0; r < size_; ++r) {
        offsets[r] = total;
        total += counts[r];
      }
      all.resize(total);
    }
    check(MPI_Gatherv(local, count, type, all.data(), counts.data(), offsets.data(), type, root, MPI_COMM_WORLD),
          "gatherv");
    if (rank_ != root) counts.clear();
    return counts;
  }

  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

void LocalCommunicator::abort(const std::string& message) {
  std::fprintf(stderr, "tilt: error: %s\n", message.c_str());
  std::exit(1);
}

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  const std::string version(text, length);
  return version.substr(0, version.find_first_of("\r\n,"));
}

std::unique_ptr<Communicator> make_mpi_world() { return std::make_unique<MpiCommunicator>(); }

BatchShard shard_batch(int64_t total, int rank, int size) {
  const int64_t base = total / size, extra = total % size;
  BatchShard shard;
  shard.total = total;
  shard.count = base + (rank < extra ? 1 : 0);
  shard.begin = rank * base + std::min<int64_t>(rank, extra);
  return shard;
}

int cores_per_rank(const Communicator& comm) {
  cpu_set_t affinity;
  const int node_cores = sched_getaffinity(0, sizeof(affinity), &affinity) == 0
                             ? CPU_COUNT(&affinity)
                             : static_cast<int>(std::thread::hardware_concurrency());
  int ranks_on_node = 1;
  if (comm.size() > 1) {
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, comm.rank(), MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &ranks_on_node);
    MPI_Comm_free(&node);
  }
  // A launcher that binds each rank to its own cores already shows only those in the affinity mask.
  const bool bound = node_cores < static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, bound ? node_cores : node_cores / ranks_on_node);
}

}  // namespace tilt
