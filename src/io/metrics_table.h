// Metrics over training: one row per logged step, written as CSV and HDF5.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tilt::io {

class H5File;

struct MetricsTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;  // each row has columns.size() values

  // A row by column name, in any order; every column must be named exactly once.
  void append(const std::vector<std::pair<std::string, double>>& named);
  // Keeps the rows whose first column (the step) is <= step: a resumed run drops what came after
  // its checkpoint.
  void truncate_after(double step);
  void write_csv(const std::filesystem::path& path) const;  // atomic (temp file + rename)
  // Stored as dataset `group`/values (rows x columns, float64) with string `group`/columns
  // (comma-separated column names).
  void write_h5(H5File& file, const std::string& group) const;
  static MetricsTable read_h5(const H5File& file, const std::string& group);
};

}  // namespace tilt::io
