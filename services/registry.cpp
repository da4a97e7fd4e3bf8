#include "services/registry.hpp"

#include "services/cfg.hpp"
#include "services/cmap.hpp"
#include "services/config_check.hpp"
#include "services/cpg.hpp"
#include "services/pload.hpp"
#include "services/quorum.hpp"
#include "services/votequorum.hpp"

namespace totem::services {

namespace {
constexpr int exit_service_engine_init = 20;  // COROSYNC_DONE_SERVICE_ENGINE_INIT
}

void make_services(Api& api, const conf::Config& config, const ServiceOptions& options,
                   const LinkService& link) {
    link(std::make_unique<Cmap>(api));
    link(std::make_unique<Cfg>(api));
    link(std::make_unique<Cpg>(api));
    link(std::make_unique<Pload>(api, options.pload));
    // vsf_quorum's init: the provider switch (conf refuses a provider other than
    // corosync_votequorum), then the provider, linked before the quorum service itself.
    const std::string& provider = config.quorum.provider;
    auto quorum = std::make_unique<Quorum>(api, provider);
    if (provider == "corosync_votequorum") {
        auto vq = std::make_unique<Votequorum>(api, *quorum, options.votequorum);
        if (vq->init_error().empty()) {
            link(std::move(vq));
        } else {
            api.log(LogLevel::error, "QUORUM",
                    "Quorum provider: " + provider + " failed to initialize.");
            api.log(LogLevel::error, "SERV",
                    "Service engine 'corosync_quorum' failed to load for reason '" +
                        vq->init_error() + "'");
            api.request(ExitAction{exit_service_engine_init, vq->init_error()});
        }
    }
    link(std::move(quorum));
    link(std::make_unique<ConfigCheck>(api));
}

}  // namespace totem::services
