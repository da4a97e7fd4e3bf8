#include "conf/yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <set>

namespace totem::conf {

namespace {

const std::set<std::string>& repeated_names() {
    static const std::set<std::string> names{"node", "interface", "logger_subsys", "logging_daemon",
                                             "member"};
    return names;
}

int line_of(const YAML::Node& n) {
    return n.Mark().line + 1;
}

std::string scalar_text(const YAML::Node& n) {
    if (n.IsNull())
        return {};
    return n.Scalar();
}

Result<bool, Diag> load_map(const YAML::Node& map, Section& into, const std::string& file,
                            int depth) {
    if (depth > kDepthMax)
        return Err{Diag{file, line_of(map), "sections nested too deeply"}};
    for (auto it = map.begin(); it != map.end(); ++it) {
        // Copies: it->first / it->second live in a temporary the iterator hands out.
        const YAML::Node k = it->first;
        const YAML::Node v = it->second;
        if (!k.IsScalar())
            return Err{Diag{file, line_of(k), "a key must be a plain scalar"}};
        std::string key = k.Scalar();
        int line = line_of(k);
        if (v.IsMap()) {
            Section& s = into.add_section(key, line);
            s.end_line = line;
            auto r = load_map(v, s, file, depth + 1);
            if (!r)
                return r;
        } else if (v.IsSequence()) {
            for (const auto& el : v) {
                if (!el.IsMap())
                    return Err{Diag{file, line_of(el),
                                    "\"" + key + "\": a list may only hold sections (maps)"}};
                Section& s = into.add_section(key, line_of(el));
                s.end_line = s.line;
                auto r = load_map(el, s, file, depth + 1);
                if (!r)
                    return r;
            }
        } else {
            into.add_value(key, scalar_text(v), line);
        }
    }
    return true;
}

void emit_section(YAML::Emitter& e, const Section& s) {
    e << YAML::BeginMap;
    std::set<std::string> done;
    for (const auto& it : s.items) {
        if (!s.is_section(it)) {
            e << YAML::Key << it.key << YAML::Value << it.value;
            continue;
        }
        if (done.count(it.key))
            continue;
        std::size_t n = 0;
        for (const auto& o : s.items)
            if (s.is_section(o) && o.key == it.key)
                ++n;
        e << YAML::Key << it.key << YAML::Value;
        if (n > 1 || repeated_names().count(it.key)) {
            done.insert(it.key);
            e << YAML::BeginSeq;
            for (const auto& o : s.items)
                if (s.is_section(o) && o.key == it.key)
                    emit_section(e, s.child(o));
            e << YAML::EndSeq;
        } else {
            emit_section(e, s.child(it));
        }
    }
    e << YAML::EndMap;
}

}  // namespace

Result<Section, Diag> parse_yaml(std::string_view text, const std::string& file) {
    YAML::Node doc;
    try {
        doc = YAML::Load(std::string(text));
    } catch (const YAML::Exception& ex) {
        return Err{Diag{file, ex.mark.line + 1, "YAML: " + ex.msg}};
    }
    Section root;
    if (doc.IsNull())
        return root;
    if (!doc.IsMap())
        return Err{Diag{file, line_of(doc), "the YAML document must be a map of sections"}};
    try {
        auto r = load_map(doc, root, file, 0);
        if (!r)
            return Err{r.error()};
    } catch (const YAML::Exception& ex) {
        return Err{Diag{file, ex.mark.line + 1, "YAML: " + ex.msg}};
    }
    return root;
}

Result<std::string, Diag> write_yaml(const Section& root, const std::string& file) {
    // A key repeated in one section is written twice; yaml-cpp reads both back in order, so
    // the last one still wins, as in corosync.
    YAML::Emitter e;
    e.SetIndent(2);
    if (root.items.empty())
        return std::string("{}\n");
    emit_section(e, root);
    if (!e.good())
        return Err{Diag{file, 1, std::string("YAML: ") + e.GetLastError()}};
    return std::string(e.c_str()) + "\n";
}

}  // namespace totem::conf
