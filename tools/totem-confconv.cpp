// totem-confconv: convert a configuration between corosync.conf and YAML.
//
//   totem-confconv [--to yaml|conf] FILE      (default: the other format than FILE's)
//
// The result says the same thing: loading it gives the same cmap keys. Exit 2 when FILE does
// not parse (FILE:LINE: message) or cannot be written in the target format.
#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "conf/load.hpp"
#include "conf/yaml.hpp"

int main(int argc, char** argv) {
    CLI::App app{"totem-confconv — convert corosync.conf <-> YAML"};
    std::string to, file;
    app.add_option("--to", to, "Target format")->check(CLI::IsMember({"yaml", "conf"}));
    app.add_option("FILE", file, "The configuration to convert")->required();
    CLI11_PARSE(app, argc, argv);

    auto from = totem::conf::format_for(file);
    if (to.empty())
        to = from == totem::conf::Format::Yaml ? "conf" : "yaml";
    auto tree = totem::conf::parse_file(file);
    if (!tree) {
        fmt::print(stderr, "{}\n", tree.error().str());
        return 2;
    }
    auto out = to == "yaml" ? totem::conf::write_yaml(tree.value(), file)
                            : totem::conf::write_conf(tree.value(), file);
    if (!out) {
        fmt::print(stderr, "{}\n", out.error().str());
        return 2;
    }
    std::fwrite(out.value().data(), 1, out.value().size(), stdout);
    return 0;
}
