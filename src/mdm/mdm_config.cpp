#include "mdm/mdm_config.h"

#include "core/config_section.h"
#include "core/error.h"
#include "data/data_sets.h"
#include "data/image_set.h"
#include "dxmi/architecture_config.h"

namespace tilt::mdm {

MdmConfig parse_mdm_config(const std::string& yaml_text, const std::vector<std::string>& overrides) {
  ConfigSection top(config_root(yaml_text, overrides), "");
  MdmConfig c;
  if (top.require<std::string>("method") != "mdm") config_fail("method", "must be mdm here");
  c.seed = top.get<uint64_t>("seed", c.seed);
  {
    ConfigSection data = top.section("data");
    c.data = data.get<std::string>("name", c.data);
    data::require_known_data_set(c.data, data.key_path("name"));
    if (c.is_image_data()) {
      c.data_path = data.get<std::string>("path", c.data_path);
      data::require_image_directory(c.data_path, data.key_path("path"));
      c.data_limit = data.get("limit", c.data_limit);
      require_at_least(c.data_limit, int64_t{0}, data.key_path("limit"));
    }
    data.finish();
  }
  {
    ConfigSection process = top.section("process");
    ProcessConfig& p = c.options.process;
    p.kind = process.get<std::string>("kind", p.kind);
    if (p.kind != "vpsde" && p.kind != "cld" && p.kind != "alda" && p.kind != "malda" && p.kind != "learned")
      config_fail(process.key_path("kind"),
                  "unknown process '" + p.kind + "' (choose vpsde, cld, alda, malda or learned)");
    if (p.kind == "learned") {
      p.variables = process.get("variables", p.variables);
      p.full_dissipation = process.get("full_dissipation", p.full_dissipation);
      require_at_least(p.variables, 1, process.key_path("variables"));
    }
    p.aux_variance = process.get("aux_variance", p.aux_variance);
    p.schedule.beta0 = process.get("beta0", p.schedule.beta0);
    p.schedule.beta1 = process.get("beta1", p.schedule.beta1);
    c.options.t_min = process.get("t_min", c.options.t_min);
    require_positive(p.aux_variance, process.key_path("aux_variance"));
    require_positive(p.schedule.beta0, process.key_path("beta0"));
    if (p.schedule.beta1 < p.schedule.beta0) config_fail(process.key_path("beta1"), "must be >= beta0");
    if (!(c.options.t_min > 0 && c.options.t_min < 1))
      config_fail(process.key_path("t_min"), "must be in (0, 1)");
    process.finish();
  }
  {
    ConfigSection network = top.section("network");
    c.options.network = read_architecture(network, c.options.network, c.is_image_data());
    network.finish();
  }
  {
    ConfigSection train = top.section("train");
    c.iterations = train.get("iterations", c.iterations);
    c.batch = train.get("batch", c.batch);
    c.options.lr = train.get("lr", c.options.lr);
    c.options.grad_clip = train.get("grad_clip", c.options.grad_clip);
    c.log_every = train.get("log_every", c.log_every);
    c.checkpoint_every = train.get("checkpoint_every", c.checkpoint_every);
    require_at_least(c.iterations, 0, train.key_path("iterations"));
    require_at_least(c.batch, 1, train.key_path("batch"));
    require_positive(c.options.lr, train.key_path("lr"));
    if (c.options.grad_clip < 0) config_fail(train.key_path("grad_clip"), "must be >= 0 (0: no clipping)");
    require_at_least(c.log_every, 1, train.key_path("log_every"));
    require_at_least(c.checkpoint_every, 1, train.key_path("checkpoint_every"));
    train.finish();
  }
  {
    ConfigSection eval = top.section("eval");
    c.eval_examples = eval.get("examples", c.eval_examples);
    c.eval_samples = eval.get("samples", c.eval_samples);
    c.sampler_steps = eval.get("sampler_steps", c.sampler_steps);
    require_at_least(c.eval_examples, c.is_image_data() ? 0 : 2, eval.key_path("examples"));
    if (c.eval_examples == 1) config_fail(eval.key_path("examples"), "must be 0 (images: all) or at least 2");
    require_at_least(c.eval_samples, 2, eval.key_path("samples"));
    require_at_least(c.sampler_steps, 1, eval.key_path("sampler_steps"));
    eval.finish();
  }
  top.finish();
  return c;
}

MdmConfig load_mdm_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  return parse_config_file(path, [&](const std::string& text) { return parse_mdm_config(text, overrides); });
}

std::string to_yaml(const MdmConfig& c) {
  YAML::Node root;
  root["method"] = "mdm";
  root["seed"] = c.seed;
  root["data"]["name"] = c.data;
  if (c.is_image_data()) {
    root["data"]["path"] = c.data_path;
    root["data"]["limit"] = c.data_limit;
  }
  const ProcessConfig& p = c.options.process;
  YAML::Node process = root["process"];
  process["kind"] = p.kind;
  if (p.kind == "learned") {
    process["variables"] = p.variables;
    process["full_dissipation"] = p.full_dissipation;
  }
  process["aux_variance"] = yaml_number(p.aux_variance);
  process["beta0"] = yaml_number(p.schedule.beta0);
  process["beta1"] = yaml_number(p.schedule.beta1);
  process["t_min"] = yaml_number(c.options.t_min);
  dxmi::write_architecture(root["network"], c.options.network);
  root["train"]["iterations"] = c.iterations;
  root["train"]["batch"] = c.batch;
  root["train"]["lr"] = yaml_number(c.options.lr);
  root["train"]["grad_clip"] = yaml_number(c.options.grad_clip);
  root["train"]["log_every"] = c.log_every;
  root["train"]["checkpoint_every"] = c.checkpoint_every;
  root["eval"]["examples"] = c.eval_examples;
  root["eval"]["samples"] = c.eval_samples;
  root["eval"]["sampler_steps"] = c.sampler_steps;
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace tilt::mdm
