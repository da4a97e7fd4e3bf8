#include "services/votequorum.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <functional>

#include "common/assert.hpp"
#include "proto/exec.hpp"
#include "proto/votequorum.hpp"

namespace totem::services {

namespace pv = proto::votequorum;
using proto::CsError;

namespace {

constexpr std::uint32_t track_current = 1;  // CS_TRACK_CURRENT
constexpr std::uint32_t track_changes = 2;
constexpr std::uint32_t track_changes_only = 4;
constexpr std::uint32_t votes_unset = 0xffffffffu;  // corosync's "(uint32_t)-1"
constexpr const char* reload_key = "config.totemconfig_reload_in_progress";
constexpr const char* cancel_wfa_key = "quorum.cancel_wait_for_all";

const char* yes_no(bool b) {
    return b ? "Yes" : "No";
}

std::string u(std::uint64_t v) {
    return std::to_string(v);
}

proto::MarRingId mar(const RingId& r) {
    return proto::MarRingId{r.rep, r.seq};
}

bool contains(const NodeList& l, NodeId n) {
    return std::find(l.begin(), l.end(), n) != l.end();
}

// The NUL-terminated value corosync compares with strncmp(…, 255).
bool same_name(const std::string& a, const std::string& b) {
    return a.substr(0, pv::qdevice_name_size) == b.substr(0, pv::qdevice_name_size);
}

}  // namespace

// ---- construction (votequorum_exec_init_fn) -------------------------------------------------

Votequorum::Votequorum(Api& api, QuorumListener& listener, VotequorumOptions options)
    : Service(api), listener_(listener), options_(options) {
    qdevice_.id = pv::qdevice_nodeid;
    qdevice_.state = static_cast<NodeState>(0);  // never set in corosync: 0 in notifications
    us_id_ = api_.my_nodeid();
    Node* u = allocate(us_id_);
    TOTEM_ASSERT(u != nullptr);
    set_u32("runtime.votequorum.this_node_id", us_id_);
    u->state = NodeState::member;
    u->votes = 1;
    u->flags |= pv::node_flag_first;

    if (auto error = read_config(false)) {
        init_error_ = *error;
        return;
    }
    recalculate_quorum(false, false);
    api_.keys().add_votequorum_read_only_keys();
    // votequorum_exec_add_config_notification
    constexpr std::int32_t all = kTrackAdd | kTrackDelete | kTrackModify | kTrackPrefix;
    for (const char* prefix : {"nodelist.", "quorum."}) {
        auto t = api_.keys().add_track(prefix, all, 0);
        TOTEM_ASSERT(t.ok());
        tracks_.push_back(*t);
    }
    auto t = api_.keys().add_track(reload_key, kTrackAdd | kTrackModify, 0);
    TOTEM_ASSERT(t.ok());
    tracks_.push_back(*t);
    reload_in_progress_ = api_.keys().get_u8(reload_key) == std::optional<std::uint8_t>(1);
    send_nodeinfo(us_id_);
}

ServiceInfo Votequorum::info() const {
    ServiceInfo i{
        service_id, "votequorum", "corosync vote quorum service v1.0", "corosync_votequorum", 4,
        10};
    i.priority = 2;
    return i;
}

// ---- the node list ---------------------------------------------------------------------------

Votequorum::Node* Votequorum::find(NodeId id) {
    if (id == pv::qdevice_nodeid)
        return &qdevice_;
    for (Node& n : nodes_)
        if (n.id == id)
            return &n;
    return nullptr;
}

const Votequorum::Node* Votequorum::node(NodeId id) const {
    return const_cast<Votequorum*>(this)->find(id);
}

const Votequorum::Node& Votequorum::us() const {
    const Node* n = node(us_id_);
    TOTEM_ASSERT(n != nullptr);
    return *n;
}

Votequorum::Node& Votequorum::us_mut() {
    Node* n = find(us_id_);
    TOTEM_ASSERT(n != nullptr);
    return *n;
}

// allocate_node + node_add_ordered: before the first node with a higher id; a node with the
// highest id goes before the last entry (corosync's list walk ends on the last node and
// inserts in front of it), into an empty list as the only entry. Beyond node_records_max a
// DEAD record is reused (corosync reuses one from its fixed array).
Votequorum::Node* Votequorum::allocate(NodeId id) {
    TOTEM_ASSERT(id != pv::qdevice_nodeid);
    if (nodes_.size() >= node_records_max) {
        auto dead = std::find_if(nodes_.begin(), nodes_.end(),
                                 [](const Node& n) { return n.state == NodeState::dead; });
        if (dead == nodes_.end()) {
            api_.log(LogLevel::error, "VOTEQ",
                     "Unable to find memory for node " + u(id) + " data!!");
            return nullptr;
        }
        nodes_.erase(dead);
    }
    Node fresh;
    fresh.id = id;
    if (nodes_.empty()) {
        nodes_.push_back(fresh);
        return &nodes_.back();
    }
    auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](const Node& n) { return id < n.id; });
    if (it == nodes_.end())
        it = std::prev(nodes_.end());
    return &*nodes_.insert(it, fresh);
}

// ---- configuration ---------------------------------------------------------------------------

// votequorum_read_nodelist_configuration
bool Votequorum::read_nodelist(std::uint32_t& votes, std::uint32_t& nodes,
                               std::uint32_t& expected) {
    KeyStore& k = api_.keys();
    const auto our_pos = k.get_u32("nodelist.local_node_pos");
    if (!our_pos) {
        api_.log(LogLevel::debug, "VOTEQ",
                 "No nodelist defined or our node is not in the nodelist");
        return false;
    }
    std::uint32_t count = 0, total = 0;
    std::optional<std::uint32_t> last_pos;
    auto it = k.iter_init("nodelist.node.");
    while (auto item = k.iter_next(it)) {
        // sscanf("nodelist.node.%u.%s")
        std::string_view rest = std::string_view(item->key).substr(14);
        std::uint32_t pos = 0;
        auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pos);
        if (ec != std::errc() || p == rest.data() || p == rest.data() + rest.size() || *p != '.' ||
            p + 1 == rest.data() + rest.size())
            continue;
        if (last_pos == pos)
            continue;
        last_pos = pos;
        count++;
        const std::uint32_t v = k.get_u32("nodelist.node." + u(pos) + ".quorum_votes").value_or(1);
        total += v;
        if (pos == *our_pos)
            votes = v;
    }
    expected = total;
    nodes = count;
    return true;
}

// votequorum_qdevice_is_configured
bool Votequorum::qdevice_configured(std::int64_t& qdevice_votes) {
    KeyStore& k = api_.keys();
    const auto model = k.get_string("quorum.device.model");
    if (!model || model->empty())
        return false;
    const auto v = k.get_u32("quorum.device.votes");
    qdevice_votes = v ? *v : votes_unset;
    qdevice_timeout_ms_ = k.get_u32("quorum.device.timeout").value_or(qdevice_timeout_default_ms);
    qdevice_sync_timeout_ms_ =
        k.get_u32("quorum.device.sync_timeout").value_or(qdevice_sync_timeout_default_ms);
    update_qdevice_can_operate(true);
    return true;
}

