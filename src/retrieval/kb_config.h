// KbConfig on disk (the `config` row of kb.sqlite's meta table) and its validation.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "deepfuse/knowledge_base.h"

namespace deepfuse::retrieval {

nlohmann::json config_to_json(const KbConfig& c);
// FormatError naming `where` when a value has the wrong type.
KbConfig config_from_json(const nlohmann::json& j, const std::string& where);
// InvalidArgument naming the setting and its accepted range. Does not load the embedder.
void validate_config(const KbConfig& c);

// A fresh hidden name beside `target` (".NAME.TAG-PID-N" in the same parent folder, so a rename
// into place stays on one file system and is atomic).
std::filesystem::path scratch_path(const std::filesystem::path& target, const std::string& tag);

}  // namespace deepfuse::retrieval
