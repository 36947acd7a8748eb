// relay/shard.cpp — the out-of-line destructor of ShardContext (see shard.h).
#include "relay/shard.h"

#include "relay/delivery_agent.h"
#include "relay/scheduler.h"

namespace ringmta::relay {

ShardContext::ShardContext(engine::Reactor& r, queue::Queue& q, std::shared_ptr<const config::Config> c,
                           std::shared_ptr<const smtp::ServerConfig> s, uint64_t id_floor_ms)
    : reactor(r), queue(q), config(std::move(c)), smtp(std::move(s)), ids(r.shard_id(), id_floor_ms) {}

ShardContext::~ShardContext() = default;

}  // namespace ringmta::relay