// parse_atb_string: "lowest", "highest" or node ids separated by anything strtol skips
void Votequorum::parse_atb_string(const std::string& s) {
    atb_ = Atb::none;
    if (s == "lowest")
        atb_ = Atb::lowest;
    if (s == "highest")
        atb_ = Atb::highest;
    if (std::atoi(s.c_str())) {
        atb_nodelist_.clear();
        const char* ptr = s.c_str();
        for (;;) {
            char* end = nullptr;
            const long num = std::strtol(ptr, &end, 10);
            ptr = end;
            if (!num)
                break;
            if (atb_nodelist_.size() < proto::processor_count_max) {
                api_.log(LogLevel::debug, "VOTEQ",
                         "ATB nodelist[" + u(atb_nodelist_.size()) + "] = " + std::to_string(num));
                atb_nodelist_.push_back(static_cast<std::uint32_t>(num));
            }
        }
        if (!atb_nodelist_.empty())
            atb_ = Atb::list;
    }
    set_u32("runtime.votequorum.atb_type", static_cast<std::uint32_t>(atb_));
    api_.log(LogLevel::debug, "VOTEQ", "ATB type = " + u(static_cast<std::uint32_t>(atb_)));
    if (atb_ == Atb::none)
        api_.log(LogLevel::warning, "VOTEQ",
                 "auto_tie_breaker_nodes is not valid. It must be 'lowest', 'highest' or a "
                 "space-separated list of node IDs. auto_tie_breaker is disabled");
}

// votequorum_readconfig: at start-up an error stops the service; at run time it is logged and
// the running values stay (or the device is disabled).
std::optional<std::string> Votequorum::read_config(bool runtime) {
    KeyStore& k = api_.keys();
    auto crit = [&](const std::string& text) { api_.log(LogLevel::error, "VOTEQ", text); };
    api_.log(LogLevel::debug, "VOTEQ",
             std::string("Reading configuration (runtime: ") + (runtime ? "1" : "0") + ")");
    if (runtime) {
        two_node_ = false;
        atb_ = initial_atb_;
        set_u32("runtime.votequorum.atb_type", static_cast<std::uint32_t>(atb_));
    }
    std::uint32_t expected_votes = k.get_u32("quorum.expected_votes").value_or(0);
    std::uint32_t node_votes = 0, node_count = 0, node_expected_votes = 0;
    const bool have_nodelist = read_nodelist(node_votes, node_count, node_expected_votes);
    std::int64_t qdevice_votes64 = 0;
    const bool have_qdevice = qdevice_configured(qdevice_votes64);
    std::uint32_t qdevice_votes = static_cast<std::uint32_t>(qdevice_votes64);
    if (auto v = k.get_u8("quorum.two_node"))
        two_node_ = *v != 0;

    // One refusal: at start-up the error, at run time its log lines and `then`.
    auto refuse = [&](const std::string& what, const std::function<void()>& then) -> bool {
        if (!runtime)
            return true;
        crit("configuration error: " + what);
        then();
        return false;
    };
    auto disable_device = [&] {
        crit("disabling quorum device operations");
        update_qdevice_can_operate(false);
    };

    if (!have_nodelist && !expected_votes) {
        const std::string e = "nodelist or quorum.expected_votes must be configured!";
        if (!runtime)
            return "configuration error: " + e;
        crit("configuration error: " + e);
        crit("will continue with current runtime data");
        return std::nullopt;
    }
    if (two_node_ && have_qdevice) {
        const std::string e = "two_node and quorum device cannot be configured at the same time!";
        if (refuse(e, [&] {
                if (us().flags & pv::node_flag_qdevice_registered) {
                    crit("quorum device is registered, disabling two_node");
                    two_node_ = false;
                } else {
                    crit("quorum device is not registered, allowing two_node");
                    update_qdevice_can_operate(false);
                }
            }))
            return "configuration error: " + e;
    }
    if (!runtime) {
        allow_downscale_ = k.get_u8("quorum.allow_downscale").value_or(0) != 0;
        if (auto w = k.get_u8("quorum.wait_for_all"))
            wait_for_all_ = *w != 0;
        else
            wait_for_all_autoset_ = true;
        last_man_standing_ = k.get_u8("quorum.last_man_standing").value_or(0) != 0;
        lms_window_ms_ = k.get_u32("quorum.last_man_standing_window").value_or(lms_window_ms_);
        ev_tracking_ = k.get_u8("quorum.expected_votes_tracking").value_or(0) != 0;
        const bool atb = k.get_u8("quorum.auto_tie_breaker").value_or(0) != 0;
        const auto atb_string = k.get_string("quorum.auto_tie_breaker_node");
        if (atb) {
            atb_ = Atb::lowest;
            set_u32("runtime.votequorum.atb_type", static_cast<std::uint32_t>(atb_));
        } else {
            atb_ = Atb::none;
            if (atb_string)
                api_.log(LogLevel::warning, "VOTEQ",
                         "auto_tie_breaker_node: is meaningless if auto_tie_breaker is set to 0");
        }
        if (atb && atb_string)
            parse_atb_string(*atb_string);
        initial_atb_ = atb_;
        if (allow_downscale_)
            ev_tracking_ = true;  // allow_downscale requires ev_tracking
        if (ev_tracking_) {
            ev_tracking_barrier_ = options_.stored_ev_tracking_barrier;
            update_ev_tracking_barrier(ev_tracking_barrier_);
        }
    }
    if (wait_for_all_autoset_)
        wait_for_all_ = two_node_;
    if (two_node_ && atb_ != Atb::none) {
        crit("two_node and auto_tie_breaker are both specified but are not compatible.");
        crit("two_node has been disabled, please fix your corosync.conf");
        two_node_ = false;
    }
    if (atb_ != Atb::none && (node_expected_votes % 2) && !wait_for_all_) {
        if (last_man_standing_) {
            crit("auto_tie_breaker is set, the cluster has an odd number of nodes\n");
            crit("and last_man_standing is also set. With this situation a better\n");
            crit("solution would be to disable LMS, leave ATB enabled, and also\n");
            crit("enable wait_for_all (mandatory for ATB in odd-numbered clusters).\n");
            crit(
                "Due to this ambiguity, corosync will fail to start. Please fix your "
                "corosync.conf\n");
            return std::string(
                "configuration error: auto_tie_breaker & last_man_standing not "
                "available in odd sized cluster");
        }
        crit("auto_tie_breaker is set and the cluster has an odd number of nodes.\n");
        crit("wait_for_all needs to be set for this configuration but it is missing\n");
        crit("Therefore auto_tie_breaker has been disabled. Please fix your corosync.conf\n");
        atb_ = Atb::none;
        set_u32("runtime.votequorum.atb_type", static_cast<std::uint32_t>(atb_));
    }
    const struct {
        bool when;
        const char* what;
    } device_checks[] = {
        {have_qdevice && last_man_standing_,
         "quorum.device is not compatible with last_man_standing"},
        {have_qdevice && atb_ != Atb::none,
         "quorum.device is not compatible with auto_tie_breaker"},
        {have_qdevice && allow_downscale_, "quorum.device is not compatible with allow_downscale"},
        {expected_votes && have_qdevice && qdevice_votes == votes_unset,
         "quorum.device.votes must be specified when quorum.expected_votes is set"},
        {have_qdevice && qdevice_votes == votes_unset && have_nodelist &&
             node_count != node_expected_votes,
         "quorum.device.votes must be specified when not all nodes votes 1"},
        // qdevice_votes is unsigned there too: "unset" counts as > 0
        {qdevice_votes > 0 && expected_votes &&
             static_cast<std::int32_t>(expected_votes - qdevice_votes) < 2,
         "quorum.device.votes is too high or expected_votes is too low"},
    };
    for (const auto& c : device_checks)
        if (c.when && refuse(c.what, disable_device))
            return std::string("configuration error: ") + c.what;

    // the device's votes from the nodelist: one less than the nodes'
    if (have_qdevice && qdevice_votes == votes_unset && !expected_votes && have_nodelist &&
        node_count == node_expected_votes) {
        qdevice_votes = node_expected_votes - 1;
        node_expected_votes = node_expected_votes + qdevice_votes;
    }
    api_.log(LogLevel::debug, "VOTEQ",
             "ev_tracking=" + u(ev_tracking_ ? 1 : 0) + ", ev_tracking_barrier = " +
                 u(ev_tracking_barrier_) + ": expected_votes = " + u(expected_votes) + "\n");
    if (ev_tracking_)
        expected_votes = ev_tracking_barrier_;
    Node& me = us_mut();
    if (have_nodelist) {
        me.votes = node_votes;
        me.expected_votes = node_expected_votes;
    } else {
        me.votes = k.get_u32("quorum.votes").value_or(1);
    }
    if (expected_votes)
        me.expected_votes = expected_votes;
    if (!have_qdevice)
        qdevice_.votes = 0;
    if (qdevice_votes != votes_unset)
        qdevice_.votes = qdevice_votes;
    update_ev_barrier(me.expected_votes);
    set_u8("runtime.votequorum.two_node", two_node_ ? 1 : 0);
    if (wait_for_all_) {
        if (!runtime)
            update_wait_for_all_status(true);
    } else if (wait_for_all_autoset_ && wait_for_all_status_) {
        update_wait_for_all_status(false);
    }
    return std::nullopt;
}

