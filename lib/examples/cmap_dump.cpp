// Prints every cmap key under a prefix with its type and value:
//   totem-example-cmap_dump [prefix] [--stats]
#include <totem/client.hpp>

#include <cstdio>
#include <cstring>
#include <string>

using totem::client::Cmap;

int main(int argc, char** argv) {
    Cmap::Options options;
    std::string prefix;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--stats") == 0)
            options.map = Cmap::Map::stats;
        else
            prefix = argv[i];
    }
    auto cmap = Cmap::connect(options);
    if (!cmap) {
        std::fprintf(stderr, "cmap: %s\n", cmap.error().message().c_str());
        return 1;
    }
    auto keys = cmap->keys(prefix);
    if (!keys) {
        std::fprintf(stderr, "iterate: %s\n", keys.error().message().c_str());
        return 1;
    }
    for (const auto& k : *keys) {
        auto v = cmap->get(k.name);
        if (!v) {
            std::printf("%s: %s\n", k.name.c_str(), v.error().message().c_str());
            continue;
        }
        std::string text;
        if (auto s = v->as_string())
            text = *s;
        else if (auto u = v->as_uint())
            text = std::to_string(*u);
        else if (auto n = v->as_int())
            text = std::to_string(*n);
        else if (auto d = v->as_double())
            text = std::to_string(*d);
        else
            text = std::to_string(v->bytes().size()) + " bytes";
        std::printf("%s (%s) = %s\n", k.name.c_str(), totem::client::type_name(k.type),
                    text.c_str());
    }
    return 0;
}
