#include "ailake/version.h"

#include "ailake/core/version_config.h"

namespace ailake {

std::string_view Version() { return AILAKE_VERSION_STRING; }

}  // namespace ailake