// votequorum_refresh_config: a key under quorum. or nodelist. changed, or a reload ended.
void Votequorum::refresh_config(const std::string& key) {
    KeyStore& k = api_.keys();
    if (reload_in_progress_)
        return;  // the reload's end reconfigures everything at once
    if (key == reload_key) {
        const auto status = k.get_i32("config.reload_status");
        if (status && *status != static_cast<std::int32_t>(CsError::ok))
            return;  // a failed reload: nothing to apply
    }
    const std::uint8_t cancel_wfa = k.get_u8(cancel_wfa_key).value_or(0);
    if (key == cancel_wfa_key && cancel_wfa >= 1) {
        // corosync's icmap_set inside this callback runs the callback again at once (the
        // value is 0 then): do that here, and skip the deferred notification of the set.
        if (k.set(cancel_wfa_key, Value::u8(0)) == KeyError::ok)
            skip_cancel_wfa_reset_ = true;
        refresh_config(cancel_wfa_key);
        if (!send_reconfigure(pv::reconfig_param_cancel_wfa, us_id_, 0))
            api_.log(LogLevel::error, "VOTEQ", "Failed to send Cancel WFA message to other nodes");
        return;
    }
    const std::uint32_t old_votes = us().votes;
    const std::uint32_t old_expected = us().expected_votes;
    (void)read_config(true);
    send_nodeinfo(us_id_);
    send_nodeinfo(pv::qdevice_nodeid);
    if (us().votes != old_votes &&
        !send_reconfigure(pv::reconfig_param_node_votes, us_id_, us().votes))
        api_.log(LogLevel::error, "VOTEQ", "Failed to send new votes message to other nodes");
    if (us().expected_votes != old_expected &&
        !send_reconfigure(pv::reconfig_param_expected_votes, us_id_, us().expected_votes))
        api_.log(LogLevel::error, "VOTEQ", "Failed to send expected votes message to other nodes");
}

void Votequorum::key_changed(const Notification& n) {
    if (std::find(tracks_.begin(), tracks_.end(), n.track) == tracks_.end())
        return;
    if (n.key == reload_key)
        reload_in_progress_ = n.new_value && n.new_value->as_u8() == std::optional<std::uint8_t>(1);
    if (n.key == cancel_wfa_key && skip_cancel_wfa_reset_ && n.new_value &&
        n.new_value->as_u8() == std::optional<std::uint8_t>(0)) {
        skip_cancel_wfa_reset_ = false;
        return;
    }
    refresh_config(n.key);
}

// ---- keys --------------------------------------------------------------------------------------

void Votequorum::set_u32(const std::string& key, std::uint32_t v) {
    api_.keys().set(key, Value::u32(v));
}

void Votequorum::set_u8(const std::string& key, std::uint8_t v) {
    api_.keys().set(key, Value::u8(v));
}

void Votequorum::update_wait_for_all_status(bool status) {
    wait_for_all_status_ = status;
    Node& me = us_mut();
    if (status)
        me.flags |= pv::node_flag_wfastatus;
    else
        me.flags &= ~pv::node_flag_wfastatus;
    set_u8("runtime.votequorum.wait_for_all_status", status ? 1 : 0);
}

void Votequorum::update_ev_barrier(std::uint32_t v) {
    ev_barrier_ = v;
    set_u32("runtime.votequorum.ev_barrier", v);
}

void Votequorum::update_qdevice_can_operate(bool v) {
    qdevice_can_operate_ = v;
    set_u8("runtime.votequorum.qdevice_can_operate", v ? 1 : 0);
}

void Votequorum::update_qdevice_master_wins(bool v) {
    qdevice_master_wins_ = v;
    set_u8("runtime.votequorum.qdevice_master_wins", v ? 1 : 0);
}

void Votequorum::update_ev_tracking_barrier(std::uint32_t v) {
    ev_tracking_barrier_ = v;
    set_u32("runtime.votequorum.ev_tracking_barrier", v);
    api_.request(PersistEvTrackingAction{v});
}

// ---- quorum ------------------------------------------------------------------------------------

std::uint32_t Votequorum::calculate_quorum(bool allow_decrease, std::uint32_t max_expected,
                                           std::uint32_t* ret_total_votes) {
    std::uint32_t total_votes = 0, highest_expected = 0, total_nodes = 0;
    if (allow_downscale_ && allow_decrease && max_expected)
        max_expected = std::max(ev_barrier_, max_expected);
    for (const Node& n : nodes_) {
        api_.log(LogLevel::debug, "VOTEQ",
                 "node " + u(n.id) + " state=" + u(static_cast<std::uint32_t>(n.state)) +
                     ", votes=" + u(n.votes) + ", expected=" + u(n.expected_votes));
        if (n.state == NodeState::member) {
            highest_expected = std::max(highest_expected, n.expected_votes);
            total_votes += n.votes;
            total_nodes++;
        }
    }
    if (us().flags & pv::node_flag_qdevice_cast_vote) {
        api_.log(LogLevel::debug, "VOTEQ", "node 0 state=1, votes=" + u(qdevice_.votes));
        total_votes += qdevice_.votes;
        total_nodes++;
    }
    if (max_expected > 0)
        highest_expected = max_expected;
    // The OpenVMS rule.
    const std::uint32_t q1 = (highest_expected + 2) / 2;
    const std::uint32_t q2 = (total_votes + 2) / 2;
    std::uint32_t newquorum = std::max(q1, q2);
    if (!allow_decrease)
        newquorum = std::max<std::uint32_t>(quorum_, newquorum);
    // two_node: each of the two keeps quorum alone (fencing decides); more nodes: not special.
    if (two_node_ && total_nodes <= 2)
        newquorum = 1;
    if (ret_total_votes)
        *ret_total_votes = total_votes;
    return newquorum;
}

