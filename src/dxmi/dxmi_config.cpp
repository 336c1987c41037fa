#include "dxmi/dxmi_config.h"

#include <optional>

#include "core/config_section.h"
#include "core/error.h"
#include "data/data_sets.h"
#include "data/image_set.h"
#include "dxmi/architecture_config.h"

namespace tilt::dxmi {

DxmiConfig parse_dxmi_config(const std::string& yaml_text, const std::vector<std::string>& overrides) {
  ConfigSection top(config_root(yaml_text, overrides), "");
  DxmiConfig c;
  if (top.require<std::string>("method") != "dxmi") config_fail("method", "must be dxmi here");
  c.seed = top.get<uint64_t>("seed", c.seed);
  {
    ConfigSection data = top.section("data");
    c.data = data.get<std::string>("name", c.data);
    data::require_known_data_set(c.data, data.key_path("name"));
    if (c.is_image_data()) {
      c.data_path = data.get<std::string>("path", c.data_path);
      data::require_image_directory(c.data_path, data.key_path("path"));
      c.data_class = data.get("class", c.data_class);
      c.data_limit = data.get("limit", c.data_limit);
      if (c.data_class < -1 || c.data_class > 9)
        config_fail(data.key_path("class"), "must be -1 (every class) or a class 0..9");
      require_at_least(c.data_limit, int64_t{0}, data.key_path("limit"));
    }
    data.finish();
  }
  {
    ConfigSection sampler = top.section("sampler");
    c.steps = sampler.get("steps", c.steps);
    require_at_least(c.steps, 1, sampler.key_path("steps"));
    if (c.steps > 1000)
      config_fail(sampler.key_path("steps"), "must be at most 1000 (DDPM's training steps)");
    const std::string spacing = sampler.get<std::string>("spacing", to_string(c.spacing));
    const std::optional<TimeSpacing> parsed = parse_time_spacing(spacing);
    if (!parsed)
      config_fail(sampler.key_path("spacing"),
                  "unknown spacing '" + spacing + "' (choose uniform or quadratic)");
    c.spacing = *parsed;
    sampler.finish();
  }
  {
    ConfigSection network = top.section("network");
    c.network = read_architecture(network, c.network, c.is_image_data(), /*with_critics=*/true);
    network.finish();
  }
  {
    ConfigSection prior = top.section("prior");
    c.prior_iterations = prior.get("iterations", c.prior_iterations);
    c.prior_batch = prior.get("batch", c.prior_batch);
    c.prior_lr = prior.get("lr", c.prior_lr);
    c.prior_from = prior.get<std::string>("from", c.prior_from);
    require_at_least(c.prior_iterations, 0, prior.key_path("iterations"));
    if (!c.prior_from.empty() && c.prior_iterations != 0)
      config_fail(prior.key_path("iterations"),
                  "must be 0 when the prior comes from another run (prior.from)");
    require_at_least(c.prior_batch, 1, prior.key_path("batch"));
    require_positive(c.prior_lr, prior.key_path("lr"));
    prior.finish();
  }
  {
    ConfigSection d = top.section("dxmi");
    DxmiOptions& o = c.options;
    o.tau_entropy = d.get("tau_entropy", o.tau_entropy);
    o.tau_velocity = d.get("tau_velocity", o.tau_velocity);
    o.gamma = d.get("gamma", o.gamma);
    o.avr_decay = d.get("avr_decay", o.avr_decay);
    o.shared_value = d.get("shared_value", o.shared_value);
    o.costs_in_value = d.get("costs_in_value", o.costs_in_value);
    o.skip_sampler_tau = d.get("skip_sampler_tau", o.skip_sampler_tau);
    o.guidance_scale = d.get("guidance_scale", o.guidance_scale);
    o.energy_lr = d.get("energy_lr", o.energy_lr);
    o.value_lr = d.get("value_lr", o.value_lr);
    o.sampler_lr = d.get("sampler_lr", o.sampler_lr);
    o.sigma_lr = d.get("sigma_lr", o.sigma_lr);
    o.sampler_grad_clip = d.get("sampler_grad_clip", o.sampler_grad_clip);
    if (o.tau_entropy < 0) config_fail(d.key_path("tau_entropy"), "must be >= 0");
    if (o.tau_velocity < 0) config_fail(d.key_path("tau_velocity"), "must be >= 0");
    if (o.gamma < 0) config_fail(d.key_path("gamma"), "must be >= 0");
    require_in_range(o.avr_decay, 0, 1, d.key_path("avr_decay"));
    if (o.skip_sampler_tau < 0 || o.skip_sampler_tau > c.steps)
      config_fail(d.key_path("skip_sampler_tau"),
                  "must be in 0..sampler.steps (" + std::to_string(c.steps) + ")");
    for (const auto& [value, key] : {std::pair{o.energy_lr, "energy_lr"},
                                     {o.value_lr, "value_lr"},
                                     {o.sampler_lr, "sampler_lr"},
                                     {o.sigma_lr, "sigma_lr"}})
      require_positive(value, d.key_path(key));
    if (o.sampler_grad_clip < 0)
      config_fail(d.key_path("sampler_grad_clip"), "must be >= 0 (0: no clipping)");
    d.finish();
  }
  {
    ConfigSection train = top.section("train");
    c.iterations = train.get("iterations", c.iterations);
    c.batch = train.get("batch", c.batch);
    c.log_every = train.get("log_every", c.log_every);
    c.checkpoint_every = train.get("checkpoint_every", c.checkpoint_every);
    require_at_least(c.iterations, 0, train.key_path("iterations"));
    require_at_least(c.batch, 1, train.key_path("batch"));
    require_at_least(c.log_every, 1, train.key_path("log_every"));
    require_at_least(c.checkpoint_every, 1, train.key_path("checkpoint_every"));
    if (c.options.guidance_scale != 0 && c.iterations == 0)
      config_fail("dxmi.guidance_scale",
                  "guides DxMI's rollouts: a prior-only run (train.iterations = 0) has none");
    train.finish();
  }
  {
    ConfigSection eval = top.section("eval");
    c.eval.samples = eval.get("samples", c.eval.samples);
    require_at_least(c.eval.samples, 2, eval.key_path("samples"));
    c.eval.guidance_scale = eval.get("guidance_scale", c.eval.guidance_scale);
    if (c.eval.guidance_scale != 0 && c.iterations == 0)
      config_fail(eval.key_path("guidance_scale"),
                  "guides by the trained value: a prior-only run (train.iterations = 0) has none");
    if (c.is_image_data()) {
      c.eval.classifier = eval.get<std::string>("classifier", c.eval.classifier);
      c.eval.classifier_epochs = eval.get("classifier_epochs", c.eval.classifier_epochs);
      c.eval.reference_steps = eval.get("reference_steps", c.eval.reference_steps);
      if (c.eval.classifier.empty())
        config_fail(eval.key_path("classifier"), "must name the classifier's file");
      require_at_least(c.eval.classifier_epochs, 1, eval.key_path("classifier_epochs"));
      require_at_least(c.eval.reference_steps, 1, eval.key_path("reference_steps"));
      if (c.eval.reference_steps > 1000)
        config_fail(eval.key_path("reference_steps"), "must be at most 1000 (DDPM's training steps)");
    }
    eval.finish();
  }
  top.finish();
  return c;
}

DxmiConfig load_dxmi_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  return parse_config_file(path, [&](const std::string& text) { return parse_dxmi_config(text, overrides); });
}

