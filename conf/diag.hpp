// Diagnostics of the configuration loader: a problem with the file and line it belongs to.
//
// Every refusal is reported as `FILE:LINE: message` (exit status 2 in totemd). Problems that
// have no line of their own (a missing key, a nodelist that does not add up) carry the line of
// the section they belong to, or line 1 when even that is missing.
#pragma once

#include <string>

namespace totem::conf {

struct Diag {
    std::string file;
    int line = 0;
    std::string message;

    // "FILE:LINE: message"; "FILE: message" for problems with the file itself (line 0)
    std::string str() const {
        if (line <= 0)
            return file + ": " + message;
        return file + ":" + std::to_string(line) + ": " + message;
    }
};

}  // namespace totem::conf