void Votequorum::update_node_expected_votes(std::uint32_t v) {
    if (!v)
        return;
    for (Node& n : nodes_)
        if (n.state == NodeState::member)
            n.expected_votes = v;
}

void Votequorum::get_lowest_node_id() {
    lowest_node_id_ = us_id_;
    for (const Node& n : nodes_)
        if (n.state == NodeState::member && n.id < lowest_node_id_)
            lowest_node_id_ = n.id;
    api_.log(LogLevel::debug, "VOTEQ",
             "lowest node id: " + std::to_string(lowest_node_id_) + " us: " + u(us_id_));
    set_u32("runtime.votequorum.lowest_node_id", static_cast<std::uint32_t>(lowest_node_id_));
}

void Votequorum::get_highest_node_id() {
    highest_node_id_ = us_id_;
    for (const Node& n : nodes_)
        if (n.state == NodeState::member && n.id > highest_node_id_)
            highest_node_id_ = n.id;
    api_.log(LogLevel::debug, "VOTEQ",
             "highest node id: " + std::to_string(highest_node_id_) + " us: " + u(us_id_));
    set_u32("runtime.votequorum.highest_node_id", static_cast<std::uint32_t>(highest_node_id_));
}

bool Votequorum::member_with_id(std::int64_t id) const {
    return std::any_of(nodes_.begin(), nodes_.end(),
                       [&](const Node& n) { return n.state == NodeState::member && n.id == id; });
}

// check_auto_tie_breaker. A list: the first listed node in this partition wins it, unless a
// node listed before it was in the previous membership (it may be in the other half).
bool Votequorum::check_auto_tie_breaker() {
    if (atb_ == Atb::lowest) {
        const bool res = member_with_id(lowest_node_id_);
        api_.log(LogLevel::debug, "VOTEQ", "ATB_LOWEST decision: " + u(res));
        return res;
    }
    if (atb_ == Atb::highest) {
        const bool res = member_with_id(highest_node_id_);
        api_.log(LogLevel::debug, "VOTEQ", "ATB_HIGHEST decision: " + u(res));
        return res;
    }
    for (std::size_t i = 0; i < atb_nodelist_.size(); ++i) {
        if (!contains(quorum_members_, atb_nodelist_[i]))
            continue;
        for (std::size_t j = 0; j < i; ++j) {
            if (contains(previous_quorum_members_, atb_nodelist_[j])) {
                api_.log(LogLevel::debug, "VOTEQ",
                         "ATB_LIST found node " + u(atb_nodelist_[j]) +
                             " in previous partition but not here, quorum denied");
                return false;
            }
        }
        api_.log(LogLevel::debug, "VOTEQ",
                 "ATB_LIST found node " + u(atb_nodelist_[i]) +
                     " in current partition, we can be quorate");
        return true;
    }
    api_.log(LogLevel::debug, "VOTEQ",
             "ATB_LIST found no list nodes in current partition, we cannot be quorate");
    return false;
}

bool Votequorum::check_qdevice_master() const {
    constexpr std::uint32_t both =
        pv::node_flag_qdevice_master_wins | pv::node_flag_qdevice_cast_vote;
    return std::any_of(nodes_.begin(), nodes_.end(), [](const Node& n) {
        return n.state == NodeState::member && (n.flags & both) == both;
    });
}

void Votequorum::are_we_quorate(std::uint32_t total_votes) {
    Node& me = us_mut();
    if (wait_for_all_ && wait_for_all_status_) {
        if (total_votes != me.expected_votes) {
            api_.log(LogLevel::notice, "VOTEQ",
                     "Waiting for all cluster members. Current votes: " + u(total_votes) +
                         " expected_votes: " + u(me.expected_votes));
            TOTEM_ASSERT(!cluster_is_quorate_);
            return;
        }
        update_wait_for_all_status(false);
    }
    bool quorate = false;
    if (quorum_ <= total_votes) {
        quorate = true;
        get_lowest_node_id();
        get_highest_node_id();
    }
    // An exact half (or half minus one) may be quorate with the tie-breaker, when the other
    // partition cannot be.
    if (atb_ != Atb::none && total_votes == me.expected_votes / 2 &&
        static_cast<std::int64_t>(previous_quorum_members_.size()) -
                static_cast<std::int64_t>(quorum_members_.size()) <
            quorum_ &&
        check_auto_tie_breaker())
        quorate = true;
    if (qdevice_master_wins_ && !quorate && check_qdevice_master()) {
        api_.log(LogLevel::debug, "VOTEQ", "node is quorate as part of master_wins partition");
        quorate = true;
    }
    bool change = false;
    if (cluster_is_quorate_ && !quorate) {
        change = true;
        api_.log(LogLevel::debug, "VOTEQ", "quorum lost, blocking activity");
    }
    if (!cluster_is_quorate_ && quorate) {
        change = true;
        api_.log(LogLevel::debug, "VOTEQ", "quorum regained, resuming activity");
    }
    cluster_is_quorate_ = quorate;
    Node& me2 = us_mut();
    if (quorate)
        me2.flags |= pv::node_flag_quorate;
    else
        me2.flags &= ~pv::node_flag_quorate;
    if (wait_for_all_)
        update_wait_for_all_status(!quorate);
    if (change && !sync_in_progress_) {
        listener_.set_quorum(quorum_members_, cluster_is_quorate_, quorum_ringid_);
        send_quorum_notification(std::nullopt);
    }
}

// recalculate_quorum: keep expected votes at the highest total seen, then decide.
void Votequorum::recalculate_quorum(bool allow_decrease, bool by_current_nodes) {
    std::uint32_t total_votes = 0, cluster_members = 0;
    for (const Node& n : nodes_)
        if (n.state == NodeState::member) {
            cluster_members++;
            total_votes += n.votes;
        }
    if (qdevice_.votes) {
        total_votes += qdevice_.votes;
        cluster_members++;
    }
    if (!by_current_nodes)
        cluster_members = 0;
    Node& me = us_mut();
    api_.log(LogLevel::debug, "VOTEQ",
             "total_votes=" + u(total_votes) + ", expected_votes=" + u(me.expected_votes));
    if (total_votes > me.expected_votes) {
        me.expected_votes = total_votes;
        send_expectedvotes_notification();
    }
    if (ev_tracking_ && us().expected_votes > ev_tracking_barrier_)
        update_ev_tracking_barrier(us().expected_votes);
    quorum_ =
        static_cast<std::uint8_t>(calculate_quorum(allow_decrease, cluster_members, &total_votes));
    update_node_expected_votes(cluster_members);
    are_we_quorate(total_votes);
}