std::string to_yaml(const DxmiConfig& c) {
  YAML::Node root;
  root["method"] = "dxmi";
  root["seed"] = c.seed;
  root["data"]["name"] = c.data;
  if (c.is_image_data()) {
    root["data"]["path"] = c.data_path;
    root["data"]["class"] = c.data_class;
    root["data"]["limit"] = c.data_limit;
  }
  root["sampler"]["steps"] = c.steps;
  root["sampler"]["spacing"] = to_string(c.spacing);
  write_architecture(root["network"], c.network);
  root["prior"]["iterations"] = c.prior_iterations;
  root["prior"]["batch"] = c.prior_batch;
  root["prior"]["lr"] = yaml_number(c.prior_lr);
  root["prior"]["from"] = c.prior_from;
  const DxmiOptions& o = c.options;
  YAML::Node d = root["dxmi"];
  d["tau_entropy"] = yaml_number(o.tau_entropy);
  d["tau_velocity"] = yaml_number(o.tau_velocity);
  d["gamma"] = yaml_number(o.gamma);
  d["avr_decay"] = yaml_number(o.avr_decay);
  d["shared_value"] = o.shared_value;
  d["costs_in_value"] = o.costs_in_value;
  d["skip_sampler_tau"] = o.skip_sampler_tau;
  d["guidance_scale"] = yaml_number(o.guidance_scale);
  d["energy_lr"] = yaml_number(o.energy_lr);
  d["value_lr"] = yaml_number(o.value_lr);
  d["sampler_lr"] = yaml_number(o.sampler_lr);
  d["sigma_lr"] = yaml_number(o.sigma_lr);
  d["sampler_grad_clip"] = yaml_number(o.sampler_grad_clip);
  root["train"]["iterations"] = c.iterations;
  root["train"]["batch"] = c.batch;
  root["train"]["log_every"] = c.log_every;
  root["train"]["checkpoint_every"] = c.checkpoint_every;
  root["eval"]["samples"] = c.eval.samples;
  root["eval"]["guidance_scale"] = yaml_number(c.eval.guidance_scale);
  if (c.is_image_data()) {
    root["eval"]["classifier"] = c.eval.classifier;
    root["eval"]["classifier_epochs"] = c.eval.classifier_epochs;
    root["eval"]["reference_steps"] = c.eval.reference_steps;
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace tilt::dxmi
