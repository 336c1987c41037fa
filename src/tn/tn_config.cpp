#include "tn/tn_config.h"

#include <algorithm>
#include <cmath>

#include "core/config.h"
#include "core/config_section.h"
#include "core/error.h"

namespace tilt::tn {
namespace {

// Noise times: positive and distinct.
void require_noise_times(const std::vector<double>& times, const std::string& key) {
  for (size_t i = 0; i < times.size(); ++i) {
    require_positive(times[i], key);
    for (size_t j = 0; j < i; ++j)
      if (times[j] == times[i]) config_fail(key, "values must differ");
  }
}

FredkinStudy parse_fredkin(ConfigSection& model, ConfigSection denoising) {
  FredkinStudy f;
  f.sites = model.get("sites", f.sites);
  f.c = model.get("c", f.c);
  if (f.sites < 2 || f.sites % 2 != 0 || f.sites > 512)
    config_fail(model.key_path("sites"), "must be even, 2..512 (dense tensors: O(N^3) memory)");
  if (!(f.c > 0 && f.c < 1)) config_fail(model.key_path("c"), "must be in (0, 1)");
  const double q = f.c / (1 - f.c);
  if (q > 1 && f.sites / 4.0 * std::log(q) > 700)
    config_fail(model.key_path("sites"), "too many for this c: the MPS entries q^(N/4) overflow a double");
  model.finish();
  f.samples = denoising.get("samples", f.samples);
  f.noise_times = denoising.get("noise_times", f.noise_times);
  f.reverse_steps = denoising.get("reverse_steps", f.reverse_steps);
  require_at_least(f.samples, int64_t{2}, denoising.key_path("samples"));
  require_at_least(f.reverse_steps, 1, denoising.key_path("reverse_steps"));
  require_noise_times(f.noise_times, denoising.key_path("noise_times"));
  denoising.finish();
  return f;
}

}  // namespace

TnConfig parse_tn_config(const std::string& yaml_text, const std::vector<std::string>& overrides) {
  ConfigSection top(config_root(yaml_text, overrides), "");
  TnConfig c;
  if (top.require<std::string>("method") != "tn") config_fail("method", "must be tn here");
  c.seed = top.get<uint64_t>("seed", c.seed);
  ConfigSection model = top.section("model");
  const std::string kind = model.get<std::string>("kind", "ising");
  if (kind == "fredkin") {
    c.fredkin = parse_fredkin(model, top.section("denoising"));
    top.finish();
    return c;
  }
  if (kind != "ising")
    config_fail(model.key_path("kind"), "unknown model '" + kind + "' (choose ising or fredkin)");
  c.lattice.lx = model.get("lx", c.lattice.lx);
  c.lattice.ly = model.get("ly", c.lattice.ly);
  c.lattice.beta = model.get("beta", c.lattice.beta);
  require_at_least(c.lattice.lx, 1, model.key_path("lx"));
  require_at_least(c.lattice.ly, 4, model.key_path("ly"));
  if (c.lattice.ly % 2 != 0)
    config_fail(model.key_path("ly"), "must be even (the checkerboard around the cylinder)");
  if (c.lattice.sites() > 4096) config_fail(model.key_path("lx"), "lx * ly must be at most 4096");
  require_positive(c.lattice.beta, model.key_path("beta"));
  model.finish();
  {
    ConfigSection mps = top.section("mps");
    c.bond = mps.get("bond", c.bond);
    c.iterations = mps.get("iterations", c.iterations);
    c.batch = mps.get("batch", c.batch);
    c.lr = mps.get("lr", c.lr);
    c.lr_final_fraction = mps.get("lr_final_fraction", c.lr_final_fraction);
    c.training_chains = mps.get("training_chains", c.training_chains);
    c.burn_in_sweeps = mps.get("burn_in_sweeps", c.burn_in_sweeps);
    c.log_every = mps.get("log_every", c.log_every);
    c.checkpoint_every = mps.get("checkpoint_every", c.checkpoint_every);
    require_at_least(c.bond, int64_t{1}, mps.key_path("bond"));
    require_at_least(c.iterations, 0, mps.key_path("iterations"));
    require_at_least(c.batch, int64_t{1}, mps.key_path("batch"));
    require_positive(c.lr, mps.key_path("lr"));
    if (!(c.lr_final_fraction > 0 && c.lr_final_fraction <= 1))
      config_fail(mps.key_path("lr_final_fraction"), "must be in (0, 1]");
    require_at_least(c.training_chains, c.batch, mps.key_path("training_chains"));
    require_at_least(c.burn_in_sweeps, 0, mps.key_path("burn_in_sweeps"));
    require_at_least(c.log_every, 1, mps.key_path("log_every"));
    require_at_least(c.checkpoint_every, 1, mps.key_path("checkpoint_every"));
    mps.finish();
  }
  {
    ConfigSection chains = top.section("chains");
    c.chains = chains.get("count", c.chains);
    c.chain_burn_in = chains.get("burn_in", c.chain_burn_in);
    c.chain_steps = chains.get("steps", c.chain_steps);
    c.noise_times = chains.get("noise_times", c.noise_times);
    require_at_least(c.chains, int64_t{1}, chains.key_path("count"));
    require_at_least(c.chain_burn_in, 0, chains.key_path("burn_in"));
    require_at_least(c.chain_steps, 2, chains.key_path("steps"));
    if (c.chains > c.training_chains)
      config_fail(chains.key_path("count"),
                  "must be at most mps.training_chains (the chains start from its states)");
    // Each scheme's chains own 2^20 draws (train_tn.cpp).
    if (c.chain_burn_in + static_cast<int64_t>(c.chain_steps) > (int64_t{1} << 20))
      config_fail(chains.key_path("steps"), "burn_in + steps must be at most 1048576");
    require_noise_times(c.noise_times, chains.key_path("noise_times"));
    chains.finish();
  }
  top.finish();
  return c;
}

double TnConfig::lr_scale(int iteration) const {
  const double progress =
      iterations > 1 ? std::min(1.0, static_cast<double>(iteration) / (iterations - 1)) : 0.0;
  return 1.0 - progress * (1.0 - lr_final_fraction);
}

TnConfig load_tn_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  return parse_config_file(path, [&](const std::string& text) { return parse_tn_config(text, overrides); });
}

