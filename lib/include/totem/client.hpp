// libtotem: a C++20 client library for the services of totemd and corosync 3.1.7 (cpg, cmap,
// quorum, votequorum, cfg) over libqb IPC. See totem/client/connection.hpp for what the five
// handles share, and docs/libtotem.md for the whole API.
#pragma once

#include "totem/client/cfg.hpp"
#include "totem/client/cmap.hpp"
#include "totem/client/connection.hpp"
#include "totem/client/cpg.hpp"
#include "totem/client/error.hpp"
#include "totem/client/quorum.hpp"
#include "totem/client/version.hpp"
#include "totem/client/votequorum.hpp"
