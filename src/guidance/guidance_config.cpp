#include "guidance/guidance_config.h"

#include <algorithm>
#include <map>

#include "core/config.h"
#include "core/config_section.h"
#include "core/error.h"
#include "data/image_set.h"
#include "dxmi/architecture_config.h"
#include "guidance/exact_mixture.h"

namespace tilt::guidance {
namespace {

const std::map<std::string, SamplerKind> kSamplers = {{"ode", SamplerKind::kProbabilityFlow},
                                                      {"sde", SamplerKind::kReverseSde}};

SamplingConfig parse_sampling(ConfigSection section) {
  SamplingConfig s;
  s.sampler =
      parse_choice(section.get<std::string>("sampler", "ode"), kSamplers, section.key_path("sampler"));
  s.samples = section.get("samples", s.samples);
  s.steps = section.get("steps", s.steps);
  s.t_max = section.get("t_max", s.t_max);
  s.t_min = section.get("t_min", s.t_min);
  s.scales = section.get("scales", s.scales);
  s.kept_samples = section.get("kept_samples", s.kept_samples);
  s.min_in_support = section.get("min_in_support", s.min_in_support);
  s.max_pullback = section.get("max_pullback", s.max_pullback);
  require_at_least(s.samples, int64_t{2}, section.key_path("samples"));
  require_at_least(s.steps, 1, section.key_path("steps"));
  require_positive(s.t_min, section.key_path("t_min"));
  if (!(s.t_max > s.t_min)) config_fail(section.key_path("t_max"), "must exceed t_min");
  if (s.scales.empty()) config_fail(section.key_path("scales"), "needs at least one guidance scale");
  for (size_t i = 0; i < s.scales.size(); ++i) {
    if (s.scales[i] < 0) config_fail(section.key_path("scales"), "guidance scales are >= 0");
    if (i > 0 && !(s.scales[i] > s.scales[i - 1]))
      config_fail(section.key_path("scales"), "must increase (the prescription scans them in order)");
  }
  require_at_least(s.kept_samples, int64_t{0}, section.key_path("kept_samples"));
  if (s.kept_samples > s.samples) config_fail(section.key_path("kept_samples"), "must be at most samples");
  require_in_range(s.min_in_support, 0.0, 1.0, section.key_path("min_in_support"));
  require_in_range(s.max_pullback, 0.0, 1.0, section.key_path("max_pullback"));
  section.finish();
  return s;
}

DenoiserConfig parse_learned(ConfigSection& model, ConfigSection training, bool images) {
  DenoiserConfig d;
  d.network = dxmi::read_architecture(model, d.network, images);
  d.label_dropout = model.get("label_dropout", d.label_dropout);
  if (!(d.label_dropout > 0 && d.label_dropout < 1))
    config_fail(model.key_path("label_dropout"),
                "must be in (0, 1): the null label must be trained and so must the classes");
  model.finish();
  d.iterations = training.get("iterations", d.iterations);
  d.batch = training.get("batch", d.batch);
  d.lr = training.get("lr", d.lr);
  d.log_every = training.get("log_every", d.log_every);
  d.checkpoint_every = training.get("checkpoint_every", d.checkpoint_every);
  require_at_least(d.iterations, 0, training.key_path("iterations"));
  // Iteration i draws from RNG iteration 2 + i.
  if (d.iterations > (1 << 30) - 2) config_fail(training.key_path("iterations"), "must be below 2^30 - 1");
  require_at_least(d.batch, int64_t{1}, training.key_path("batch"));
  require_positive(d.lr, training.key_path("lr"));
  require_at_least(d.log_every, 1, training.key_path("log_every"));
  require_at_least(d.checkpoint_every, 1, training.key_path("checkpoint_every"));
  training.finish();
  return d;
}

std::string sampler_name(SamplerKind kind) {
  for (const auto& [name, value] : kSamplers)
    if (value == kind) return name;
  return "";
}

}  // namespace

GuidanceConfig parse_guidance_config(const std::string& yaml_text,
                                     const std::vector<std::string>& overrides) {
  ConfigSection top(config_root(yaml_text, overrides), "");
  GuidanceConfig c;
  if (top.require<std::string>("method") != "guidance") config_fail("method", "must be guidance here");
  c.seed = top.get<uint64_t>("seed", c.seed);
  {
    ConfigSection data = top.section("data");
    c.images = data.get("images", c.images);
    c.guided_class = data.get("class", c.guided_class);
    if (!c.images.empty()) {
      if (data.has("mixture")) config_fail(data.key_path("mixture"), "give a mixture or images, not both");
      data::require_image_directory(c.images, data.key_path("images"));
      require_in_range(c.guided_class, 0, data::kMnistClasses - 1, data.key_path("class"));
      data.finish();
    } else {
      c.mixture = data.get("mixture", c.mixture);
      const std::vector<std::string>& names = ExactMixture::preset_names();
      if (std::find(names.begin(), names.end(), c.mixture) == names.end()) {
        std::string known;
        for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
        config_fail(data.key_path("mixture"), "unknown mixture '" + c.mixture + "' (choose " + known + ")");
      }
      const ExactMixture mixture = ExactMixture::preset(c.mixture);
      const auto& components = mixture.components();
      const bool has_class = std::any_of(components.begin(), components.end(), [&](const auto& component) {
        return component.label == c.guided_class;
      });
      if (!has_class) config_fail(data.key_path("class"), "no component of this mixture has that class");
      data.finish();
    }
  }
  {
    ConfigSection model = top.section("model");
    const std::string kind = model.get<std::string>("kind", "exact");
    if (kind == "learned") {
      c.learned = parse_learned(model, top.section("training"), !c.images.empty());
    } else if (kind == "exact") {
      if (!c.images.empty())
        config_fail(model.key_path("kind"), "images have no exact score: learn one (kind: learned)");
      c.score_error = model.get("score_error", c.score_error);
      require_in_range(c.score_error, 0.0, 1.0, model.key_path("score_error"));
      if (c.score_error > 0 && ExactMixture::preset(c.mixture).kind() != ExactMixture::Kind::kUniform)
        config_fail(model.key_path("score_error"), "applies to mixtures of uniforms (a support to leave)");
      model.finish();
      if (top.has("training")) config_fail("training", "only a learned model (model.kind: learned) trains");
    } else {
      config_fail(model.key_path("kind"), "unknown model '" + kind + "' (choose exact or learned)");
    }
  }
  c.sampling = parse_sampling(top.section("sampling"));
  top.finish();
  return c;
}

GuidanceConfig load_guidance_config(const std::filesystem::path& path,
                                    const std::vector<std::string>& overrides) {
  return parse_config_file(path,
                           [&](const std::string& text) { return parse_guidance_config(text, overrides); });
}

std::string to_yaml(const GuidanceConfig& c) {
  YAML::Node root;
  root["method"] = "guidance";
  root["seed"] = c.seed;
  if (c.images.empty())
    root["data"]["mixture"] = c.mixture;
  else
    root["data"]["images"] = c.images;
  root["data"]["class"] = c.guided_class;
  if (c.learned) {
    const DenoiserConfig& d = *c.learned;
    root["model"]["kind"] = "learned";
    dxmi::write_architecture(root["model"], d.network);
    root["model"]["label_dropout"] = yaml_number(d.label_dropout);
    root["training"]["iterations"] = d.iterations;
    root["training"]["batch"] = d.batch;
    root["training"]["lr"] = yaml_number(d.lr);
    root["training"]["log_every"] = d.log_every;
    root["training"]["checkpoint_every"] = d.checkpoint_every;
  } else {
    root["model"]["kind"] = "exact";
    root["model"]["score_error"] = yaml_number(c.score_error);
  }
  const SamplingConfig& s = c.sampling;
  root["sampling"]["sampler"] = sampler_name(s.sampler);
  root["sampling"]["samples"] = s.samples;
  root["sampling"]["steps"] = s.steps;
  root["sampling"]["t_max"] = yaml_number(s.t_max);
  root["sampling"]["t_min"] = yaml_number(s.t_min);
  root["sampling"]["scales"] = yaml_flow(s.scales);
  root["sampling"]["kept_samples"] = s.kept_samples;
  root["sampling"]["min_in_support"] = yaml_number(s.min_in_support);
  root["sampling"]["max_pullback"] = yaml_number(s.max_pullback);
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace tilt::guidance
