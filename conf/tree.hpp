// The configuration tree: what corosync.conf and the YAML form both say, before any meaning
// is given to it.
//
// A Section holds, in file order, its items: `key: value` lines and nested sections (repeated
// ones such as node, interface and logger_subsys simply appear several times). Every item
// keeps its line. The corosync.conf reader follows corosync 3.1.7's exec/coroparse.c
// (parse_section) line by line, with its leniencies (a `{` anywhere opens a section, the first
// `:` splits key from value, values keep inner spaces) and its refusals, word for word.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "conf/diag.hpp"

namespace totem::conf {

struct Section {
    struct Item {
        std::string key;    // the key, or the name of the nested section
        std::string value;  // empty for a section
        int line = 0;
        int child = -1;  // index into children when this item is a section
    };

    std::string name;  // empty for the root
    int line = 0;      // line of the opening `name {`
    int end_line = 0;  // line of the closing `}` (corosync reports section-end refusals there)
    std::vector<Item> items;
    std::vector<Section> children;

    bool is_section(const Item& it) const { return it.child >= 0; }
    const Section& child(const Item& it) const { return children[static_cast<size_t>(it.child)]; }
    void add_value(std::string key, std::string value, int line);
    Section& add_section(std::string name, int line);
};

// The longest line corosync's parser accepts (fgets into 512 bytes, including the newline).
inline constexpr std::size_t kConfLineMax = 510;
// The longest cmap key name (ICMAP_KEYNAME_MAXLEN).
inline constexpr std::size_t kKeyNameMax = 255;
// Nesting bound: corosync has none of its own, but its 255-character key paths allow at most
// 127 levels; deeper is refused here before any recursion could go further.
inline constexpr int kDepthMax = 128;

// Parses corosync.conf text. `file` is only used in diagnostics.
Result<Section, Diag> parse_conf(std::string_view text, const std::string& file);

// Writes the tree back as corosync.conf (4-space indentation). Refuses trees that the format
// cannot carry (a key holding ':' or '{', a value holding '{' or a newline, ...).
Result<std::string, Diag> write_conf(const Section& root, const std::string& file);

}  // namespace totem::conf
