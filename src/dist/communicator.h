// The communicator seam: rank, size, collectives on flat host buffers, abort. MpiCommunicator runs
// over MPI_COMM_WORLD (a plain `tilt` launch is an MPI singleton of size 1); LocalCommunicator is a
// single process with no MPI calls at all, for embedding and for computing reference results
// inside a multi-rank test. An NCCL implementation for device buffers plugs in behind this seam.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace tilt {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In-place sums over all ranks; every rank ends with bitwise the same result.
  virtual void all_reduce_sum(float* data, size_t count) = 0;
  virtual void all_reduce_sum(double* data, size_t count) = 0;
  virtual void all_reduce_max(double* data, size_t count) = 0;
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  // Concatenates every rank's `local` (sizes may differ) on `root`, in rank order; empty elsewhere.
  virtual std::vector<float> gather(const std::vector<float>& local, int root) = 0;
  // Every rank's string, in rank order, on `root`; empty elsewhere.
  virtual std::vector<std::string> gather_strings(const std::string& local, int root) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job with `message` on stderr: a rank that fails must not leave the others
  // blocked in a collective.
  [[noreturn]] virtual void abort(const std::string& message) = 0;

  bool is_root() const { return rank() == 0; }
};

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(float*, size_t) override {}
  void all_reduce_sum(double*, size_t) override {}
  void all_reduce_max(double*, size_t) override {}
  void broadcast(void*, size_t, int) override {}
  std::vector<float> gather(const std::vector<float>& local, int) override { return local; }
  std::vector<std::string> gather_strings(const std::string& local, int) override { return {local}; }
  void barrier() override {}
  [[noreturn]] void abort(const std::string& message) override;
};

// Initialises MPI (once per process) and returns the world communicator; MPI is finalised at exit.
std::unique_ptr<Communicator> make_mpi_world();

// Rows [begin, begin + count) of a global batch owned by one rank: the first (total % size) ranks
// take one row more, so any batch size works on any rank count.
struct BatchShard {
  int64_t total = 0;
  int64_t begin = 0;
  int64_t count = 0;
};
BatchShard shard_batch(int64_t total, int rank, int size);

// The MPI library's own version line (e.g. "Open MPI v4.1.4, ..."), first line only.
std::string mpi_library_version();

// Cores this rank may use: the cores of its node divided among the ranks on that node.
int cores_per_rank(const Communicator& comm);

}  // namespace tilt