std::uint32_t Votequorum::total_votes() const {
    std::uint32_t t = 0;
    for (const Node& n : nodes_)
        if (n.state == NodeState::member)
            t += n.votes;
    if (us().flags & pv::node_flag_qdevice_cast_vote)
        t += qdevice_.votes;
    return t;
}

std::uint32_t Votequorum::highest_expected() const {
    std::uint32_t h = 0;
    for (const Node& n : nodes_)
        if (n.state == NodeState::member)
            h = std::max(h, n.expected_votes);
    return h;
}

// ---- sending -----------------------------------------------------------------------------------

void Votequorum::decode_flags(std::uint32_t flags) {
    api_.log(LogLevel::debug, "VOTEQ",
             std::string("flags: quorate: ") + yes_no(flags & pv::node_flag_quorate) +
                 " Leaving: " + yes_no(flags & pv::node_flag_leaving) +
                 " WFA Status: " + yes_no(flags & pv::node_flag_wfastatus) +
                 " First: " + yes_no(flags & pv::node_flag_first) +
                 " Qdevice: " + yes_no(flags & pv::node_flag_qdevice_registered) +
                 " QdeviceAlive: " + yes_no(flags & pv::node_flag_qdevice_alive) +
                 " QdeviceCastVote: " + yes_no(flags & pv::node_flag_qdevice_cast_vote) +
                 " QdeviceMasterWins: " + yes_no(flags & pv::node_flag_qdevice_master_wins));
}

bool Votequorum::send_nodeinfo(NodeId nodeid) {
    const Node* n = find(nodeid);
    if (!n)
        return false;
    pv::ExecNodeInfo m{nodeid, n->votes, n->expected_votes, n->flags};
    if (nodeid != pv::qdevice_nodeid)
        decode_flags(n->flags);
    return api_.mcast(pv::encode(m));
}

bool Votequorum::send_reconfigure(std::uint8_t param, NodeId nodeid, std::uint32_t value) {
    return api_.mcast(pv::encode(pv::ExecReconfigure{nodeid, value, param}));
}

bool Votequorum::send_qdevice_reg(std::uint32_t operation, const std::string& name) {
    return api_.mcast(pv::encode(pv::ExecQdeviceReg{operation, name}));
}

bool Votequorum::send_qdevice_reconfigure(const std::string& oldname, const std::string& newname) {
    return api_.mcast(pv::encode(pv::ExecQdeviceReconfigure{oldname, newname}));
}

// votequorum_exec_send_quorum_notification: every known node and its state (and the device's,
// when registered here); to one connection with its request's context, or to every tracker.
void Votequorum::send_quorum_notification(std::optional<Tracker> to) {
    api_.log(LogLevel::debug, "VOTEQ",
             "Sending quorum callback, quorate = " + u(cluster_is_quorate_ ? 1 : 0));
    pv::ResQuorumNotification n;
    n.quorate = cluster_is_quorate_ ? 1 : 0;
    for (const Node& x : nodes_)
        n.nodes.push_back(pv::Node{x.id, static_cast<std::uint32_t>(x.state)});
    if (us().flags & pv::node_flag_qdevice_registered)
        n.nodes.push_back(pv::Node{pv::qdevice_nodeid, static_cast<std::uint32_t>(qdevice_.state)});
    if (to) {
        n.context = to->context;
        api_.send_event(to->conn, pv::encode(n));
        return;
    }
    for (ConnId t : trackers_) {
        n.context = conns_[t].context;
        api_.send_event(t, pv::encode(n));
    }
}

void Votequorum::send_nodelist_notification(std::optional<Tracker> to) {
    api_.log(LogLevel::debug, "VOTEQ",
             "Sending nodelist callback. ring_id = " + quorum_ringid_.str());
    pv::ResNodelistNotification n;
    n.ring_id = mar(quorum_ringid_);
    n.nodes.assign(quorum_members_.begin(),
                   quorum_members_.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                 quorum_members_.size(), pv::nodelist_max)));
    if (to) {
        n.context = to->context;
        api_.send_event(to->conn, pv::encode(n));
        return;
    }
    for (ConnId t : trackers_) {
        n.context = conns_[t].context;
        api_.send_event(t, pv::encode(n));
    }
}

void Votequorum::send_expectedvotes_notification() {
    api_.log(LogLevel::debug, "VOTEQ", "Sending expected votes callback");
    pv::ResExpectedVotesNotification n;
    n.expected_votes = us().expected_votes;
    for (ConnId t : trackers_) {
        n.context = conns_[t].context;
        api_.send_event(t, pv::encode(n));
    }
}

// ---- exec
// ----------------------------------------------------------------------------------------

void Votequorum::exec(NodeId sender, std::uint16_t fn, ByteView message) {
    switch (static_cast<proto::votequorum::ExecFn>(fn)) {
        case proto::votequorum::ExecFn::nodeinfo:
            return on_nodeinfo(sender, message);
        case proto::votequorum::ExecFn::reconfigure:
            return on_reconfigure(sender, message);
        case proto::votequorum::ExecFn::qdevice_reg:
            return on_qdevice_reg(sender, message);
        case proto::votequorum::ExecFn::qdevice_reconfigure:
            return on_qdevice_reconfigure(sender, message);
        case proto::votequorum::ExecFn::count:
            break;
    }
}

void Votequorum::drop(NodeId sender, const char* what, proto::DecodeError e) {
    if (dropped_exec_++ == 0)
        api_.log(LogLevel::warning, "VOTEQ",
                 std::string("Dropping a malformed ") + what + " from node " + u(sender) + ": " +
                     std::string(proto::to_string(e)));
    api_.keys().set("stats.totemd.dropped.votequorum", Value::u64(dropped_exec_));
}

void Votequorum::on_nodeinfo(NodeId sender, ByteView message) {
    auto m = pv::decode_exec_nodeinfo(message);
    if (!m)
        return drop(sender, "NODEINFO", m.error());
    const NodeId nodeid = m->nodeid;
    api_.log(LogLevel::debug, "VOTEQ", "got nodeinfo message from cluster node " + u(sender));
    api_.log(LogLevel::debug, "VOTEQ",
             "nodeinfo message[" + u(nodeid) + "]: votes: " + u(m->votes) +
                 ", expected: " + u(m->expected_votes) + " flags: " + u(m->flags));
    if (nodeid != pv::qdevice_nodeid)
        decode_flags(m->flags);
    if (nodeid == pv::qdevice_nodeid && !find(sender)) {
        // corosync asserts here; a node always sends its own NODEINFO before the device's
        return drop(sender, "quorum device NODEINFO (its sender is unknown)",
                    proto::DecodeError::unknown_id);
    }
    Node* n = find(nodeid);
    bool new_node = false;
    if (!n) {
        n = allocate(nodeid);
        new_node = true;
        if (!n)
            return;
    }
    const std::uint32_t old_votes = new_node ? 0 : n->votes;
    const std::uint32_t old_expected = new_node ? 0 : n->expected_votes;
    const NodeState old_state = new_node ? NodeState::dead : n->state;
    const std::uint32_t old_flags = new_node ? 0 : n->flags;
    bool allow_downgrade = false, by_node = false;

    if (nodeid == pv::qdevice_nodeid) {
        const Node* from = find(sender);
        if (!cluster_is_quorate_ && (from->flags & pv::node_flag_quorate))
            n->votes = m->votes;
        else
            n->votes = std::max(n->votes, m->votes);
    } else {
        n->flags = m->flags;
        n->votes = m->votes;
        n->state = NodeState::member;
        if (n->flags & pv::node_flag_leaving) {
            n->state = NodeState::leaving;
            allow_downgrade = true;
            by_node = true;
        }
        if (!cluster_is_quorate_ && (n->flags & pv::node_flag_quorate)) {
            allow_downgrade = true;
            us_mut().expected_votes = m->expected_votes;
        }
        if ((n->flags & pv::node_flag_quorate) || ev_tracking_)
            n->expected_votes = m->expected_votes;
        else
            n->expected_votes = us().expected_votes;
        if (last_man_standing_ && n->votes > 1) {
            api_.log(LogLevel::warning, "VOTEQ",
                     "Last Man Standing feature is supported only when all"
                     "cluster nodes votes are set to 1. Disabling LMS.");
            last_man_standing_ = false;
            lms_deadline_.reset();
        }
    }
    // `n` stays valid: nothing below adds or removes a record
    if (new_node || nodeid == us_id_ || (n->flags & pv::node_flag_first) || old_votes != n->votes ||
        old_expected != n->expected_votes || old_flags != n->flags || old_state != n->state)
        recalculate_quorum(allow_downgrade, by_node);
    const Node* after = find(nodeid);
    if (wait_for_all_ && !(after->flags & pv::node_flag_wfastatus) &&
        (after->flags & pv::node_flag_quorate))
        update_wait_for_all_status(false);
}

