// access/imap_dispatch.cpp — which command may run in which state (RFC 9051
// §6), the commands that need no mailbox (CAPABILITY, NOOP, LOGOUT, ID,
// ENABLE, STARTTLS, COMPRESS), and on_owner(): the hop to the user's owner
// shard and back that every mailbox command takes.
#include <spdlog/spdlog.h>

#include "access/imap_session.h"
#include "compress/deflate.h"
#include "proto/imap/response.h"
#include "telemetry/metrics.h"

namespace ringmta::access {

using imap::Name;

void ImapSession::dispatch(imap::Command& cmd) {
  const std::string& tag = cmd.tag;
  telemetry::local().imap_command(static_cast<size_t>(cmd.name));
  const bool authed = state_ == State::Authenticated || state_ == State::Selected;
  const bool selected = state_ == State::Selected;
  auto need = [&](bool ok, std::string_view why) {
    if (!ok) bad(tag, why);
    return ok;
  };
  switch (cmd.name) {
    // ---- any state ----
    case Name::Capability:
      send("* CAPABILITY " + capabilities() + "\r\n");
      return reply(tag, "OK CAPABILITY completed");
    case Name::Noop:
      if (selected) return cmd_sync(cmd);
      return reply(tag, "OK NOOP completed");
    case Name::Logout:
      send("* BYE Logging out\r\n");
      reply(tag, "OK LOGOUT completed");
      state_ = State::Logout;
      return close_connection();
    case Name::Id: {
      std::string out = "* ID (";
      imap::append_string(out, "name");
      out += ' ';
      imap::append_string(out, "ringmta");
      out += ")\r\n";
      send(out);
      return reply(tag, "OK ID completed");
    }
    // ---- not authenticated ----
    case Name::StartTls:
      if (!need(state_ == State::NotAuthenticated, "STARTTLS only before login")) return;
      if (tls_ || !shard_.tls) return reply(tag, "NO STARTTLS is not available here");
      if (!admit_handshake()) return reply(tag, "NO [UNAVAILABLE] Too many TLS handshakes, try again later");
      reply(tag, "OK Begin TLS negotiation now");
      // Bytes the client sent after STARTTLS in clear must not count as
      // commands under TLS (the STARTTLS command injection attack).
      reset_assembler();
      start_tls_pending_ = true;
      if (!start_tls()) return close_connection();
      return;
    case Name::Login:
      if (!need(state_ == State::NotAuthenticated, "Already logged in")) return;
      return login(tag, cmd.user, cmd.password);
    case Name::Authenticate:
      if (!need(state_ == State::NotAuthenticated, "Already logged in")) return;
      return authenticate(cmd);
    default:
      break;
  }
  if (!authed) return bad(tag, "Log in first");
  switch (cmd.name) {
    case Name::Enable: {
      std::string enabled;
      for (const std::string& cap : cmd.atoms) {
        bool ok = true;
        if (cap == "CONDSTORE") shared_->modes.condstore = true;
        else if (cap == "QRESYNC") shared_->modes.qresync = shared_->modes.condstore = true;
        else if (cap == "IMAP4REV2") shared_->modes.rev2 = true;
        else if (cap == "UTF8=ACCEPT") shared_->modes.utf8 = true;
        else ok = false;
        if (ok) enabled += " " + cap;
      }
      send("* ENABLED" + enabled + "\r\n");
      return reply(tag, "OK ENABLE completed");
    }
    case Name::Compress:
      if (cmd.mechanism != "DEFLATE") return bad(tag, "Unknown compression mechanism");
      if (deflate_) return reply(tag, "NO [COMPRESSIONACTIVE] DEFLATE is active already");
      reply(tag, "OK DEFLATE active");
      deflate_ = std::make_unique<compress::DeflateStream>();
      return;
    case Name::Namespace:
      send("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
      return reply(tag, "OK NAMESPACE completed");
    case Name::Select:
      return cmd_select(cmd, false);
    case Name::Examine:
      return cmd_select(cmd, true);
    case Name::Create:
      return cmd_create(cmd);
    case Name::Delete:
      return cmd_delete(cmd);
    case Name::Rename:
      return cmd_rename(cmd);
    case Name::Subscribe:
      return cmd_subscribe(cmd, true);
    case Name::Unsubscribe:
      return cmd_subscribe(cmd, false);
    case Name::List:
    case Name::Lsub:
      return cmd_list(cmd);
    case Name::Status:
      return cmd_status(cmd);
    case Name::Append:
      return cmd_append(cmd);
    case Name::Idle:
      return cmd_idle(cmd);
    case Name::GetQuota:
    case Name::GetQuotaRoot:
      return cmd_quota(cmd);
    default:
      break;
  }
  if (!selected) return bad(tag, "No mailbox selected");
  switch (cmd.name) {
    case Name::Check:
      return cmd_sync(cmd);
    case Name::Close:
      return cmd_close(cmd, true);
    case Name::Unselect:
      return cmd_close(cmd, false);
    case Name::Expunge:
      return cmd_expunge(cmd);
    case Name::Fetch:
      return cmd_fetch(cmd);
    case Name::Store:
      return cmd_store(cmd);
    case Name::Search:
    case Name::Sort:
    case Name::Thread:
      return cmd_search(cmd);
    case Name::Copy:
      return cmd_copy(cmd, false);
    case Name::Move:
      return cmd_copy(cmd, true);
    default:
      return bad(tag, "Command not known here");
  }
}

void ImapSession::on_owner(const std::string& tag, Step step, Then then) {
  busy_ = true;
  mailbox::Service* svc = shard_.mailbox;
  if (!svc || user_.empty()) return done(tag, "NO [UNAVAILABLE] The mail store is not available");
  const unsigned owner = svc->owner_of(user_);
  ImapShard* home = &shard_;
  ImapShard* owner_shard = (*shard_.peers)[owner];
  engine::Reactor* back = shard_.reactor;
  const uint64_t number = number_;
  auto shared = shared_;  // the step may outlive the session
  (*shard_.reactors)[owner]->post([svc, owner_shard, home, back, number, shared, tag, user = user_,
                                   step = std::move(step), then = std::move(then)]() mutable {
    svc->change(user, [svc, owner_shard, home, back, number, shared, tag, user, step = std::move(step),
                       then = std::move(then)](mailbox::UserState* state, mailbox::Service::Ticket ticket) mutable {
      auto finish = [home, back, number, then](std::string text) {
        back->post([home, number, then, text = std::move(text)]() mutable {
          auto it = home->sessions.find(number);
          if (it == home->sessions.end()) return;
          if (then) then(std::move(text));
          else it->second->step_done(std::move(text));
        });
      };
      if (!state) {
        svc->finish(ticket, false);
        return finish(tag + " NO [UNAVAILABLE] Cannot read the mailboxes, try again\r\n");
      }
      Owner o{*svc, *state, ticket, owner_shard->owned[user], *shared, shared};
      step(o, std::move(finish));
    });
  });
}

void ImapSession::step_done(std::string text) {
  send(text);
  busy_ = false;
  if (shared_->view.gone && state_ == State::Selected) {
    // Our mailbox was deleted or renamed by another session: nothing is
    // left to be selected, and the client believes something is (Dovecot
    // does the same).
    send("* BYE Selected mailbox was deleted, have to disconnect\r\n");
    return close_connection();
  }
  // SELECT/EXAMINE (a failed one too), CLOSE and UNSELECT change the view.
  if (state_ == State::Selected || state_ == State::Authenticated)
    state_ = shared_->view.selected ? State::Selected : State::Authenticated;
  if (idling_) return;
  run();
}

}  // namespace ringmta::access
