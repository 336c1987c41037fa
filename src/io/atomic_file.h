// Atomic file replacement: readers (and a job restarted after a crash or a full disk) see either the
// old file or the complete new one, never a torn one. Every file tilt writes goes through here.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace tilt::io {

// Calls `fill(temp)` to write the new content to a temporary file beside `path`, flushes it to
// disk, then renames it over `path`. On any failure the temporary file is removed, `path` keeps its
// previous content, and tilt::Error names the file and the system's reason (e.g. "No space left on
// device").
void replace_atomically(const std::filesystem::path& path,
                        const std::function<void(const std::filesystem::path& temp)>& fill);

// The common case: `text` becomes the whole content of `path`, atomically.
void write_text_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace tilt::io
