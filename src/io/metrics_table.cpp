#include "io/metrics_table.h"

#include <torch/torch.h>

#include <algorithm>
#include <charconv>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"

namespace tilt::io {
namespace {

// The fewest significant digits from 9 up that read back as the same double: 9 keeps steps below 1e9
// in plain notation and most metrics short, 17 round-trips any double. to_chars, unlike printf,
// ignores the locale, so the decimal point is always '.'.
std::string format_number(double value) {
  char buffer[32];
  for (int precision = 9;; ++precision) {
    char* end =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, precision).ptr;
    double parsed = 0;
    std::from_chars(buffer, end, parsed);
    if (parsed == value || precision == 17) return std::string(buffer, end);
  }
}

// Both formats store the column names joined by commas and need every row to fill the columns;
// `destination` names the file for the error message.
std::string checked_header(const MetricsTable& table, const std::string& destination) {
  std::string header;
  for (const std::string& column : table.columns) {
    // A comma would split the name on reading, and a quote or line break would need CSV quoting.
    if (column.empty() || column.find_first_of(",\"\r\n") != std::string::npos) {
      throw Error("metrics for " + destination + ": column name '" + column +
                  "' is empty or contains a comma, quote or line break");
    }
    if (!header.empty()) header += ',';
    header += column;
  }
  for (size_t i = 0; i < table.rows.size(); ++i) {
    if (table.rows[i].size() != table.columns.size()) {
      throw Error("metrics for " + destination + ": row " + std::to_string(i) + " has " +
                  std::to_string(table.rows[i].size()) + " values for " +
                  std::to_string(table.columns.size()) + " columns");
    }
  }
  return header;
}

}  // namespace

void MetricsTable::append(const std::vector<std::pair<std::string, double>>& named) {
  std::vector<double> row;
  row.reserve(columns.size());
  for (const std::string& column : columns) {
    const auto found = std::find_if(named.begin(), named.end(), [&](const auto& entry) { return entry.first == column; });
    if (found == named.end()) throw Error("metrics row has no value for column '" + column + "'");
    row.push_back(found->second);
  }
  if (named.size() != columns.size())
    throw Error("metrics row names " + std::to_string(named.size()) + " values for " +
                std::to_string(columns.size()) + " columns (a name is repeated or unknown)");
  rows.push_back(std::move(row));
}

void MetricsTable::truncate_after(double step) {
  // A table without columns has no step to compare, so its (empty) rows stay.
  rows.erase(
      std::remove_if(rows.begin(), rows.end(),
                     [step](const std::vector<double>& row) { return !row.empty() && row.front() > step; }),
      rows.end());
}

void MetricsTable::write_csv(const std::filesystem::path& path) const {
  std::string text = checked_header(*this, path.string()) + '\n';
  for (const std::vector<double>& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) text += ',';
      text += format_number(row[i]);
    }
    text += '\n';
  }
  write_text_atomically(path, text);
}

void MetricsTable::write_h5(H5File& file, const std::string& group) const {
  const std::string header = checked_header(*this, file.path().string() + " " + group);
  at::Tensor values = torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(columns.size())},
                                   torch::kFloat64);
  double* out = values.data_ptr<double>();
  for (const std::vector<double>& row : rows) out = std::copy(row.begin(), row.end(), out);
  file.write(group + "/values", values);
  file.write_string(group + "/columns", header);
}

MetricsTable MetricsTable::read_h5(const H5File& file, const std::string& group) {
  MetricsTable table;
  const std::string header = file.read_string(group + "/columns");
  for (size_t begin = 0; !header.empty();) {
    const size_t end = header.find(',', begin);
    table.columns.push_back(header.substr(begin, end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  const at::Tensor values = file.read(group + "/values");
  const auto width = static_cast<int64_t>(table.columns.size());
  if (values.scalar_type() != at::kDouble || values.dim() != 2 || values.size(1) != width) {
    throw Error("HDF5 file " + file.path().string() + ": '" + group +
                "/values' is not a float64 matrix with one column per name in '" + group + "/columns'");
  }
  const double* data = values.data_ptr<double>();
  for (int64_t r = 0; r < values.size(0); ++r) {
    table.rows.emplace_back(data + r * width, data + (r + 1) * width);
  }
  return table;
}

}  // namespace tilt::io
