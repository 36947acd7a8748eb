// engine/shard_gather.h — the one cross-shard question: run a function on
// every shard's own thread and gather the answers, waiting at most a deadline.
//
// A shard's state may only be touched on its own thread, so anything that
// needs all shards (metrics, the admin API, shutdown) posts a function to
// each reactor (Reactor::post) and waits for the answers. gather() is that
// loop, written once, with one rule for what a late answer does.
//
// Who may call it: a thread that is not one of the shards' threads (the
// admin thread, the metrics exposer, the daemon's main thread). It blocks
// its caller: a shard thread calling it would stall its own connections and,
// waiting on itself, could not answer before the deadline.
//
// At the deadline: the shards that have not answered get nullopt; the call
// returns. Their functions still run later if their reactors are running
// (the work is already posted and cannot be taken back); their results are
// then dropped. Everything a late call touches (its copy of fn, the shared
// state) is owned by the posted closure, so the caller's stack and objects
// may be gone by then. A reactor that never runs again (stopped) simply never
// answers; its closure is freed with its mailbox.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "engine/reactor.h"
#include "engine/shard_group.h"

namespace ringmta::engine {

// Wait as long as it takes (shutdown steps that must have run on every shard).
inline constexpr Clock::duration kNoDeadline = Clock::duration::max();

// What gather() collects from fn(unsigned): its result, or std::monostate for
// a function returning void (the answer then only says "it ran").
template <class Fn>
using GatherAnswer = std::conditional_t<std::is_void_v<std::invoke_result_t<Fn&, unsigned>>, std::monostate,
                                        std::invoke_result_t<Fn&, unsigned>>;

namespace detail {

// Shared by the caller and every posted closure; the last of them frees it.
template <class T>
struct GatherState {
  explicit GatherState(size_t n) : got(n) {}
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<T>> got;
  size_t answered = 0;
  bool closed = false;  // the caller has stopped waiting: answers are dropped
};

}  // namespace detail

// Run fn(i) on shards[i]'s thread for every i, concurrently on all shards, and
// wait until all have answered or `deadline` (from now) has passed. Returns
// one entry per shard, in `shards` order: fn's result, or nullopt for a shard
// that did not answer in time. fn is copied once per shard (so it must be
// copyable, and each copy is called once, on one thread); its result is moved
// across threads. Zero shards: an empty vector at once.
template <class Fn, class T = GatherAnswer<Fn>>
std::vector<std::optional<T>> gather(std::span<Reactor* const> shards, Fn fn, Clock::duration deadline) {
  if (shards.empty()) return {};
  auto state = std::make_shared<detail::GatherState<T>>(shards.size());
  for (size_t i = 0; i < shards.size(); ++i) {
    shards[i]->post([state, fn, i]() mutable {
      std::optional<T> answer;
      if constexpr (std::is_void_v<std::invoke_result_t<Fn&, unsigned>>) {
        fn(static_cast<unsigned>(i));
        answer.emplace();
      } else {
        answer.emplace(fn(static_cast<unsigned>(i)));
      }
      std::lock_guard lock(state->mu);
      if (state->closed) return;  // too late: nobody reads it any more
      state->got[i] = std::move(answer);
      ++state->answered;
      state->cv.notify_all();
    });
  }
  std::unique_lock lock(state->mu);
  const auto all = [&] { return state->answered == state->got.size(); };
  const auto now = Clock::now();
  // A deadline beyond what a time point can hold (kNoDeadline) means no deadline.
  if (deadline >= Clock::time_point::max() - now) {
    state->cv.wait(lock, all);
  } else {
    state->cv.wait_until(lock, now + deadline, all);
  }
  state->closed = true;
  return std::move(state->got);
}

// The same for every shard of a group, indexed by shard number.
template <class Fn, class T = GatherAnswer<Fn>>
std::vector<std::optional<T>> gather(ShardGroup& group, Fn fn, Clock::duration deadline) {
  std::vector<Reactor*> shards;
  shards.reserve(group.size());
  for (unsigned i = 0; i < group.size(); ++i) shards.push_back(&group.shard(i));
  return gather<Fn, T>(std::span<Reactor* const>(shards), std::move(fn), deadline);
}

}  // namespace ringmta::engine
