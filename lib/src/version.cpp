#include "totem/client/version.hpp"

namespace totem::client {
const char* version() noexcept {
    return TOTEM_CLIENT_VERSION;
}
}  // namespace totem::client
