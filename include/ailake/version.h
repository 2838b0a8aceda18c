#pragma once

#include <string_view>

namespace ailake {

// Library version (semantic versioning).
std::string_view Version();

}  // namespace ailake
