// The `network:` section of a config that trains the DxMI family's networks (dxmi/networks.h) —
// DxMI's and the multivariate diffusions' — read, validated and written back in one place:
//   architecture mlp    hidden, fourier_features, layers, critic_fourier_features,
//                       critic_frequency_scale (2-D data)
//   architecture unet   channels (images; even: the sinusoidal time features' sine and cosine halves)
#pragma once

#include <yaml-cpp/yaml.h>

#include "core/config_section.h"
#include "dxmi/networks.h"

namespace tilt::dxmi {

// `defaults` gives the unset keys' values; `image_data` picks the architecture when unset (unet
// for images, mlp otherwise) and refuses the other one.
ArchitectureConfig read_architecture(ConfigSection& network, const ArchitectureConfig& defaults,
                                     bool image_data);
void write_architecture(YAML::Node network, const ArchitectureConfig& architecture);

}  // namespace tilt::dxmi
