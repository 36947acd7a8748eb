// relay/shard_ask.h — ask every shard something, by its ShardContext: the
// relay's face of engine::gather() (engine/shard_gather.h), which runs the
// function on each shard's own thread (the only thread that may touch its
// state) and waits, up to a deadline, for the answers.
//
// Blocks the caller: for the admin, metrics and main threads, never a shard
// thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "engine/shard_gather.h"
#include "relay/shard.h"

namespace ringmta::relay {

// How long the admin thread waits for the shards' answers, all together.
inline constexpr auto kShardAnswerTimeout = std::chrono::seconds(5);

// fn(ShardContext&) runs on each shard's thread. One entry per shard, in
// `peers` order; nullopt for a shard that did not answer before `deadline`
// (its fn may still run later; the answer is then dropped). A void fn gives
// std::monostate entries: "it ran". fn is copied once per shard.
template <class Fn, class R = std::invoke_result_t<Fn&, ShardContext&>,
          class T = std::conditional_t<std::is_void_v<R>, std::monostate, R>>
std::vector<std::optional<T>> ask_shards(const std::vector<ShardContext*>& peers, Fn fn,
                                         engine::Clock::duration deadline = kShardAnswerTimeout) {
  std::vector<engine::Reactor*> reactors;
  reactors.reserve(peers.size());
  for (ShardContext* ctx : peers) reactors.push_back(&ctx->reactor);
  // A late call may outlive `peers` (a caller's copy): it keeps its own.
  auto contexts = std::make_shared<const std::vector<ShardContext*>>(peers);
  return engine::gather(
      std::span<engine::Reactor* const>(reactors),
      [contexts, fn](unsigned i) mutable -> R { return fn(*(*contexts)[i]); }, deadline);
}

}  // namespace ringmta::relay
