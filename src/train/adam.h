// Adam (Kingma & Ba) over named parameter groups, each with its own learning rate (the network and
// the scalar log Z). Its state is plain tensors so that checkpoints hold it exactly.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "model/parameters.h"

namespace tilt {

namespace io {
class H5File;
}

class Adam {
 public:
  using Group = ParameterGroup;
  explicit Adam(std::vector<Group> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);

  void zero_grad();
  // Uses each parameter's .grad (a parameter without one is left as is); every group's learning rate
  // is multiplied by lr_scale (a schedule's factor).
  void step(double lr_scale = 1.0);

  int64_t steps_taken() const { return steps_; }
  // First and second moments by parameter name ("<name>/m", "<name>/v") and the step count.
  std::vector<NamedTensor> state() const;
  void load_state(const std::vector<NamedTensor>& state, int64_t steps);
  // The same state as datasets under `group` of a checkpoint ("<group>/<name>/m", "<group>/steps").
  void save(io::H5File& file, const std::string& group) const;
  void load(const io::H5File& file, const std::string& group);
  std::vector<at::Tensor> parameters() const;

 private:
  struct Slot {
    NamedTensor parameter;
    at::Tensor m, v;
    double lr;
  };
  std::vector<Slot> slots_;
  double beta1_, beta2_, eps_;
  int64_t steps_ = 0;
};

}  // namespace tilt
