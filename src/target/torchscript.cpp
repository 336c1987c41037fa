#include "target/torchscript.h"

#include <torch/script.h>
#include <torch/torch.h>

#include "core/error.h"

namespace tilt {

struct TorchScriptFunction::Module {
  mutable torch::jit::Module module;
};

TorchScriptFunction::TorchScriptFunction(const std::filesystem::path& file, int64_t dim)
    : module_(std::make_unique<Module>()), file_(file) {
  try {
    module_->module = torch::jit::load(file.string());
    module_->module.eval();
  } catch (const std::exception& e) {
    throw Error("TorchScript reward '" + file.string() + "': cannot load it (" +
                std::string(e.what()).substr(0, std::string(e.what()).find('\n')) + ")");
  }
  const at::Tensor probe = (*this)(torch::zeros({2, dim}, torch::kFloat64));
  if (probe.sizes() != at::IntArrayRef{2})
    throw Error("TorchScript reward '" + file.string() + "': maps [2, " + std::to_string(dim) +
                "] to a tensor of shape " + std::to_string(probe.dim()) +
                "-d, expected [2] (one log R per row)");
}

TorchScriptFunction::~TorchScriptFunction() = default;

void TorchScriptFunction::check(const std::filesystem::path& file, int64_t dim, const std::string& key) {
  try {
    TorchScriptFunction(file, dim);
  } catch (const Error& e) {
    config_fail(key, e.what());
  }
}

at::Tensor TorchScriptFunction::operator()(const at::Tensor& x) const {
  c10::IValue out;
  try {
    out = module_->module.forward({x.to(torch::kFloat64)});
  } catch (const std::exception& e) {
    throw Error("TorchScript reward '" + file_.string() +
                "' failed: " + std::string(e.what()).substr(0, std::string(e.what()).find('\n')));
  }
  if (!out.isTensor()) throw Error("TorchScript reward '" + file_.string() + "' did not return a tensor");
  return out.toTensor().to(torch::kFloat64);
}

TorchScriptTargetOptions TorchScriptTargetOptions::read(ConfigSection& section) {
  TorchScriptTargetOptions o;
  o.file = section.require_existing_path("file");
  o.dim = section.require<int>("dim");
  require_at_least(o.dim, 1, section.key_path("dim"));
  TorchScriptFunction::check(o.file, o.dim, section.key_path("file"));  // now, before any run directory
  return o;
}

void TorchScriptTargetOptions::write(YAML::Node& out) const {
  out["file"] = std::filesystem::absolute(file).string();
  out["dim"] = dim;
}

at::Tensor TorchScriptTarget::log_reward(const at::Tensor& x) const {
  return log_reward_(x).to(torch::kFloat32);
}

int torchscript_target_dim(const YAML::Node& resolved) { return resolved["dim"].as<int>(); }

std::unique_ptr<Target> make_torchscript_target(const YAML::Node& resolved) {
  return std::make_unique<TorchScriptTarget>(read_options<TorchScriptTargetOptions>(resolved, "target"));
}

}  // namespace tilt
