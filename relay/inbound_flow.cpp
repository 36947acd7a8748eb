// relay/inbound_flow.cpp — what keeps one inbound session's memory and time
// bounded whatever its client does: TCP back-pressure instead of buffers,
// the global in-flight body budget, the body's total deadline, and an end to
// closes that a client stalls by never reading.
//
// The cap for unsent output and for unprocessed input is the session's own
// ServerConfig::output_limit (16 KiB): the session stops running commands
// once that much output waits, so the socket queue then holds at least that
// much and on_drained() is sure to follow. Memory per session is then at
// most twice the cap plus one read, and its body, which counts against
// limits.inflight_memory. Everything else waits in the kernel's socket
// buffers, and the client's TCP window closes.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "relay/inbound.h"
#include "limits/inflight_budget.h"
#include "telemetry/metrics.h"

namespace ringmta::relay {

namespace {
// A waiting session looks at the in-flight budget again after 10 ms, then
// twice as long each time up to 320 ms: hundreds of waiting sessions cost a
// few hundred timer calls a second, not tens of thousands.
constexpr auto kBudgetRetryFirst = std::chrono::milliseconds(10);
constexpr auto kBudgetRetryMax = std::chrono::milliseconds(320);
// How long an orderly close may wait for the client to take our last reply.
constexpr auto kCloseGrace = std::chrono::seconds(10);
}  // namespace

uint64_t InboundSession::body_held() const {
  if (!session_) return 0;
  if (session_->phase() == smtp::Phase::AwaitCommit) return committing_size_;  // the batch holds it
  const std::string& m = session_->transaction().message;
  return m.empty() ? 0 : m.capacity();
}

// A body grows by appends; std::string would double its buffer, so a
// session could hold twice what it received, and the in-flight budget —
// which charges the buffer, the memory really used — would be passed by that
// much in a stroke. Growing by a quarter keeps the slack small at the cost of
// more copying (about four times the body over its whole growth, memcpy
// speed), only for bodies that are growing.
void InboundSession::reserve_body(size_t incoming) {
  const auto phase = session_->phase();
  if (phase != smtp::Phase::Data && phase != smtp::Phase::Bdat) return;
  std::string& m = session_->transaction().message;
  const size_t need = m.size() + incoming;
  if (m.capacity() >= need) return;
  // Not m.reserve(): libstdc++ grows to at least twice the old capacity
  // whatever is asked. A fresh string reserves exactly.
  std::string bigger;
  bigger.reserve(need + m.size() / 4);
  bigger.append(m);
  m.swap(bigger);
}

// The body deadline runs from DATA (or the first BDAT) to the end of data.
void InboundSession::track_body() {
  const auto phase = session_->phase();
  const bool in_body = session_->in_transaction() && phase != smtp::Phase::AwaitCommit &&
                       (phase == smtp::Phase::Data || phase == smtp::Phase::Bdat ||
                        !session_->transaction().message.empty());
  if (!in_body) {
    body_started_ = {};
  } else if (body_started_ == engine::Clock::time_point{}) {
    body_started_ = rate_window_ = last_activity_;
    rate_window_bytes_ = 0;
    if (timer_ != 0) {  // the armed timer may be for a later (inactivity) deadline
      shard_.reactor.cancel_timer(timer_);
      arm_timer();
    }
  }
}

engine::Clock::time_point InboundSession::body_deadline() const {
  const auto& limits = shard_.config->limits;
  if (body_started_ == engine::Clock::time_point{} || limits.min_data_rate == 0)
    return engine::Clock::time_point::max();
  const uint64_t received = session_->transaction().message.size();
  const auto total = body_started_ + limits.data_timeout + std::chrono::seconds(received / limits.min_data_rate);
  return std::min(total, rate_window_ + limits.data_timeout);
}

bool InboundSession::next_rate_window() {
  const auto& limits = shard_.config->limits;
  if (body_started_ == engine::Clock::time_point{} || limits.min_data_rate == 0) return false;
  const auto now = engine::Clock::now();
  const uint64_t received = session_->transaction().message.size();
  const auto total = body_started_ + limits.data_timeout + std::chrono::seconds(received / limits.min_data_rate);
  const uint64_t needed = limits.min_data_rate * static_cast<uint64_t>(limits.data_timeout.count());
  if (now >= total || received - rate_window_bytes_ < needed) return false;
  rate_window_ = now;
  rate_window_bytes_ = received;
  return true;
}

void InboundSession::set_reading(bool on) {
  if (on == !paused_) return;
  paused_ = !on;
  if (paused_) conn_.pause_reading();
  else conn_.resume_reading();
}

void InboundSession::update_flow() {
  if (closing_ || !session_) return;
  track_body();
  const bool was_waiting = budget_wait_;
  const uint64_t held = body_held();
  if (shard_.inflight && (held != charged_ || budget_wait_))  // no shared write when nothing changed
    budget_wait_ = !shard_.inflight->update(reinterpret_cast<uintptr_t>(this), charged_, held);
  if (!budget_wait_) budget_retry_ = kBudgetRetryFirst;
  if (budget_wait_ && !was_waiting) {
    ++telemetry::local().paused_inflight;
    budget_wait_since_ = engine::Clock::now();
    spdlog::debug("session {} [{}]: waiting for in-flight memory (holds {}, {} bytes in use, limits.inflight_memory {})",
                  number_, client_.ip(), held, shard_.inflight->used(), shard_.inflight->limit());
  } else if (!budget_wait_ && was_waiting && body_started_ != engine::Clock::time_point{}) {
    const auto waited = engine::Clock::now() - budget_wait_since_;  // our wait, not the client's
    body_started_ += waited;
    rate_window_ += waited;
  }
  if (budget_wait_ && budget_timer_ == 0) {
    budget_timer_ = shard_.reactor.add_timer(budget_retry_, [this] {
      budget_timer_ = 0;
      update_flow();
    });
    budget_retry_ = std::min<engine::Clock::duration>(budget_retry_ * 2, kBudgetRetryMax);
  }
  const size_t cap = shard_.smtp->output_limit;
  if (conn_.pending_output() >= cap && !output_blocked_) {
    output_blocked_ = true;
    ++telemetry::local().paused_output;
  }
  set_reading(!budget_wait_ && !output_blocked_ && session_->buffered_input() <= cap);
}

// Everything we sent is in the kernel: commands held back by the output
// limit can run now.
void InboundSession::on_drained(engine::Connection&) {
  if (closing_ || !session_ || !output_blocked_) return;
  output_blocked_ = false;
  act(session_->resume());
}

void InboundSession::release_budget() {
  if (shard_.inflight && charged_ != 0) shard_.inflight->update(reinterpret_cast<uintptr_t>(this), charged_, 0);
  if (budget_timer_ != 0) shard_.reactor.cancel_timer(budget_timer_);
  budget_timer_ = 0;
}

void InboundSession::close_connection() {
  if (close_timer_ == 0 && !closing_)
    close_timer_ = shard_.reactor.add_timer(kCloseGrace, [this] {
      close_timer_ = 0;
      spdlog::debug("session {} [{}]: client did not read the last reply; connection aborted", number_,
                    client_.ip());
      conn_.abort();
    });
  closing_ = true;
  conn_.close();
}

}  // namespace ringmta::relay