std::string to_yaml(const TnConfig& c) {
  YAML::Node root;
  root["method"] = "tn";
  root["seed"] = c.seed;
  if (c.fredkin) {
    const FredkinStudy& f = *c.fredkin;
    root["model"]["kind"] = "fredkin";
    root["model"]["sites"] = f.sites;
    root["model"]["c"] = yaml_number(f.c);
    root["denoising"]["samples"] = f.samples;
    YAML::Node times = root["denoising"]["noise_times"];
    for (double t : f.noise_times) times.push_back(yaml_number(t));
    root["denoising"]["reverse_steps"] = f.reverse_steps;
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str()) + "\n";
  }
  root["model"]["kind"] = "ising";
  root["model"]["lx"] = c.lattice.lx;
  root["model"]["ly"] = c.lattice.ly;
  root["model"]["beta"] = yaml_number(c.lattice.beta);
  root["mps"]["bond"] = c.bond;
  root["mps"]["iterations"] = c.iterations;
  root["mps"]["batch"] = c.batch;
  root["mps"]["lr"] = yaml_number(c.lr);
  root["mps"]["lr_final_fraction"] = yaml_number(c.lr_final_fraction);
  root["mps"]["training_chains"] = c.training_chains;
  root["mps"]["burn_in_sweeps"] = c.burn_in_sweeps;
  root["mps"]["log_every"] = c.log_every;
  root["mps"]["checkpoint_every"] = c.checkpoint_every;
  root["chains"]["count"] = c.chains;
  root["chains"]["burn_in"] = c.chain_burn_in;
  root["chains"]["steps"] = c.chain_steps;
  YAML::Node times = root["chains"]["noise_times"];
  for (double t : c.noise_times) times.push_back(yaml_number(t));
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace tilt::tn
