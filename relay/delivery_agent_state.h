// relay/delivery_agent_state.h — the delivery agent's bookkeeping types
// (internal to delivery_agent.cpp; split out to keep that file readable).
//
// A Destination (one route key) holds the FIFO of waiting jobs and its Slots.
// A Slot is one connection lane counted against the destination's cap: it
// owns the current Outbound socket, the job it carries, and the target list
// it walks through after connection-level failures.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/resolver.h"
#include "relay/delivery_agent.h"
#include "relay/outbound.h"

namespace ringmta::relay::delivery_detail {

// Own namespace: generic names like Slot or Pending must not collide (ODR)
// with other files of the relay library.

// One job's recipients may need several transactions
// (delivery.max_recipients_per_transaction); the JobResult collects them.
struct Aggregate {
  JobResult result;
  size_t remaining = 0;
  DeliveryAgent::Done done;
};

struct Pending {
  DeliveryJob job;  // this part's recipients only
  std::shared_ptr<Aggregate> agg;
  size_t offset = 0;     // of this part's first recipient in agg->result
  bool retried = false;  // already retried after a dead reused connection
};

struct Target {
  std::string host;
  engine::SocketAddress address;
};

struct Destination;
struct Core;

struct Slot final : Outbound::Owner {
  Core* impl;
  Destination* dest;
  std::shared_ptr<Outbound> ob;  // null while resolving
  std::optional<Pending> job;    // the job this lane carries (or opened for)
  bool in_txn = false;
  bool quitting = false;
  bool resolving = false;
  dns::Resolver::RequestId dns_request = 0;
  std::vector<Target> targets;
  size_t next_target = 0;
  std::optional<smtp::RecipientResult> last_error;  // of the last failed target
  std::string last_host, last_addr;
  unsigned messages = 0;
  engine::TimerId idle_timer = 0;

  Slot(Core* i, Destination* d) : impl(i), dest(d) {}
  ~Slot() override;
  void outbound_ready(Outbound&) override;
  void outbound_result(Outbound&, smtp::TransactionResult tr) override;
  void outbound_closed(Outbound&) override;
};

struct Destination {
  std::string key;
  std::string domain;                // "mx:" destinations: the domain to look up
  std::optional<RouteTarget> route;  // relayhost / [delivery.routes] target
  OutboundTls tls = OutboundTls::May;  // delivery.tls / [delivery.tls_policy] of its domain(s)
  unsigned cap = 1;
  bool probing = false;              // first try after a down time: one connection until it works
  std::deque<Pending> waiting;
  std::vector<std::unique_ptr<Slot>> slots;

  bool has_established() const {
    return std::any_of(slots.begin(), slots.end(), [](const auto& s) { return s->ob && s->ob->established(); });
  }
};

}  // namespace ringmta::relay::delivery_detail
