// The training loops a config file selects by its top-level `method`, registered in one place:
//   (none)  a sampler job (train/trainer.h: the RTB and trajectory-balance family)
//   dxmi    DxMI / DxDP (dxmi/train_dxmi.h)
//   guidance  what guidance does, exact scores (guidance/train_guidance.h)
//   mdm     multivariate diffusions (mdm/train_mdm.h)
//   tn      tensor-network Monte Carlo (tn/train_tn.h)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "train/trainer.h"

namespace tilt {

// Loads and validates a config file of any method without running it (sweep rows, shipped configs).
void validate_config_file(const std::filesystem::path& path, const std::vector<std::string>& overrides = {});
// Trains the config file's method.
TrainResult train_config_file(const std::filesystem::path& path, const std::vector<std::string>& overrides,
                              const TrainOptions& options, Communicator& comm);

}  // namespace tilt
