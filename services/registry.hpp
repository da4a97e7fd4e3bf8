// The services a totemd node loads, in corosync's link order (exec/service.c
// default_services: cmap, cfg, cpg, pload, mon, wd, quorum → votequorum), and the ones of its
// own. An explicit list: no dlopen, no static registration.
#pragma once

#include <memory>
#include <vector>

#include "conf/config.hpp"
#include "services/pload.hpp"
#include "services/service.hpp"

namespace totem::services {

std::vector<std::unique_ptr<Service>> make_services(Api& api, const conf::Config& config,
                                                    const PloadOptions& pload);

}  // namespace totem::services
