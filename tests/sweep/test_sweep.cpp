#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "core/config.h"
#include "core/error.h"
#include "sweep/runner.h"
#include "sweep/sweep_directory.h"
#include "sweep/sweep_spec.h"
#include "test_helpers.h"

namespace tilt::sweep {
namespace {

namespace fs = std::filesystem;

class SweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("tilt_test_sweep_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
         "_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "base.yaml") << "objective: tb\ntarget: {kind: mixture, preset: gmm25}\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write_spec(const std::string& text) {
    const fs::path path = dir_ / "sweep.yaml";
    std::ofstream(path) << text;
    return path;
  }

  fs::path dir_;
};

using tilt::test_support::error_message;

TEST_F(SweepTest, GridThenRowsTimesSeedsInAFixedOrder) {
  const SweepSpec spec = load_sweep_spec(write_spec(R"(
name: s
config: base.yaml
set: {train.iterations: 5}
grid:
  train.lr: [1.0e-3, 2.0e-3]
  train.batch: [8, 16]
rows:
  - {train.lr: 0.5, process.steps: 4}
seeds: [3, 4]
ranks: 2
)"));
  EXPECT_EQ(spec.config, (dir_ / "base.yaml").lexically_normal());
  const std::vector<SweepRow> rows = expand(spec);
  ASSERT_EQ(rows.size(), (2u * 2u + 1u) * 2u);
  EXPECT_EQ(rows[0].params, (Params{{"train.lr", "1.0e-3"}, {"train.batch", "8"}, {"seed", "3"}}));
  EXPECT_EQ(rows[1].params, (Params{{"train.lr", "1.0e-3"}, {"train.batch", "8"}, {"seed", "4"}}));
  EXPECT_EQ(rows[2].params, (Params{{"train.lr", "1.0e-3"}, {"train.batch", "16"}, {"seed", "3"}}));
  EXPECT_EQ(rows[9].params, (Params{{"train.lr", "0.5"}, {"process.steps", "4"}, {"seed", "4"}}));
  // `set` comes first, so a row's own value wins.
  EXPECT_EQ(rows[9].overrides,
            (std::vector<std::string>{"train.iterations=5", "train.lr=0.5", "process.steps=4", "seed=4"}));
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].index, static_cast<int>(i));
  EXPECT_EQ(swept_keys(rows), (std::vector<std::string>{"train.lr", "train.batch", "seed", "process.steps"}));
  // Every row's overrides load as a config (what `tilt sweep` checks before writing anything).
  const Config last = load_config(spec.config, rows[9].overrides);
  EXPECT_EQ(last.train.lr, 0.5);
  EXPECT_EQ(last.seed, 4u);
}

TEST_F(SweepTest, ValuesKeepTheirYamlMeaningThroughSet) {
  const SweepSpec spec = load_sweep_spec(write_spec(R"(
name: s
config: base.yaml
grid:
  text: ["a b 'c' \"d\" $(id) ;&|", [[1, 0.5]], {kind: exact}]
)"));
  const std::vector<SweepRow> rows = expand(spec);
  ASSERT_EQ(rows.size(), 3u);
  // The text after `key=` is parsed by --set as YAML: it must read back as the same value.
  EXPECT_EQ(YAML::Load(rows[0].params[0].second).as<std::string>(), "a b 'c' \"d\" $(id) ;&|");
  EXPECT_EQ(YAML::Load(rows[1].params[0].second)[0][1].as<double>(), 0.5);
  EXPECT_EQ(YAML::Load(rows[2].params[0].second)["kind"].as<std::string>(), "exact");
}

TEST_F(SweepTest, BadSpecsNameTheKey) {
  const auto refused = [&](const std::string& text, const std::string& key) {
    const std::string message = error_message([&] { load_sweep_spec(write_spec(text)); });
    EXPECT_NE(message.find(key), std::string::npos) << message;
  };
  refused("config: base.yaml\n", "'name'");
  refused("name: s\n", "'config'");
  refused("name: s\nconfig: missing.yaml\n", "'config'");
  refused("name: a/b\nconfig: base.yaml\n", "'name'");
  refused("name: s\nconfig: base.yaml\ngrids: {}\n", "'grids'");
  refused("name: s\nconfig: base.yaml\ngrid: {train.lr: []}\n", "'grid.train.lr'");
  refused("name: s\nconfig: base.yaml\ngrid: {seed: [1]}\n", "'grid.seed'");
  refused("name: s\nconfig: base.yaml\nseeds: [1, 1]\n", "'seeds'");
  refused("name: s\nconfig: base.yaml\nranks: 0\n", "'ranks'");
  refused("name: s\nconfig: base.yaml\nslurm: {nodes: 2}\n", "'slurm.nodes'");
  refused("name: s\nconfig: base.yaml\nslurm: {throttle: -1}\n", "'slurm.throttle'");
}

TEST_F(SweepTest, ADirectoryReopensForTheSameRowsOnly) {
  const fs::path spec_file = write_spec("name: s\nconfig: base.yaml\nseeds: [0, 1]\n");
  const SweepDirectory created = SweepDirectory::create(dir_ / "out", load_sweep_spec(spec_file), spec_file);
  ASSERT_EQ(created.rows().size(), 2u);
  EXPECT_EQ(created.status(1).state, "pending");
  RowStatus status;
  status.state = "failed";
  status.exit_code = 3;
  status.attempts = 1;
  created.set_status(1, status);
  // A re-run of the same sweep keeps the rows' states.
  const SweepDirectory again = SweepDirectory::create(dir_ / "out", load_sweep_spec(spec_file), spec_file);
  EXPECT_EQ(again.status(1).state, "failed");
  EXPECT_EQ(again.status(1).exit_code, 3);
  // A run directory with eval.json makes a row finished, whatever its status file says.
  fs::create_directories(again.run_dir(1));
  std::ofstream(again.run_dir(1) / "eval.json") << "{}\n";
  EXPECT_EQ(again.status(1).state, "finished");
  const fs::path other = write_spec("name: s\nconfig: base.yaml\nseeds: [0, 2]\n");
  const std::string message =
      error_message([&] { SweepDirectory::create(dir_ / "out", load_sweep_spec(other), other); });
  EXPECT_NE(message.find("different sweep"), std::string::npos) << message;
  EXPECT_THROW(again.row(2), Error);
}

// Concurrent local rows get disjoint cores (else every mpirun binds its rank 0 to the first core).
TEST(Runner, ConcurrentLocalRowsGetDisjointCores) {
  EXPECT_EQ(local_cpu_sets({0, 1}, 2, 1), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(local_cpu_sets({0, 1, 2, 3, 4}, 2, 2), (std::vector<std::string>{"0,1", "2,3"}));
  EXPECT_EQ(local_cpu_sets({4, 6}, 2, 1), (std::vector<std::string>{"4", "6"}));
  // Too few cores to give each row its ranks, or one row at a time: mpirun decides.
  EXPECT_EQ(local_cpu_sets({0, 1}, 2, 2), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(local_cpu_sets({0, 1}, 1, 1), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace tilt::sweep
