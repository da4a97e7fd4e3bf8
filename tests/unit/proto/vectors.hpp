// Reads the golden vector files of tests/vectors/ipc/ and tests/vectors/exec/ (written by
// tests/vectors/capture-services.py and extract-exec.py; format in tests/vectors/README.md and
// tests/vectors/vecfmt.py):
//
//   # comment
//   @key = value                       file context (exchange, node)
//   <dir> <service> <message>[ ; k=v k=v]
//
// <dir> is req/res/ev (IPC) or a/sync (exec group). <message> is hex in which {z<n>} stands
// for n zero bytes, optionally ending in " +pat251:<phase>:<count>" (count bytes of the test
// pattern (phase + k) % 251).
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"

namespace totem::test {

struct VectorMessage {
    std::string dir;
    std::string service;
    Bytes bytes;
    std::map<std::string, std::string> context;  // after ';'
    int line = 0;
};

struct VectorFile {
    std::string path;
    std::string name;  // file name without .txt
    std::map<std::string, std::string> meta;
    std::vector<VectorMessage> messages;
};

inline int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

inline Bytes parse_message_text(std::string_view text) {
    Bytes out;
    std::string_view body = text;
    std::string_view tail;
    if (auto p = text.find(" +pat251:"); p != std::string_view::npos) {
        body = text.substr(0, p);
        tail = text.substr(p + 9);
    }
    for (std::size_t i = 0; i < body.size();) {
        if (body[i] == '{') {
            const std::size_t end = body.find('}', i);
            if (end == std::string_view::npos || body[i + 1] != 'z')
                throw std::runtime_error("bad {z<n>} token");
            const std::size_t n = std::stoul(std::string(body.substr(i + 2, end - i - 2)));
            out.insert(out.end(), n, 0);
            i = end + 1;
            continue;
        }
        if (i + 1 >= body.size())
            throw std::runtime_error("odd number of hex digits");
        const int hi = hex_digit(body[i]);
        const int lo = hex_digit(body[i + 1]);
        if (hi < 0 || lo < 0)
            throw std::runtime_error("not a hex digit");
        out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
        i += 2;
    }
    if (!tail.empty()) {
        const std::size_t colon = tail.find(':');
        if (colon == std::string_view::npos)
            throw std::runtime_error("bad +pat251 token");
        const unsigned phase =
            static_cast<unsigned>(std::stoul(std::string(tail.substr(0, colon))));
        const std::size_t count = std::stoul(std::string(tail.substr(colon + 1)));
        for (std::size_t k = 0; k < count; ++k)
            out.push_back(static_cast<std::uint8_t>((phase + k) % 251));
    }
    return out;
}

inline std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t\r");
    return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

inline VectorFile load_vector_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot open " + path.string());
    VectorFile f;
    f.path = path.string();
    f.name = path.stem().string();
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty() || line[0] == '#')
            continue;
        if (line[0] == '@') {
            const auto eq = line.find('=');
            if (eq == std::string::npos)
                throw std::runtime_error(f.path + ":" + std::to_string(n) + ": bad @ line");
            f.meta[trim(std::string_view(line).substr(1, eq - 1))] =
                trim(std::string_view(line).substr(eq + 1));
            continue;
        }
        VectorMessage m;
        m.line = n;
        std::string_view rest = line;
        if (auto semi = rest.find(" ; "); semi != std::string_view::npos) {
            std::string_view ctx = rest.substr(semi + 3);
            rest = rest.substr(0, semi);
            while (!ctx.empty()) {
                const auto sp = ctx.find(' ');
                std::string_view kv = ctx.substr(0, sp);
                const auto eq = kv.find('=');
                if (eq != std::string_view::npos)
                    m.context[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
                ctx = sp == std::string_view::npos ? std::string_view() : ctx.substr(sp + 1);
            }
        }
        const auto s1 = rest.find(' ');
        const auto s2 = s1 == std::string_view::npos ? s1 : rest.find(' ', s1 + 1);
        if (s2 == std::string_view::npos)
            throw std::runtime_error(f.path + ":" + std::to_string(n) + ": bad message line");
        m.dir = std::string(rest.substr(0, s1));
        m.service = std::string(rest.substr(s1 + 1, s2 - s1 - 1));
        m.bytes = parse_message_text(rest.substr(s2 + 1));
        f.messages.push_back(std::move(m));
    }
    return f;
}

// Every .txt under `dir`, sorted by path.
inline std::vector<VectorFile> load_vector_dir(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> paths;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == ".txt")
            paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    std::vector<VectorFile> files;
    for (const auto& p : paths)
        files.push_back(load_vector_file(p));
    return files;
}

}  // namespace totem::test