void Votequorum::on_reconfigure(NodeId sender, ByteView message) {
    auto m = pv::decode_exec_reconfigure(message);
    if (!m)
        return drop(sender, "RECONFIGURE", m.error());
    api_.log(LogLevel::debug, "VOTEQ",
             "got reconfigure message from cluster node " + u(sender) + " for " + u(m->nodeid));
    switch (m->param) {
        case pv::reconfig_param_expected_votes:
            update_node_expected_votes(m->value);
            send_expectedvotes_notification();
            update_ev_barrier(m->value);
            if (ev_tracking_)
                us_mut().expected_votes = std::max(us().expected_votes, ev_tracking_barrier_);
            recalculate_quorum(true, false);
            break;
        case pv::reconfig_param_node_votes: {
            Node* n = find(m->nodeid);
            if (!n)
                return;
            n->votes = m->value;
            recalculate_quorum(true, false);
            break;
        }
        case pv::reconfig_param_cancel_wfa:
            update_wait_for_all_status(false);
            api_.log(LogLevel::info, "VOTEQ",
                     "wait_for_all_status reset by user on node " + u(m->nodeid) + ".");
            recalculate_quorum(false, false);
            break;
        default:
            break;  // corosync ignores other values
    }
}

void Votequorum::on_qdevice_reg(NodeId sender, ByteView message) {
    auto m = pv::decode_exec_qdevice_reg(message);
    if (!m)
        return drop(sender, "QDEVICE_REG", m.error());
    api_.log(LogLevel::debug, "VOTEQ",
             "Received qdevice op " + u(m->operation) + " req from node " + u(sender) + " [" +
                 m->qdevice_name + "]");
    if (m->operation == pv::qdevice_operation_register) {
        if (sender != us_id_) {
            if (qdevice_name_.empty()) {
                api_.log(LogLevel::debug, "VOTEQ", "Remote qdevice name recorded");
                qdevice_name_ = m->qdevice_name;
            }
            return;
        }
        // our own broadcast to new members at sync, with no registration in progress
        if (us().flags & pv::node_flag_qdevice_registered)
            return;
        if (!qdevice_reg_conn_) {
            api_.log(LogLevel::warning, "VOTEQ",
                     "Unable to determine origin of the qdevice register call!");
            return;
        }
        if (qdevice_name_.empty())
            qdevice_name_ = m->qdevice_name;
        CsError e = CsError::ok;
        if (same_name(m->qdevice_name, qdevice_name_)) {
            us_mut().flags |= pv::node_flag_qdevice_registered;
            send_nodeinfo(pv::qdevice_nodeid);
            send_nodeinfo(us_id_);
        } else {
            api_.log(LogLevel::warning, "VOTEQ",
                     "A new qdevice with different name (new: " + m->qdevice_name +
                         " old: " + qdevice_name_ + ") is trying to register!");
            e = CsError::err_exist;
        }
        const ConnId conn = *qdevice_reg_conn_;
        qdevice_reg_conn_.reset();
        if (api_.client(conn))  // corosync answers even a connection that has gone
            status(conn, e);
        return;
    }
    if (m->operation == pv::qdevice_operation_unregister) {
        const bool still = std::any_of(nodes_.begin(), nodes_.end(), [](const Node& n) {
            return n.state == NodeState::member && (n.flags & pv::node_flag_qdevice_registered);
        });
        if (!still)
            qdevice_name_.clear();
    }
}

void Votequorum::on_qdevice_reconfigure(NodeId sender, ByteView message) {
    auto m = pv::decode_exec_qdevice_reconfigure(message);
    if (!m)
        return drop(sender, "QDEVICE_RECONFIGURE", m.error());
    api_.log(LogLevel::debug, "VOTEQ",
             "Received qdevice name change req from node " + u(sender) + " [from: " + m->oldname +
                 " to: " + m->newname + "]");
    if (m->oldname == qdevice_name_) {
        api_.log(LogLevel::debug, "VOTEQ", "Allowing qdevice rename");
        qdevice_name_ = m->newname;
    }
}

// ---- sync (votequorum_sync_*)
// --------------------------------------------------------------------

void Votequorum::sync_init(const NodeList&, const NodeList& members, const RingId& ring) {
    sync_in_progress_ = true;
    sync_nodeinfo_sent_ = false;
    sync_wait_for_poll_or_timeout_ = false;
    if (members.size() > 1)
        us_mut().flags &= ~pv::node_flag_first;
    // nodes of the last quorum membership that are gone are DEAD (last_man_standing needs to
    // know that somebody left)
    bool left_nodes = false;
    for (NodeId id : quorum_members_) {
        if (contains(members, id))
            continue;
        left_nodes = true;
        if (Node* n = find(id))
            n->state = NodeState::dead;
    }
    if (last_man_standing_) {
        if ((members.size() >= quorum_ && left_nodes) ||
            (members.size() <= quorum_ && atb_ != Atb::none && member_with_id(lowest_node_id_)))
            lms_deadline_ = api_.now() + Duration::ms(lms_window_ms_);
    }
    previous_quorum_members_ = quorum_members_;
    quorum_members_ = members;
    quorum_ringid_ = ring;
    const Node& me = us();
    if ((me.flags & pv::node_flag_qdevice_registered) && (me.flags & pv::node_flag_qdevice_alive)) {
        // wait for a poll with the new ring id, at most the sync timeout
        qdevice_deadline_ = api_.now() + Duration::ms(qdevice_sync_timeout_ms_);
        qdevice_timer_set_ = true;
        sync_wait_for_poll_or_timeout_ = true;
        api_.log(LogLevel::info, "VOTEQ",
                 "waiting for quorum device " + qdevice_name_ + " poll (but maximum for " +
                     u(qdevice_sync_timeout_ms_) + " ms)");
    }
}

