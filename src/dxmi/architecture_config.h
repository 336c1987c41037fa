// The `network:` section of a config that trains the DxMI family's networks (dxmi/networks.h) —
// DxMI's and the multivariate diffusions' — read, validated and written back in one place:
//   architecture mlp    hidden, fourier_features, layers (2-D data); with critics also
//                       critic_fourier_features, critic_frequency_scale
//   architecture unet   channels (images; even: the sinusoidal time features' sine and cosine halves)
#pragma once

#include <yaml-cpp/yaml.h>

#include "core/config_section.h"
#include "dxmi/networks.h"

namespace tilt::dxmi {

// `defaults` gives the unset keys' values; `image_data` picks the architecture when unset (unet
// for images, mlp otherwise) and refuses the other one. The critic_* keys are read only where the
// networks include critics (`with_critics`: DxMI's value and energy); elsewhere they are unknown keys.
ArchitectureConfig read_architecture(ConfigSection& network, const ArchitectureConfig& defaults,
                                     bool image_data, bool with_critics = false);
void write_architecture(YAML::Node network, const ArchitectureConfig& architecture);

}  // namespace tilt::dxmi
