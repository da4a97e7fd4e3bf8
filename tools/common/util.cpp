#include "tools/common/util.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "totem/client/error.hpp"

namespace totem::tools {

int util_strtonum(const char* str, long long min_val, long long max_val, long long* res) {
    if (min_val > max_val)
        return -1;
    errno = 0;
    char* ep = nullptr;
    const long long v = std::strtoll(str, &ep, 10);
    if (ep == str || *ep != '\0' || errno != 0)
        return -1;
    if (v < min_val || v > max_val)
        return -1;
    *res = v;
    return 0;
}

bool take_flag(int& argc, char**& argv, std::vector<char*>& args, std::string_view flag) {
    args.clear();
    bool found = false;
    bool after_ddash = false;
    for (int i = 0; i < argc; ++i) {
        if (i > 0 && !after_ddash && std::strcmp(argv[i], "--") == 0)
            after_ddash = true;
        if (i > 0 && !after_ddash && flag == argv[i]) {
            found = true;
            continue;
        }
        args.push_back(argv[i]);
    }
    args.push_back(nullptr);
    argc = static_cast<int>(args.size()) - 1;
    argv = args.data();
    return found;
}

Json json_doc(std::string_view tool) {
    Json d = Json::object();
    d["schema"] = std::string(tool) + "/" + std::to_string(json_schema_version);
    return d;
}

Json json_error(int value) {
    Json e = Json::object();
    e["code"] = value;
    e["name"] = client::cs_strerror(value);
    return e;
}

Json json_error(std::error_code ec) {
    if (ec.category() == client::cs_category())
        return json_error(ec.value());
    Json e = Json::object();
    e["code"] = -1;
    e["name"] = ec.message();
    return e;
}

void print_json(const Json& doc) {
    const std::string s = doc.dump();
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

bool use_colour(int fd, std::string_view when) {
    if (when == "always")
        return true;
    if (when == "never")
        return false;
    if (!isatty(fd))
        return false;
    const char* term = std::getenv("TERM");
    if (term == nullptr || std::strcmp(term, "dumb") == 0)
        return false;
    const char* no_colour = std::getenv("NO_COLOR");
    return no_colour == nullptr || *no_colour == '\0';
}

std::string hex(const void* data, std::size_t len) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < len; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 0xF];
    }
    return out;
}

}  // namespace totem::tools
