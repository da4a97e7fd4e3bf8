// One entry point from a file on disk to a checked Config: read, parse (corosync.conf or YAML
// by the file name's ending), build the cmap keys, derive and validate.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "conf/config.hpp"
#include "conf/diag.hpp"
#include "conf/tree.hpp"

namespace totem::conf {

enum class Format { Conf, Yaml };

// .yaml / .yml are YAML; everything else is corosync.conf.
Format format_for(const std::string& path);

struct LoadOptions {
    DeriveOptions derive;
    std::optional<HostEnv> host;  // default: system_host()
    // The uidgid.d directory whose regular files add uidgid sections after the main file.
    // load_file defaults it to <directory of the file>/uidgid.d, as corosync does; load_text
    // reads none unless it is given. "" reads none.
    std::optional<std::string> uidgid_dir;
};

struct Loaded {
    Config config;
    std::vector<Diag> warnings;
};

// The parse stage alone (for totem-confconv).
Result<Section, Diag> parse_text(std::string_view text, const std::string& file, Format f);
Result<Section, Diag> parse_file(const std::string& path);

Result<Loaded, Diag> load_text(std::string_view text, const std::string& file, Format f,
                               const LoadOptions& opts = {});
Result<Loaded, Diag> load_file(const std::string& path, const LoadOptions& opts = {});

}  // namespace totem::conf
