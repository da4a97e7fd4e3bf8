// What the totem-* tools share: corosync's util_strtonum, the --json switch taken out of argv
// before getopt sees it, the JSON envelope every tool prints, and the terminal/colour test.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tools/common/json.hpp"

namespace totem::tools {

// tools/util.c util_strtonum(): base-10 strtoll of the whole string within [min, max];
// -1 when it is not.
int util_strtonum(const char* str, long long min_val, long long max_val, long long* res);

// Removes every "--json" before a "--" from argv (so the unchanged getopt of the corosync tool
// sees the rest) and says whether there was one. `args` keeps the strings argv then points at.
bool take_flag(int& argc, char**& argv, std::vector<char*>& args, std::string_view flag);

// The envelope of every --json document: {"schema": "<tool>/<version>", ...}.
inline constexpr int json_schema_version = 1;
Json json_doc(std::string_view tool);
// {"code": <cs_error_t>, "name": "CS_ERR_..."} for an error of the cs category (another
// category: code -1 and its message).
Json json_error(std::error_code ec);
Json json_error(int cs_error_t_value);
// Prints the document and a newline on stdout.
void print_json(const Json& doc);

// Whether to colour output to `fd`: `when` is "always", "never" or "auto" (a terminal, TERM
// not "dumb", NO_COLOR unset).
bool use_colour(int fd, std::string_view when);

// Lowercase hex of the bytes.
std::string hex(const void* data, std::size_t len);

}  // namespace totem::tools
