// proto/pop3/server_session_maildrop.cpp — the TRANSACTION state (RFC 1939
// §5: STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP is in the dispatch) and
// QUIT with the UPDATE state (§6), plus the host's answers for them:
// message_data / message_failed and commit_done.
//
// Multi-line responses never pile up beyond the output limit: LIST and
// UIDL emit their lines in slices (resume() continues), RETR and TOP ask the
// host for fetch_chunk bytes at a time and only once the output is below
// output_limit. The "+OK" of RETR/TOP goes out with the first bytes, so a
// message the host cannot read is still an ordinary "-ERR".
//
// DELE only marks (deleted messages vanish from STAT/LIST/UIDL and are
// refused by RETR/TOP/DELE); QUIT hands every mark to the host in one
// Action::Commit; nothing else ever does.
#include <algorithm>
#include <charconv>
#include <string>
#include <utility>

#include "proto/pop3/server_session_impl.h"

namespace ringmta::pop3 {
namespace {

// Decimal digits only (no sign, no spaces); nullopt otherwise. Values too
// large for uint64_t saturate: as message numbers they are simply too big.
std::optional<uint64_t> parse_number(std::string_view s) {
  if (s.empty() || s.size() > 40) return std::nullopt;
  for (char ch : s)
    if (ch < '0' || ch > '9') return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) return UINT64_MAX;
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<size_t> ServerSession::Impl::message_arg(std::string_view arg, bool allow_deleted) {
  const auto n = parse_number(arg);
  if (!n) {
    error("-ERR Invalid message number");
    return std::nullopt;
  }
  if (*n == 0 || *n > messages.size()) {
    reply("-ERR No such message");
    return std::nullopt;
  }
  const size_t index = static_cast<size_t>(*n - 1);
  if (deleted[index] && !allow_deleted) {
    reply("-ERR Message " + std::to_string(*n) + " already deleted");
    return std::nullopt;
  }
  return index;
}

void ServerSession::Impl::cmd_stat(const Command& c) {
  if (!c.raw_arg.empty()) return error("-ERR Syntax: STAT");
  reply("+OK " + std::to_string(live) + " " + std::to_string(live_octets));
}

void ServerSession::Impl::cmd_list(const Command& c, bool uidl) {
  if (!c.arg.empty()) {
    const auto i = message_arg(c.arg, false);
    if (!i) return;
    reply("+OK " + std::to_string(*i + 1) + " " +
          (uidl ? messages[*i].uidl : std::to_string(messages[*i].size)));
    return;
  }
  if (uidl) reply("+OK Unique-ID listing follows");
  else reply("+OK " + maildrop_size());
  producer = uidl ? Producer::Uidl : Producer::List;
  list_next = 0;
  produce();
}

void ServerSession::Impl::cmd_retr(const Command& c, bool is_top) {
  std::string_view num = c.arg;
  std::optional<uint64_t> lines;
  if (is_top) {
    const size_t sp = c.arg.find_first_of(" \t");
    if (sp == std::string_view::npos) return error("-ERR Syntax: TOP message lines");
    num = c.arg.substr(0, sp);
    std::string_view rest = c.arg.substr(sp + 1);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    lines = parse_number(rest);
    if (!lines) return error("-ERR Syntax: TOP message lines");
  } else if (num.empty()) {
    return error("-ERR Syntax: RETR message");
  }
  const auto i = message_arg(num, false);
  if (!i) return;
  top = is_top;
  writer.emplace(lines);
  first_chunk = true;
  fetch = FetchRequest{*i, 0, std::max<size_t>(1, cfg->fetch_chunk), top};
  producer = Producer::Message;
  produce();
}

void ServerSession::Impl::cmd_dele(const Command& c) {
  if (c.arg.empty()) return error("-ERR Syntax: DELE message");
  const auto i = message_arg(c.arg, false);
  if (!i) return;
  deleted[*i] = true;
  --live;
  live_octets -= messages[*i].size;
  reply("+OK Message " + std::to_string(*i + 1) + " deleted");
}

void ServerSession::Impl::cmd_rset(const Command& c) {
  if (!c.raw_arg.empty()) return error("-ERR Syntax: RSET");
  std::fill(deleted.begin(), deleted.end(), false);
  live = messages.size();
  live_octets = 0;
  for (const auto& m : messages) live_octets += m.size;
  reply("+OK Maildrop has " + maildrop_size());
}

void ServerSession::Impl::cmd_quit(const Command& c) {
  if (!c.raw_arg.empty()) return error("-ERR Syntax: QUIT");
  if (!transaction) {  // RFC 1939 §4: no UPDATE from AUTHORIZATION
    reply("+OK " + cfg->hostname + " POP3 server signing off");
    return close();
  }
  if (live == messages.size()) return sign_off();  // nothing to commit
  await(Phase::AwaitCommit);                       // the UPDATE state
}

void ServerSession::Impl::sign_off() {
  std::string line = "+OK " + cfg->hostname + " POP3 server signing off";
  line += live == 0 ? " (maildrop empty)" : " (" + std::to_string(live) + (live == 1 ? " message left)" : " messages left)");
  reply(line);
  close();
}

// Continue the current multi-line response as far as the output limit lets
// it; pause in OutputFull (resume() comes back here) when it does not.
void ServerSession::Impl::produce() {
  if (producer == Producer::List || producer == Producer::Uidl) {
    // At least one message per call, so every resume() makes progress.
    bool first = true;
    for (; list_next < messages.size() && (first || !output_full()); ++list_next) {
      first = false;
      if (deleted[list_next]) continue;
      reply(std::to_string(list_next + 1) + " " +
            (producer == Producer::Uidl ? messages[list_next].uidl
                                        : std::to_string(messages[list_next].size)));
    }
    if (list_next < messages.size()) {
      phase = Phase::OutputFull;
      return;
    }
    reply(".");
    producer = Producer::None;
    phase = Phase::Command;
    return;
  }
  if (producer == Producer::Message) {
    if (output_full()) {
      phase = Phase::OutputFull;
      return;
    }
    fetch.max_bytes = std::max<size_t>(1, cfg->fetch_chunk);
    await(Phase::AwaitMessage);
  }
}

void ServerSession::Impl::finish_message() {
  writer->finish(out);
  writer.reset();
  producer = Producer::None;
  phase = Phase::Command;
}

Action ServerSession::message_data(std::string_view bytes, bool end) {
  Impl& s = *impl_;
  if (s.phase != Phase::AwaitMessage) return s.result();
  if (bytes.empty() && !end) return message_failed();
  // More than was asked for: use only that much and ask again for the rest,
  // so the output stays bounded whatever the host hands over.
  if (bytes.size() > s.fetch.max_bytes) {
    bytes = bytes.substr(0, s.fetch.max_bytes);
    end = false;
  }
  if (s.first_chunk) {
    s.first_chunk = false;
    if (s.top) s.reply("+OK Top of message follows");
    else s.reply("+OK " + std::to_string(s.messages[s.fetch.index].size) + " octets");
  }
  const bool enough = s.writer->write(bytes, s.out);
  s.fetch.offset += bytes.size();
  if (enough || end) {
    s.finish_message();
    return s.after_host();
  }
  s.produce();
  return s.result();
}

Action ServerSession::message_failed() {
  Impl& s = *impl_;
  if (s.phase != Phase::AwaitMessage) return s.result();
  if (!s.first_chunk) {
    // Part of the message is out: the response cannot be completed or
    // taken back. Closing tells the client it is incomplete.
    s.writer.reset();
    s.close();
    std::string().swap(s.in);
    return Action::Close;
  }
  s.writer.reset();
  s.producer = Producer::None;
  s.phase = Phase::Command;
  s.reply("-ERR [SYS/TEMP] Unable to read the message, try again later");
  return s.after_host();
}

Action ServerSession::commit_done(bool ok) {
  Impl& s = *impl_;
  if (s.phase != Phase::AwaitCommit) return s.result();
  if (ok) {
    s.sign_off();
  } else {
    s.reply("-ERR [SYS/TEMP] Deleted messages not removed, try again later");
    s.close();
  }
  std::string().swap(s.in);
  return Action::Close;
}

std::vector<size_t> ServerSession::deletions() const {
  std::vector<size_t> r;
  for (size_t i = 0; i < impl_->deleted.size(); ++i)
    if (impl_->deleted[i]) r.push_back(i);
  return r;
}

}  // namespace ringmta::pop3