bool Votequorum::sync_process() {
    if (!sync_nodeinfo_sent_) {
        send_nodeinfo(us_id_);
        send_nodeinfo(pv::qdevice_nodeid);
        if (!qdevice_name_.empty())
            send_qdevice_reg(pv::qdevice_operation_register, qdevice_name_);
        send_nodelist_notification(std::nullopt);
        sync_nodeinfo_sent_ = true;
    }
    if ((us().flags & pv::node_flag_qdevice_registered) && sync_wait_for_poll_or_timeout_)
        return false;  // waiting for the device's poll with the new ring id, or its timeout
    return true;
}

void Votequorum::sync_activate() {
    recalculate_quorum(false, false);
    listener_.set_quorum(quorum_members_, cluster_is_quorate_, quorum_ringid_);
    send_quorum_notification(std::nullopt);
    sync_in_progress_ = false;
}

// ---- exit (votequorum_exec_exit_fn)
// ---------------------------------------------------------------

void Votequorum::exec_exit() {
    // allow_downscale: tell the others we leave, so that they count us out
    if (allow_downscale_) {
        us_mut().flags |= pv::node_flag_leaving;
        send_nodeinfo(us_id_);
    }
}

// ---- timers
// ----------------------------------------------------------------------------------------

std::optional<Instant> Votequorum::next_deadline() const {
    if (lms_deadline_ && qdevice_deadline_)
        return std::min(*lms_deadline_, *qdevice_deadline_);
    return lms_deadline_ ? lms_deadline_ : qdevice_deadline_;
}

void Votequorum::on_timer(Instant now) {
    if (lms_deadline_ && *lms_deadline_ <= now) {
        lms_deadline_.reset();
        // votequorum_last_man_standing_timer_fn: recount by the nodes present now
        if (cluster_is_quorate_)
            recalculate_quorum(true, true);
    }
    if (qdevice_deadline_ && *qdevice_deadline_ <= now) {
        qdevice_deadline_.reset();
        qdevice_timer_fired();
    }
}

void Votequorum::qdevice_timer_fired() {
    Node& me = us_mut();
    if (!(me.flags & pv::node_flag_qdevice_alive) || !qdevice_timer_set_)
        return;
    me.flags &= ~(pv::node_flag_qdevice_alive | pv::node_flag_qdevice_cast_vote);
    api_.log(LogLevel::info, "VOTEQ", "lost contact with quorum device " + qdevice_name_);
    send_nodeinfo(us_id_);
    qdevice_timer_set_ = false;
    sync_wait_for_poll_or_timeout_ = false;
}

// ---- requests ----------------------------------------------------------------------------------

bool Votequorum::lib_init(const ClientInfo& client) {
    conns_[client.conn] = Conn{};
    return true;
}

void Votequorum::lib_exit(ConnId conn) {
    std::erase(trackers_, conn);
    conns_.erase(conn);
}

void Votequorum::status(ConnId conn, CsError e) {
    api_.respond(conn, pv::encode(pv::ResStatus{e}));
}

void Votequorum::reply_invalid(ConnId conn, std::int32_t id) {
    decode_errors_++;
    if (static_cast<pv::ReqId>(id) == pv::ReqId::getinfo) {
        pv::ResGetInfo r;
        r.error = CsError::err_invalid_param;
        api_.respond(conn, pv::encode(r));
        return;
    }
    status(conn, CsError::err_invalid_param);
}

