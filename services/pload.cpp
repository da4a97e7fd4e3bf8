#include "services/pload.hpp"

#include <algorithm>
#include <cstdio>

namespace totem::services {

namespace {
constexpr std::size_t header_size = 16;
}

Pload::Pload(Api& api, PloadOptions options) : Service(api), options_(options) {
    if (options_.interval_ms)
        next_send_ = api_.now() + Duration::ms(options_.interval_ms);
}

ServiceInfo Pload::info() const {
    return ServiceInfo{service_id,       "pload", "corosync profile loading service",
                       "corosync_pload", 2,       0};
}

void Pload::on_timer(Instant now) {
    if (!next_send_ || now < *next_send_)
        return;
    next_send_ = now + Duration::ms(options_.interval_ms);
    if (!api_.sync_in_progress() && api_.members().size() >= options_.min_members)
        send_burst();
}

void Pload::send_burst() {
    for (std::uint32_t i = 0; i < options_.burst; ++i) {
        if (options_.count && sent_ >= options_.count) {
            next_send_.reset();
            break;
        }
        Bytes m;
        Writer w(m);
        w.u32((std::uint32_t{service_id} << 16) | fn_mcast);
        w.u32(0);
        w.u32(static_cast<std::uint32_t>(header_size + options_.size));
        w.u32(0);
        w.u64(sent_);  // this sender's counter: every message is distinct
        m.resize(std::max<std::size_t>(m.size(), header_size + options_.size), 0);
        if (!api_.mcast(m))
            break;
        sent_++;
    }
    api_.keys().set("runtime.totemd.pload.sent", Value::u64(sent_));
}

void Pload::exec(NodeId sender, std::uint16_t fn, ByteView message) {
    if (fn == fn_start) {
        // corosync's START makes every node flood until it exits; totemd's generator is
        // TOTEMD_PLOAD, so START is only logged.
        if (starts_ignored_++ == 0)
            api_.log(LogLevel::warning, "PLOAD",
                     "pload START from node " + std::to_string(sender) +
                         " ignored: totemd's load generator is started with TOTEMD_PLOAD");
        return;
    }
    received_++;
    from_[sender]++;
    auto mix = [this](std::uint8_t b) { digest_ = (digest_ ^ b) * 1099511628211ull; };
    for (int i = 0; i < 4; ++i)
        mix(static_cast<std::uint8_t>(sender >> (8 * i)));
    for (std::uint8_t b : message)
        mix(b);
    KeyStore& k = api_.keys();
    k.set("runtime.totemd.pload.received", Value::u64(received_));
    char hex[20];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest_));
    k.set("runtime.totemd.pload.digest", Value::str(hex));
    if (received_ % 100 == 1) {
        std::string from;
        for (auto [n, c] : from_)
            from += (from.empty() ? "" : ", ") + std::to_string(n) + ": " + std::to_string(c);
        api_.log(LogLevel::notice, "PLOAD",
                 "delivered " + std::to_string(received_) +
                     " messages in agreed order (from node " + from + "); sent " +
                     std::to_string(sent_));
    }
}

}  // namespace totem::services
