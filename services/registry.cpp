#include "services/registry.hpp"

#include "services/cfg.hpp"
#include "services/cmap.hpp"
#include "services/config_check.hpp"
#include "services/cpg.hpp"
#include "services/pload.hpp"

namespace totem::services {

std::vector<std::unique_ptr<Service>> make_services(Api& api, const conf::Config&,
                                                    const PloadOptions& pload) {
    std::vector<std::unique_ptr<Service>> s;
    s.push_back(std::make_unique<Cmap>(api));
    s.push_back(std::make_unique<Cfg>(api));
    s.push_back(std::make_unique<Cpg>(api));
    s.push_back(std::make_unique<Pload>(api, pload));
    s.push_back(std::make_unique<ConfigCheck>(api));
    return s;
}

}  // namespace totem::services
