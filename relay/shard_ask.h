// relay/shard_ask.h — ask every shard something from the admin thread: run a
// function on each shard's own thread (the only thread that may touch its
// state) and wait, bounded, for the answers.
//
// Blocks the caller: for the admin thread only, never on a shard thread.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "relay/shard.h"

namespace ringmta::relay {

// How long the admin thread waits for each shard's answer.
inline constexpr auto kShardAnswerTimeout = std::chrono::seconds(5);

// fn(ShardContext&) runs on each shard's thread. One entry per shard, in
// `peers` order; nullopt for a shard that did not answer within
// kShardAnswerTimeout of the wait for it (its fn may still run later). fn must return a value (not void).
template <class Fn, class R = std::invoke_result_t<Fn&, ShardContext&>>
std::vector<std::optional<R>> ask_shards(const std::vector<ShardContext*>& peers, Fn fn) {
  std::vector<std::future<R>> answers;
  answers.reserve(peers.size());
  for (ShardContext* ctx : peers) {
    auto promise = std::make_shared<std::promise<R>>();
    answers.push_back(promise->get_future());
    ctx->reactor.post([ctx, promise, fn] { promise->set_value(fn(*ctx)); });
  }
  std::vector<std::optional<R>> out;
  out.reserve(answers.size());
  for (auto& f : answers) {
    if (f.wait_for(kShardAnswerTimeout) == std::future_status::ready) {
      out.emplace_back(f.get());
    } else {
      out.emplace_back(std::nullopt);
    }
  }
  return out;
}

}  // namespace ringmta::relay
