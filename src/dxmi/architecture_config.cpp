#include "dxmi/architecture_config.h"

namespace tilt::dxmi {

ArchitectureConfig read_architecture(ConfigSection& network, const ArchitectureConfig& defaults,
                                     bool image_data, bool with_critics) {
  ArchitectureConfig a = defaults;
  a.kind = network.get<std::string>("architecture", image_data ? "unet" : "mlp");
  if (a.kind == "mlp") {
    a.mlp.hidden = network.get("hidden", a.mlp.hidden);
    a.mlp.fourier_features = network.get("fourier_features", a.mlp.fourier_features);
    a.mlp.layers = network.get("layers", a.mlp.layers);
    require_at_least(a.mlp.hidden, 1, network.key_path("hidden"));
    require_at_least(a.mlp.fourier_features, 1, network.key_path("fourier_features"));
    require_at_least(a.mlp.layers, 0, network.key_path("layers"));
    if (with_critics) {
      CriticFeatures& features = a.critic_features;
      features.count = network.get("critic_fourier_features", features.count);
      features.scale = network.get("critic_frequency_scale", features.scale);
      require_at_least(features.count, 0, network.key_path("critic_fourier_features"));
      if (!(features.scale > 0)) config_fail(network.key_path("critic_frequency_scale"), "must be > 0");
    }
  } else if (a.kind == "unet") {
    a.channels = network.get("channels", a.channels);
    require_at_least(a.channels, 2, network.key_path("channels"));
    if (a.channels % 2 != 0) config_fail(network.key_path("channels"), "must be even");
  } else {
    config_fail(network.key_path("architecture"),
                "unknown architecture '" + a.kind + "' (choose mlp or unet)");
  }
  if (image_data != (a.kind == "unet"))
    config_fail(network.key_path("architecture"),
                image_data ? "images need architecture unet" : "2-D data need architecture mlp");
  return a;
}

void write_architecture(YAML::Node network, const ArchitectureConfig& a) {
  network["architecture"] = a.kind;
  if (a.kind == "mlp") {
    network["hidden"] = a.mlp.hidden;
    network["fourier_features"] = a.mlp.fourier_features;
    network["layers"] = a.mlp.layers;
    if (a.critic_features.count > 0) {
      network["critic_fourier_features"] = a.critic_features.count;
      network["critic_frequency_scale"] = a.critic_features.scale;
    }
  } else {
    network["channels"] = a.channels;
  }
}

}  // namespace tilt::dxmi
