// How quorum decisions travel between the quorum provider (votequorum), the quorum service and
// the node core — corosync's two small seams (exec/quorum.h, exec/vsf_quorum.c):
//
//   votequorum ──QuorumListener::set_quorum──▶ quorum service ◀──QuorumState::quorate── core
//
// * QuorumListener is corosync's quorum_set_quorate_fn_t: the provider calls it with every
//   decision (at each sync activation, and whenever the quorate flag changes between syncs),
//   inside the delivery that caused it, so the quorum service's notifications go out in order
//   with the provider's own (spec B3.6). Push, not pull: a decision is an event, and clients
//   (Pacemaker) see one notification per decision, even when the flag did not change.
// * QuorumState is corosync's quorum_callin_functions.quorate: what the node core reads for IPC
//   admission and flow control (exec/main.c corosync_sending_allowed, ipc_glue.c). The quorum
//   service hands it to the core through Api::quorum_initialize (corosync's
//   api->quorum_initialize); without it the core counts the node as quorate.
//
// The registry wires them (services/registry.cpp): it makes the quorum service, then the
// provider with the service as its listener. No service casts another.
#pragma once

#include "engine/totem/types.hpp"

namespace totem::services {

class QuorumListener {
  public:
    virtual ~QuorumListener() = default;
    // One decision: the members the provider counts (the last sync's member list), whether
    // this node is quorate, and that sync's ring id.
    virtual void set_quorum(const NodeList& view, bool quorate, const RingId& ring_id) = 0;
};

class QuorumState {
  public:
    virtual ~QuorumState() = default;
    virtual bool quorate() const = 0;
};

}  // namespace totem::services
