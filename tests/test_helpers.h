// Helpers shared by the GoogleTest suites.
#pragma once

#include <functional>
#include <string>

#include "core/error.h"

namespace tilt::test_support {

// The message of the tilt::Error that `action` throws, or "(no error)".
inline std::string error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace tilt::test_support
