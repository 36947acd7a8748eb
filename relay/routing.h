// relay/routing.h — which destination a recipient domain belongs to.
//
// The route key names a destination: its connection pool, concurrency cap
// and queue of jobs. Order of precedence (Postfix: transport map, then
// relayhost): [delivery.routes] entry for the domain -> "route:<target text>";
// else delivery.relayhost -> "relayhost"; else "mx:<domain>".
// The owning shard of a destination is destination_shard(key) — except
// "relayhost", which every shard serves itself (no cross-shard hop).
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "mail/address.h"  // recipient_domain

namespace ringmta::relay {

std::string route_key(const config::Config::Delivery& delivery, std::string_view domain);
// Stable across runs (not std::hash): FNV-1a of the key modulo shard_count.
unsigned destination_shard(std::string_view key, unsigned shard_count);

}  // namespace ringmta::relay
