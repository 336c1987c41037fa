#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"
#include "io/metrics_table.h"

namespace tilt::io {
namespace {

namespace fs = std::filesystem;

// Gives each test an empty directory of its own (the pid keeps concurrent runs apart), removed after.
class IoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("tilt_test_io_" + std::string(info->test_suite_name()) + "_" +
                                        info->name() + "_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

fs::path with_tmp_suffix(fs::path path) {
  char host[64] = {};
  gethostname(host, sizeof host - 1);
  return path += ".tmp." + std::string(host) + "." + std::to_string(getpid());
}

// The message of the tilt::Error that `action` throws (another exception type fails the test too).
template <typename Action>
std::string error_message(Action&& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no tilt::Error thrown";
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Random values use every mantissa bit, and int64 values exceed 32 bits, so any lossy conversion shows.
at::Tensor random_tensor(at::ScalarType dtype, at::IntArrayRef shape) {
  switch (dtype) {
    case at::kLong:
      return torch::randint(-(int64_t{1} << 62), int64_t{1} << 62, shape, torch::kLong);
    case at::kByte:
      return torch::randint(0, 256, shape, torch::kByte);
    default:
      return torch::randn(shape, torch::dtype(dtype)) * 1000;
  }
}

TEST_F(IoTest, TensorsRoundTripExactlyInDtypeAndShape) {
  const fs::path path = dir_ / "tensors.h5";
  const std::vector<std::vector<int64_t>> shapes = {{}, {3}, {2, 3, 4}, {2, 0}};
  torch::manual_seed(0);
  std::vector<std::pair<std::string, at::Tensor>> written;
  {
    H5File file = H5File::create(path);
    for (at::ScalarType dtype : {at::kFloat, at::kDouble, at::kLong, at::kByte}) {
      for (size_t s = 0; s < shapes.size(); ++s) {
        const std::string name = "/tensors/" + std::string(c10::toString(dtype)) + "_" + std::to_string(s);
        written.emplace_back(name, random_tensor(dtype, shapes[s]));
        file.write(name, written.back().second);
      }
    }
  }
  const H5File file = H5File::open_read(path);
  for (const auto& [name, expected] : written) {
    const at::Tensor actual = file.read(name);
    EXPECT_EQ(actual.scalar_type(), expected.scalar_type()) << name;
    EXPECT_EQ(actual.sizes().vec(), expected.sizes().vec()) << name;
    EXPECT_TRUE(torch::equal(actual, expected)) << name;
  }
}

TEST_F(IoTest, NonContiguousTensorIsStoredInLogicalOrder) {
  const fs::path path = dir_ / "transposed.h5";
  const at::Tensor transposed = torch::arange(6, torch::kDouble).reshape({2, 3}).t();
  H5File::create(path).write("/t", transposed);
  const at::Tensor actual = H5File::open_read(path).read("/t");
  EXPECT_EQ(actual.sizes().vec(), (std::vector<int64_t>{3, 2}));
  EXPECT_TRUE(torch::equal(actual, transposed));
}

TEST_F(IoTest, UnsupportedDtypeThrowsNamingTheDataset) {
  H5File file = H5File::create(dir_ / "int32.h5");
  const std::string message = error_message([&] { file.write("/counts", torch::zeros({2}, torch::kInt)); });
  EXPECT_TRUE(contains(message, "/counts")) << message;
}

TEST_F(IoTest, StringsRoundTrip) {
  const fs::path path = dir_ / "strings.h5";
  std::string long_text;
  for (int i = 0; i < 20000; ++i) long_text += "line " + std::to_string(i) + "\n";
  const std::vector<std::string> values = {"", "hello", std::string("nul\0inside\0", 11),
                                           "caf\xc3\xa9 \xe2\x9c\x93 \"quoted\", commas\n\ttabs", long_text};
  {
    H5File file = H5File::create(path);
    for (size_t i = 0; i < values.size(); ++i) file.write_string("/s/" + std::to_string(i), values[i]);
  }
  const H5File file = H5File::open_read(path);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(file.read_string("/s/" + std::to_string(i)), values[i]);
  }
}

TEST_F(IoTest, NestedGroupsAreCreatedAndChildrenListedSorted) {
  const fs::path path = dir_ / "groups.h5";
  {
    H5File file = H5File::create(path);
    file.write_string("/top", "t");
    file.write("/a/b/y", torch::ones({1}));
    file.write_string("/a/c", "c");
    file.write("/a/b/x", torch::ones({1}));
    file.write("/a/b/z/w", torch::ones({1}));
  }
  const H5File file = H5File::open_read(path);
  EXPECT_EQ(file.children("/"), (std::vector<std::string>{"a", "top"}));
  EXPECT_EQ(file.children("/a"), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(file.children("/a/b"), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(file.children("/a/b/z"), (std::vector<std::string>{"w"}));
  EXPECT_THROW(file.children("/a/c"), Error);
  const std::string message = error_message([&] { file.children("/missing/group"); });
  EXPECT_TRUE(contains(message, "/missing/group")) << message;
}

TEST_F(IoTest, HasAnswersFalseForMissingNestedPaths) {
  H5File file = H5File::create(dir_ / "has.h5");
  file.write("/a/b/x", torch::ones({1}));
  EXPECT_TRUE(file.has("/"));
  EXPECT_TRUE(file.has("/a"));
  EXPECT_TRUE(file.has("/a/b"));
  EXPECT_TRUE(file.has("/a/b/x"));
  EXPECT_FALSE(file.has("/nope"));
  EXPECT_FALSE(file.has("/nope/deeper/still"));
  EXPECT_FALSE(file.has("/a/nope/x"));
  EXPECT_FALSE(file.has("/a/b/nope"));
  EXPECT_FALSE(file.has("/a/b/x/below_a_dataset"));
}

TEST_F(IoTest, WritingAnExistingNameReplacesIt) {
  const fs::path path = dir_ / "overwrite.h5";
  const at::Tensor replacement = torch::tensor({{1, 2}, {3, 4}}, torch::kLong);
  {
    H5File file = H5File::create(path);
    file.write("/v", torch::zeros({3}));
    file.write("/v", replacement);
    EXPECT_TRUE(torch::equal(file.read("/v"), replacement));
    file.write("/s", torch::zeros({3}));
    file.write_string("/s", "now a string");
    file.write("/g/inner", torch::zeros({3}));
    file.write("/g", torch::ones({2}));
  }
  const H5File file = H5File::open_read(path);
  EXPECT_TRUE(torch::equal(file.read("/v"), replacement));
  EXPECT_EQ(file.read_string("/s"), "now a string");
  EXPECT_TRUE(torch::equal(file.read("/g"), torch::ones({2})));
  EXPECT_EQ(file.children("/"), (std::vector<std::string>{"g", "s", "v"}));
}

TEST_F(IoTest, ReadingAMissingOrMistypedNameThrowsNamingIt) {
  const fs::path path = dir_ / "missing.h5";
  {
    H5File file = H5File::create(path);
    file.write("/tensor", torch::zeros({2}));
    file.write_string("/string", "s");
  }
  const H5File file = H5File::open_read(path);
  std::string message = error_message([&] { file.read("/no/such/tensor"); });
  EXPECT_TRUE(contains(message, "/no/such/tensor")) << message;
  EXPECT_TRUE(contains(message, path.string())) << message;
  message = error_message([&] { file.read_string("/no_such_string"); });
  EXPECT_TRUE(contains(message, "/no_such_string")) << message;
  message = error_message([&] { file.read("/string"); });
  EXPECT_TRUE(contains(message, "/string")) << message;
  message = error_message([&] { file.read_string("/tensor"); });
  EXPECT_TRUE(contains(message, "/tensor")) << message;
}

TEST_F(IoTest, OpeningAMissingOrCorruptFileThrows) {
  const fs::path missing = dir_ / "missing.h5";
  std::string message = error_message([&] { H5File::open_read(missing); });
  EXPECT_TRUE(contains(message, missing.string())) << message;

  const fs::path garbage = dir_ / "garbage.h5";
  write_bytes(garbage, "this is not an HDF5 file" + std::string(4096, '\x5a'));
  message = error_message([&] { H5File::open_read(garbage); });
  EXPECT_TRUE(contains(message, garbage.string())) << message;

  // A checkpoint cut short by a crash must not read as valid.
  const fs::path truncated = dir_ / "truncated.h5";
  H5File::create(truncated).write("/x", torch::zeros({10000}, torch::kDouble));
  fs::resize_file(truncated, fs::file_size(truncated) / 2);
  EXPECT_THROW(H5File::open_read(truncated).read("/x"), Error);
}

TEST_F(IoTest, WritingToAFileOpenedForReadingThrows) {
  const fs::path path = dir_ / "read_only.h5";
  H5File::create(path).write("/x", torch::zeros({1}));
  H5File file = H5File::open_read(path);
  EXPECT_THROW(file.write("/y", torch::zeros({1})), Error);
  EXPECT_THROW(file.write_string("/y", "y"), Error);
}

TEST_F(IoTest, MovedFileKeepsItsHandle) {
  const fs::path first = dir_ / "first.h5";
  H5File moved_from = H5File::create(first);
  H5File file = std::move(moved_from);
  file.write("/x", torch::ones({2}));
  EXPECT_EQ(file.path(), first);
  EXPECT_THROW(moved_from.has("/x"), Error);  // misuse is reported, not undefined
  // Assigning over an open file closes it, so its content is complete on disk.
  file = H5File::create(dir_ / "second.h5");
  EXPECT_TRUE(torch::equal(H5File::open_read(first).read("/x"), torch::ones({2})));
}

TEST_F(IoTest, WriteAtomicallyLeavesOnlyTheFinishedFile) {
  const fs::path path = dir_ / "checkpoint.h5";
  write_atomically(path, [&](H5File& file) {
    EXPECT_NE(file.path(), path);  // never written in place
    file.write_string("/version", "1");
  });
  EXPECT_FALSE(fs::exists(with_tmp_suffix(path)));
  EXPECT_EQ(H5File::open_read(path).read_string("/version"), "1");
  write_atomically(path, [](H5File& file) { file.write_string("/version", "2"); });
  EXPECT_FALSE(fs::exists(with_tmp_suffix(path)));
  EXPECT_EQ(H5File::open_read(path).read_string("/version"), "2");
}

TEST_F(IoTest, WriteAtomicallyKeepsThePreviousFileWhenFillThrows) {
  const fs::path path = dir_ / "checkpoint.h5";
  write_atomically(path, [](H5File& file) { file.write_string("/version", "old"); });
  const std::string before = read_bytes(path);
  EXPECT_THROW(write_atomically(path,
                                [](H5File& file) {
                                  file.write_string("/version", "new");
                                  throw std::runtime_error("fill failed");
                                }),
               std::runtime_error);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_FALSE(fs::exists(with_tmp_suffix(path)));
  EXPECT_EQ(H5File::open_read(path).read_string("/version"), "old");
}

TEST_F(IoTest, MetricsTruncateAfterKeepsRowsUpToTheStep) {
  MetricsTable table{{"step", "loss"}, {}};
  for (double step : {0, 10, 20, 30}) table.rows.push_back({step, step / 10});
  table.truncate_after(20);
  EXPECT_EQ(table.rows, (std::vector<std::vector<double>>{{0, 0}, {10, 1}, {20, 2}}));
  table.truncate_after(15);
  EXPECT_EQ(table.rows, (std::vector<std::vector<double>>{{0, 0}, {10, 1}}));
}

TEST_F(IoTest, MetricsCsvContentIsExact) {
  const fs::path path = dir_ / "metrics.csv";
  MetricsTable table{{"step", "loss", "lr"}, {}};
  table.rows.push_back({0, 1.5, 0.001});
  table.rows.push_back({10, 0.1, 1e-5});
  table.rows.push_back({1000000, 0.1 + 0.2, -2.5});
  table.write_csv(path);
  EXPECT_EQ(read_bytes(path),
            "step,loss,lr\n"
            "0,1.5,0.001\n"
            "10,0.1,1e-05\n"
            "1000000,0.30000000000000004,-2.5\n");
  EXPECT_FALSE(fs::exists(with_tmp_suffix(path)));
}

TEST_F(IoTest, MetricsCsvNumbersReadBackExactly) {
  const fs::path path = dir_ / "metrics.csv";
  MetricsTable table{{"step", "value"}, {}};
  torch::manual_seed(1);
  const at::Tensor values =
      torch::randn({200}, torch::kDouble) * torch::pow(10.0, torch::randint(-30, 30, {200}));
  for (int64_t i = 0; i < values.size(0); ++i) {
    table.rows.push_back({static_cast<double>(i), values[i].item<double>()});
  }
  table.write_csv(path);
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "step,value");
  for (const std::vector<double>& row : table.rows) {
    ASSERT_TRUE(std::getline(in, line));
    const size_t comma = line.find(',');
    EXPECT_EQ(std::strtod(line.c_str(), nullptr), row[0]) << line;
    EXPECT_EQ(std::strtod(line.c_str() + comma + 1, nullptr), row[1]) << line;
  }
}

TEST_F(IoTest, MetricsWithACommaInAColumnNameAreRejected) {
  const MetricsTable table{{"step", "loss,total"}, {{0, 1}}};
  EXPECT_THROW(table.write_csv(dir_ / "metrics.csv"), Error);
  H5File file = H5File::create(dir_ / "metrics.h5");
  EXPECT_THROW(table.write_h5(file, "/metrics"), Error);
}

TEST_F(IoTest, MetricsRoundTripThroughHdf5) {
  const fs::path path = dir_ / "metrics.h5";
  MetricsTable table{{"step", "loss", "grad_norm"}, {}};
  table.rows.push_back({0, 2.0 / 3.0, std::numeric_limits<double>::infinity()});
  table.rows.push_back({100, 1e-300, -7.25});
  const MetricsTable empty{{"step"}, {}};
  {
    H5File file = H5File::create(path);
    table.write_h5(file, "/metrics");
    empty.write_h5(file, "/runs/empty");
  }
  const H5File file = H5File::open_read(path);
  const MetricsTable read = MetricsTable::read_h5(file, "/metrics");
  EXPECT_EQ(read.columns, table.columns);
  EXPECT_EQ(read.rows, table.rows);
  const MetricsTable read_empty = MetricsTable::read_h5(file, "/runs/empty");
  EXPECT_EQ(read_empty.columns, empty.columns);
  EXPECT_TRUE(read_empty.rows.empty());
  EXPECT_THROW(MetricsTable::read_h5(file, "/nothing"), Error);
}

// A narrow Gaussian centred on the middle of pixel (col 40, row 27) of a 64 x 48 picture of [-2, 2]^2:
// narrow enough that the peak pixel is brighter than its neighbours even after 8-bit quantisation.
// The byte offset of `needle` in a file (the raw bytes of a dataset written without compression).
size_t offset_of(const std::string& bytes, const std::string& needle) {
  const size_t at = bytes.find(needle);
  if (at == std::string::npos) throw std::runtime_error("pattern not found in the file");
  return at;
}

TEST_F(IoTest, AFlippedDataByteIsDetectedOnRead) {
  const fs::path path = dir_ / "checkpoint.h5";
  // A recognisable float pattern, so the test can find its bytes in the file.
  const at::Tensor values = torch::arange(1000, 1064, torch::kFloat32);
  write_atomically(path, [&](H5File& file) {
    file.write("/parameters/w", values);
    file.write_string("/meta/config", "objective: rtb\n");
  });
  EXPECT_TRUE(torch::equal(H5File::open_read(path).read("/parameters/w"), values));
  std::string bytes = read_bytes(path);
  const float first = 1000.0f;
  const size_t at = offset_of(bytes, std::string(reinterpret_cast<const char*>(&first), sizeof first));
  bytes[at + 100] ^= 0x01;
  write_bytes(path, bytes);
  const std::string message = error_message([&] { H5File::open_read(path).read("/parameters/w"); });
  EXPECT_TRUE(contains(message, "corrupt")) << message;
  EXPECT_TRUE(contains(message, "/parameters/w")) << message;
  // The string beside it is untouched and still reads.
  EXPECT_EQ(H5File::open_read(path).read_string("/meta/config"), "objective: rtb\n");
}

TEST_F(IoTest, AFlippedStringByteIsDetectedOnRead) {
  const fs::path path = dir_ / "samples.h5";
  write_atomically(path, [&](H5File& file) { file.write_string("/config", "seed: 12345678"); });
  std::string bytes = read_bytes(path);
  bytes[offset_of(bytes, "seed: 12345678") + 6] = '9';
  write_bytes(path, bytes);
  const std::string message = error_message([&] { H5File::open_read(path).read_string("/config"); });
  EXPECT_TRUE(contains(message, "corrupt")) << message;
}

TEST_F(IoTest, ATruncatedFileIsRefused) {
  const fs::path path = dir_ / "checkpoint.h5";
  write_atomically(path, [&](H5File& file) { file.write("/parameters/w", torch::ones({4096})); });
  const std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() / 2));
  const std::string message = error_message([&] { H5File::open_read(path).read("/parameters/w"); });
  EXPECT_TRUE(contains(message, path.string())) << message;
}

TEST_F(IoTest, FileAttributesRoundTrip) {
  const fs::path path = dir_ / "a.h5";
  write_atomically(path, [&](H5File& file) {
    file.set_attribute("config_hash", "0123abcd");
    file.set_attribute("empty", "");
    file.set_attribute("config_hash", "replaced");
  });
  const H5File file = H5File::open_read(path);
  EXPECT_EQ(file.attribute("config_hash"), "replaced");
  EXPECT_EQ(file.attribute("empty"), "");
  EXPECT_EQ(file.attribute_names(), (std::vector<std::string>{"config_hash", "empty"}));
  const std::string message = error_message([&] { file.attribute("missing"); });
  EXPECT_TRUE(contains(message, "missing")) << message;
}

TEST_F(IoTest, TextIsWrittenAtomically) {
  const fs::path path = dir_ / "eval.json";
  write_text_atomically(path, "{\"a\": 1}\n");
  EXPECT_EQ(read_bytes(path), "{\"a\": 1}\n");
  write_text_atomically(path, "second");
  EXPECT_EQ(read_bytes(path), "second");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(IoTest, AnUnwritableDestinationNamesTheFileAndKeepsNothing) {
  // A regular file where a directory should be: refused even for root, unlike permission bits.
  write_bytes(dir_ / "not_a_dir", "x");
  const fs::path path = dir_ / "not_a_dir" / "eval.json";
  const std::string message = error_message([&] { write_text_atomically(path, "{}"); });
  EXPECT_TRUE(contains(message, path.string())) << message;
  EXPECT_TRUE(contains(message, "Not a directory")) << message;
  const std::string h5_message =
      error_message([&] { write_atomically(dir_ / "not_a_dir" / "c.h5", [](H5File&) {}); });
  EXPECT_TRUE(contains(h5_message, "c.h5")) << h5_message;
}

TEST_F(IoTest, MetricsAppendByNameFollowsTheColumnOrder) {
  MetricsTable table{{"step", "loss"}, {}};
  table.append({{"loss", 0.5}, {"step", 2}});
  EXPECT_EQ(table.rows.back(), (std::vector<double>{2, 0.5}));
  const std::string missing = error_message([&] { table.append({{"step", 3}}); });
  EXPECT_TRUE(contains(missing, "loss")) << missing;
  EXPECT_THROW(table.append({{"step", 3}, {"loss", 1}, {"extra", 1}}), Error);
  EXPECT_EQ(table.rows.size(), 1u);
}

}  // namespace
}  // namespace tilt::io
