#include "conf/load.hpp"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
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

// coroparse.c uid_determine / gid_determine: a decimal number is the id itself; anything else
// is a name, looked up with getpwnam_r / getgrnam_r.
std::optional<long> numeric_id(const std::string& s) {
    if (s.empty())
        return std::nullopt;
    errno = 0;
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > 0xffffffffL)
        return std::nullopt;
    // corosync returns the id as an int: the one value that is -1 then reads as "not found".
    return v == 0xffffffffL ? -1 : v;
}
long lookup_uid(const std::string& name) {
    if (auto n = numeric_id(name))
        return *n;
    passwd pw{};
    passwd* res = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res) == 0 && res)
        return static_cast<long>(pw.pw_uid);
    return -1;
}
long lookup_gid(const std::string& name) {
    if (auto n = numeric_id(name))
        return *n;
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

// coroparse.c read_uidgid_files_into_icmap: every regular file of the directory (a missing
// directory or an unreadable file is skipped), each a corosync.conf-syntax uidgid section.
std::optional<Diag> read_uidgid_dir(const std::string& dir, const IdLookup& ids, Cmap& keys) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file(ec))  // follows symlinks, as stat() does
            files.push_back(e.path().string());
    std::sort(files.begin(), files.end());  // corosync's readdir order is the filesystem's
    for (const auto& f : files) {
        auto text = read_all(f);
        if (!text)
            continue;
        auto tree = parse_conf(text.value(), f);
        if (!tree)
            return tree.error();
        if (auto e = add_uidgid_file(tree.value(), f, ids, keys))
            return e;
    }
    return std::nullopt;
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
    if (opts.uidgid_dir && !opts.uidgid_dir->empty())
        if (auto e = read_uidgid_dir(*opts.uidgid_dir, ids, cmap.value().keys))
            return Err{*e};
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
    if (opts.uidgid_dir)
        return load_text(text.value(), path, format_for(path), opts);
    LoadOptions with_dir = opts;
    with_dir.uidgid_dir = (std::filesystem::path(path).parent_path() / "uidgid.d").string();
    return load_text(text.value(), path, format_for(path), with_dir);
}

}  // namespace totem::conf
