// The YAML form of the configuration tree (yaml-cpp).
//
// The mapping (docs/config.md): the document is a map of sections; a map value is a section;
// a sequence of maps is a repeated section (nodelist.node, totem.interface,
// logging.logger_subsys, ...); a scalar is `key: value` with the scalar's text as written
// (so `yes`, `on`, `3000` stay the strings corosync sees); an empty value is "". A YAML file
// that says the same as a corosync.conf gives the identical tree, hence the identical keys.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "conf/diag.hpp"
#include "conf/tree.hpp"

namespace totem::conf {

Result<Section, Diag> parse_yaml(std::string_view text, const std::string& file);

// Sections whose name repeats within one parent, and the always-repeated ones (node,
// interface, logger_subsys, logging_daemon, member), become sequences.
Result<std::string, Diag> write_yaml(const Section& root, const std::string& file);

}  // namespace totem::conf