void Votequorum::lib_request(ConnId conn, std::int32_t id, ByteView request) {
    auto req = pv::decode_request(request);
    if (!req) {
        reply_invalid(conn, id);
        return;
    }
    Conn& c = conns_[conn];
    std::visit(
        [&](auto& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, pv::ReqGetInfo>) {
                api_.log(
                    LogLevel::debug, "VOTEQ",
                    "got getinfo request on " + u(conn) + " for node " + std::to_string(r.nodeid));
                NodeId nodeid = static_cast<NodeId>(r.nodeid);
                if (nodeid == pv::qdevice_nodeid)
                    nodeid = us_id_;
                pv::ResGetInfo res;
                const Node* n = find(nodeid);
                if (!n) {
                    res.error = CsError::err_not_exist;
                } else {
                    std::uint32_t total = 0;
                    for (const Node& x : nodes_)
                        if (x.state == NodeState::member)
                            total += x.votes;
                    if (n->flags & pv::node_flag_qdevice_cast_vote)
                        total += qdevice_.votes;
                    res.nodeid = n->id;
                    res.state = static_cast<std::uint32_t>(n->state);
                    res.votes = n->votes;
                    res.expected_votes = n->expected_votes;
                    res.highest_expected = highest_expected();
                    res.total_votes = total;
                    res.quorum = quorum_;
                    std::uint32_t f = 0;
                    if (two_node_)
                        f |= pv::info_twonode;
                    if (cluster_is_quorate_)
                        f |= pv::info_quorate;
                    if (wait_for_all_)
                        f |= pv::info_wait_for_all;
                    if (last_man_standing_)
                        f |= pv::info_last_man_standing;
                    if (atb_ != Atb::none)
                        f |= pv::info_auto_tie_breaker;
                    if (allow_downscale_)
                        f |= pv::info_allow_downscale;
                    if (n->flags & pv::node_flag_qdevice_registered)
                        f |= pv::info_qdevice_registered;
                    if (n->flags & pv::node_flag_qdevice_alive)
                        f |= pv::info_qdevice_alive;
                    if (n->flags & pv::node_flag_qdevice_cast_vote)
                        f |= pv::info_qdevice_cast_vote;
                    if (n->flags & pv::node_flag_qdevice_master_wins)
                        f |= pv::info_qdevice_master_wins;
                    res.flags = f;
                    res.qdevice_votes = qdevice_.votes;
                    res.qdevice_name = qdevice_name_;
                }
                api_.respond(conn, pv::encode(res));
                api_.log(LogLevel::debug, "VOTEQ",
                         "getinfo response error: " + u(static_cast<std::uint32_t>(res.error)));
            } else if constexpr (std::is_same_v<T, pv::ReqSetExpected>) {
                // validated with allow_downscale off: expected votes below the total make no
                // sense, and a quorate cluster must stay quorate
                const bool saved = allow_downscale_;
                allow_downscale_ = false;
                std::uint32_t total = 0;
                const std::uint32_t newquorum = calculate_quorum(true, r.expected_votes, &total);
                allow_downscale_ = saved;
                CsError e = CsError::ok;
                if (r.expected_votes < total || (cluster_is_quorate_ && newquorum > total)) {
                    e = CsError::err_invalid_param;
                } else {
                    update_node_expected_votes(r.expected_votes);
                    if (!send_reconfigure(pv::reconfig_param_expected_votes, us_id_,
                                          r.expected_votes))
                        e = CsError::err_no_resources;
                }
                status(conn, e);
            } else if constexpr (std::is_same_v<T, pv::ReqSetVotes>) {
                const NodeId nodeid = static_cast<NodeId>(r.nodeid);
                Node* n = find(nodeid);
                if (!n)
                    return status(conn, CsError::err_name_not_found);
                const std::uint32_t saved = n->votes;
                n->votes = r.votes;
                std::uint32_t total = 0;
                const std::uint32_t newquorum = calculate_quorum(true, 0, &total);
                if (newquorum < total / 2 || newquorum > total) {
                    find(nodeid)->votes = saved;
                    return status(conn, CsError::err_invalid_param);
                }
                // (the new votes stay in the local record, as in corosync, until delivered)
                status(conn, send_reconfigure(pv::reconfig_param_node_votes, nodeid, r.votes)
                                 ? CsError::ok
                                 : CsError::err_no_resources);
            } else if constexpr (std::is_same_v<T, pv::ReqTrackStart>) {
                if (r.track_flags & (track_current | track_changes)) {
                    api_.log(LogLevel::debug, "VOTEQ", "sending initial status to " + u(conn));
                    send_nodelist_notification(Tracker{conn, r.context});
                    send_quorum_notification(Tracker{conn, r.context});
                }
                CsError e = CsError::ok;
                if (c.tracking) {
                    e = CsError::err_exist;
                } else if (r.track_flags & (track_changes | track_changes_only)) {
                    c.track_flags = r.track_flags;
                    c.tracking = true;
                    c.context = r.context;
                    trackers_.insert(trackers_.begin(), conn);
                }
                status(conn, e);
            } else if constexpr (std::is_same_v<T, pv::ReqTrackStop>) {
                CsError e = CsError::ok;
                if (c.tracking) {
                    c.tracking = false;
                    std::erase(trackers_, conn);
                } else {
                    e = CsError::err_not_exist;
                }
                status(conn, e);
            } else if constexpr (std::is_same_v<T, pv::ReqQdeviceRegister>) {
                if (!qdevice_can_operate_) {
                    api_.log(LogLevel::info, "VOTEQ",
                             "Registration of quorum device is disabled by incorrect "
                             "corosync.conf. See logs for more information");
                    return status(conn, CsError::err_access);
                }
                if (us().flags & pv::node_flag_qdevice_registered) {
                    if (same_name(r.name, qdevice_name_))
                        return status(conn, CsError::ok);
                    api_.log(LogLevel::warning, "VOTEQ",
                             "A new qdevice with different name (new: " + r.name +
                                 " old: " + qdevice_name_ + ") is trying to re-register!");
                    return status(conn, CsError::err_exist);
                }
                if (qdevice_reg_conn_) {
                    api_.log(LogLevel::warning, "VOTEQ",
                             "Registration request already in progress");
                    return status(conn, CsError::err_try_again);
                }
                qdevice_reg_conn_ = conn;
                if (!send_qdevice_reg(pv::qdevice_operation_register, r.name)) {
                    api_.log(LogLevel::warning, "VOTEQ",
                             "Unable to send qdevice registration request to cluster");
                    qdevice_reg_conn_.reset();
                    return status(conn, CsError::err_try_again);
                }
                // answered when the QDEVICE_REG comes back (on_qdevice_reg)
            } else if constexpr (std::is_same_v<T, pv::ReqQdeviceUnregister>) {
                if (!(us().flags & pv::node_flag_qdevice_registered))
                    return status(conn, CsError::err_not_exist);
                if (!same_name(r.name, qdevice_name_))
                    return status(conn, CsError::err_invalid_param);
                if (qdevice_timer_set_) {
                    qdevice_deadline_.reset();
                    qdevice_timer_set_ = false;
                    sync_wait_for_poll_or_timeout_ = false;
                }
                us_mut().flags &=
                    ~(pv::node_flag_qdevice_registered | pv::node_flag_qdevice_alive |
                      pv::node_flag_qdevice_cast_vote | pv::node_flag_qdevice_master_wins);
                send_nodeinfo(us_id_);
                send_qdevice_reg(pv::qdevice_operation_unregister, r.name);
                status(conn, CsError::ok);
            } else if constexpr (std::is_same_v<T, pv::ReqQdeviceUpdate>) {
                if (!(us().flags & pv::node_flag_qdevice_registered))
                    return status(conn, CsError::err_not_exist);
                if (!same_name(r.oldname, qdevice_name_))
                    return status(conn, CsError::err_invalid_param);
                send_qdevice_reconfigure(r.oldname, r.newname);
                status(conn, CsError::ok);
            } else if constexpr (std::is_same_v<T, pv::ReqQdevicePoll>) {
                if (!qdevice_can_operate_)
                    return status(conn, CsError::err_access);
                if (!(us().flags & pv::node_flag_qdevice_registered))
                    return status(conn, CsError::err_not_exist);
                if (!(r.ring_id.nodeid == quorum_ringid_.rep &&
                      r.ring_id.seq == quorum_ringid_.seq)) {
                    api_.log(LogLevel::debug, "VOTEQ",
                             "Received poll ring id (" +
                                 RingId{r.ring_id.nodeid, r.ring_id.seq}.str() +
                                 ") != last sync ring id (" + quorum_ringid_.str() +
                                 "). Ignoring poll call.");
                    return status(conn, CsError::err_message_error);
                }
                if (!same_name(r.name, qdevice_name_))
                    return status(conn, CsError::err_invalid_param);
                qdevice_deadline_.reset();
                qdevice_timer_set_ = false;
                Node& me = us_mut();
                const std::uint32_t old = me.flags;
                me.flags |= pv::node_flag_qdevice_alive;
                if (r.cast_vote)
                    me.flags |= pv::node_flag_qdevice_cast_vote;
                else
                    me.flags &= ~pv::node_flag_qdevice_cast_vote;
                if (me.flags != old)
                    send_nodeinfo(us_id_);
                qdevice_deadline_ = api_.now() + Duration::ms(qdevice_timeout_ms_);
                qdevice_timer_set_ = true;
                sync_wait_for_poll_or_timeout_ = false;
                status(conn, CsError::ok);
            } else if constexpr (std::is_same_v<T, pv::ReqQdeviceMasterWins>) {
                if (!qdevice_can_operate_)
                    return status(conn, CsError::err_access);
                if (!(us().flags & pv::node_flag_qdevice_registered))
                    return status(conn, CsError::err_not_exist);
                if (!same_name(r.name, qdevice_name_))
                    return status(conn, CsError::err_invalid_param);
                Node& me = us_mut();
                const std::uint32_t old = me.flags;
                if (r.allow)
                    me.flags |= pv::node_flag_qdevice_master_wins;
                else
                    me.flags &= ~pv::node_flag_qdevice_master_wins;
                if (me.flags != old)
                    send_nodeinfo(us_id_);
                update_qdevice_master_wins(r.allow != 0);
                status(conn, CsError::ok);
            }
        },
        *req);
}

void Votequorum::check_invariants() const {
    TOTEM_ASSERT(nodes_.size() <= node_records_max);
    TOTEM_ASSERT(node(us_id_) != nullptr || !init_error_.empty());
    for (std::size_t i = 0; i < nodes_.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            TOTEM_ASSERT(nodes_[i].id != nodes_[j].id);
    TOTEM_ASSERT(!(wait_for_all_status_ && cluster_is_quorate_));
    TOTEM_ASSERT(trackers_.size() <= conns_.size());
    for (ConnId t : trackers_) {
        auto it = conns_.find(t);
        TOTEM_ASSERT(it != conns_.end() && it->second.tracking);
    }
    TOTEM_ASSERT(!qdevice_deadline_ || qdevice_timer_set_);
}

}  // namespace totem::services
