// A log-reward a researcher brings as a TorchScript file (torch.jit.script(module).save(path) in
// PyTorch), loaded with torch::jit::load: x [B, D] -> log R [B], for any float dtype, differentiable
// if the code is (local search and the Langevin parametrisation take its gradient by autograd). Used
// as a reward of a posterior task (`reward: {kind: torchscript}`) or as a sampler's target
// (`target: {kind: torchscript}`); either way there is no ground truth, so evaluation reports the
// estimates (ELBO, importance-weighted log Z) without errors against an exact value.
#pragma once

#include <filesystem>
#include <memory>

#include "core/config_section.h"
#include "target/target.h"

namespace tilt {

class TorchScriptFunction {
 public:
  // Loads `file` and checks that it maps [2, dim] to [2]; throws tilt::Error naming the file otherwise.
  TorchScriptFunction(const std::filesystem::path& file, int64_t dim);
  ~TorchScriptFunction();
  at::Tensor operator()(const at::Tensor& x) const;  // float64 [B]
  // Loads and checks `file` while a config is read: a failure is a config error naming `key`.
  static void check(const std::filesystem::path& file, int64_t dim, const std::string& key);

 private:
  struct Module;
  std::unique_ptr<Module> module_;
  std::filesystem::path file_;
};

struct TorchScriptTargetOptions {
  std::filesystem::path file;
  int dim = 2;
  static TorchScriptTargetOptions read(ConfigSection& section);
  void write(YAML::Node& out) const;
};

class TorchScriptTarget final : public Target {
 public:
  explicit TorchScriptTarget(const TorchScriptTargetOptions& options)
      : dim_(options.dim), log_reward_(options.file, options.dim) {}
  int64_t dim() const override { return dim_; }
  at::Tensor log_reward(const at::Tensor& x) const override;
  const GroundTruth* truth() const override { return nullptr; }

 private:
  int64_t dim_;
  TorchScriptFunction log_reward_;
};

int torchscript_target_dim(const YAML::Node& resolved);
std::unique_ptr<Target> make_torchscript_target(const YAML::Node& resolved);

}  // namespace tilt
