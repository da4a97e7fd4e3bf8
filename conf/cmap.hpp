// The flat cmap key set that corosync 3.1.7 builds from a configuration tree
// (exec/coroparse.c main_config_parser_cb), with the types corosync-cmapctl prints.
//
// Most keys are strings; the ones corosync stores typed (totem timers u32, mcastport u16,
// quorum flags u8, config_version u64, ...) are converted here, with corosync's refusal text
// for a value that is not a number in the type's range. Positional rules: the N-th node
// section becomes nodelist.node.N.*, an interface section becomes totem.interface.<linknumber>.*,
// a logger_subsys section becomes logging.logger_subsys.<subsys>.*.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "conf/diag.hpp"
#include "conf/tree.hpp"

namespace totem::conf {

enum class ValueType { U8, U16, U32, U64, I8, I16, I32, I64, Str };

const char* type_name(ValueType t);  // "u8", ..., "str" as corosync-cmapctl prints them

struct CmapValue {
    ValueType type = ValueType::Str;
    std::string str;      // the string, for Str
    std::uint64_t u = 0;  // unsigned types
    std::int64_t i = 0;   // signed types
    int line = 0;         // line of the item it came from; 0 = derived

    static CmapValue string(std::string s, int line = 0);
    static CmapValue uint(ValueType t, std::uint64_t v, int line = 0);
    static CmapValue sint(ValueType t, std::int64_t v, int line = 0);
    std::string text() const;  // the value as corosync-cmapctl prints it
};

// Keys in byte order, which is icmap's iteration order.
using Cmap = std::map<std::string, CmapValue>;

struct CmapBuild {
    Cmap keys;
    std::map<std::string, int>
        section_lines;  // "totem", "nodelist.node.2", "totem.interface.1", ...
};

// Resolves a user or group name for uidgid sections; returns -1 when unknown.
struct IdLookup {
    long (*uid)(const std::string&) = nullptr;
    long (*gid)(const std::string&) = nullptr;
};

Result<CmapBuild, Diag> build_cmap(const Section& root, const std::string& file,
                                   const IdLookup& ids = {});

// Adds the keys of one uidgid.d file (already parsed) to keys; corosync reads every regular file
// of <dir of corosync.conf>/uidgid.d after corosync.conf.
std::optional<Diag> add_uidgid_file(const Section& root, const std::string& file,
                                    const IdLookup& ids, Cmap& keys);

// `key (type) = value` lines, sorted, as `corosync-cmapctl` prints them.
std::string dump_cmap(const Cmap& keys);

// One line of corosync-cmapctl's listing (tools/corosync-cmapctl.c print_key): "key (type) =
// text\n", or "key (type)\n" without a text (a binary value listed without -b). The one place
// that writes this line; services/keystore formats the runtime types through it.
std::string cmapctl_line(std::string_view key, std::string_view type,
                         std::optional<std::string_view> text);

}  // namespace totem::conf
