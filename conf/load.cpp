#include "conf/load.hpp"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "conf/cmap.hpp"
#include "conf/yaml.hpp"

namespace totem::conf {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// coroparse.c uid_determine / gid_determine: names through getpwnam_r / getgrnam_r.
long lookup_uid(const std::string& name) {
    passwd pw{};
    passwd* res = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res) == 0 && res)
        return static_cast<long>(pw.pw_uid);
    return -1;
}
long lookup_gid(const std::string& name) {
    group gr{};
    group* res = nullptr;
    std::vector<char> buf(16384);
    if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res) == 0 && res)
        return static_cast<long>(gr.gr_gid);
    return -1;
}

Result<std::string, Diag> read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Err{Diag{path, 0, std::string("Can't read file: ") + std::strerror(errno)}};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

Format format_for(const std::string& path) {
    return (ends_with(path, ".yaml") || ends_with(path, ".yml")) ? Format::Yaml : Format::Conf;
}

Result<Section, Diag> parse_text(std::string_view text, const std::string& file, Format f) {
    return f == Format::Yaml ? parse_yaml(text, file) : parse_conf(text, file);
}

Result<Section, Diag> parse_file(const std::string& path) {
    auto text = read_all(path);
    if (!text)
        return Err{text.error()};
    return parse_text(text.value(), path, format_for(path));
}

Result<Loaded, Diag> load_text(std::string_view text, const std::string& file, Format f,
                               const LoadOptions& opts) {
    auto tree = parse_text(text, file, f);
    if (!tree)
        return Err{tree.error()};
    IdLookup ids{lookup_uid, lookup_gid};
    auto cmap = build_cmap(tree.value(), file, ids);
    if (!cmap)
        return Err{cmap.error()};
    HostEnv host = opts.host ? *opts.host : system_host();
    auto d = derive_config(std::move(cmap).value(), file, host, opts.derive);
    if (!d)
        return Err{d.error()};
    Loaded out;
    out.config = std::move(d.value().config);
    out.warnings = std::move(d.value().warnings);
    return out;
}

Result<Loaded, Diag> load_file(const std::string& path, const LoadOptions& opts) {
    auto text = read_all(path);
    if (!text)
        return Err{text.error()};
    return load_text(text.value(), path, format_for(path), opts);
}

}  // namespace totem::conf
