// The services a totemd node loads, in corosync's link order (exec/service.c
// default_services: cmap, cfg, cpg, pload, mon, wd, quorum; quorum's init links its provider,
// votequorum, before it finishes), and the ones of its own. An explicit list: no dlopen, no
// static registration.
#pragma once

#include <functional>
#include <memory>

#include "conf/config.hpp"
#include "services/pload.hpp"
#include "services/service.hpp"
#include "services/votequorum.hpp"

namespace totem::services {

struct ServiceOptions {
    PloadOptions pload;
    VotequorumOptions votequorum;
};

// corosync_service_link_and_init's second half: the core registers a service made by
// make_services() (its keys, "Service engine loaded" line), before the next one is made.
using LinkService = std::function<void(std::unique_ptr<Service>)>;

// Makes every service and links each as soon as it is made, so that each one's start-up log
// lines come before its "loaded" line and after the previous service's, as in corosync. A
// provider that cannot start (votequorum's configuration refusals) asks for exit status 20
// (COROSYNC_DONE_SERVICE_ENGINE_INIT).
void make_services(Api& api, const conf::Config& config, const ServiceOptions& options,
                   const LinkService& link);

}  // namespace totem::services
