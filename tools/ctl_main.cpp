// tools/ctl_main.cpp — `ringmtactl`, the operator's tool.
//
//   ringmtactl [--config FILE | --data-dir DIR] [--admin ENDPOINT] COMMAND
//     queue summary [--json]                    per destination: messages, oldest, last error
//     queue list [--domain D] [--sender S] [--state S] [--json]
//     queue show ID [--json]                    envelope, recipients, attempts, headers
//     queue cat ID                              the stored message bytes
//     queue flush|delete|hold|release [ID...] [--domain D] [--sender S] [--state S] [--all]
//     queue bounce [ID...] [selectors] --reason TEXT
//     destination suspend|resume DOMAIN ; destination list
//     reload                                    what SIGHUP does
//     user add|passwd|del NAME [--users-file FILE]
//     mailbox list|show USER|purge USER [--json]; mailbox cat USER UID; mailbox import|export USER --maildir DIR | --mbox FILE
//                                               (tools/ctl_mailbox.h)
//
// --config FILE reads the daemon's configuration for server.data_dir,
// admin.listen and admin.token; --data-dir DIR alone means the default admin
// socket DIR/admin.sock. The token may also come from $RINGMTA_ADMIN_TOKEN.
// States: scheduled, ready (due), in_flight, held, deferred (see
// admin/admin_protocol.h). Exit codes: 0 ok, 1 not found / failed / daemon
// not running, 2 bad command line or configuration.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "admin/admin_protocol.h"
#include "config/config.h"
#include "tools/ctl_mailbox.h"
#include "tools/ctl_queue.h"
#include "tools/ctl_dkim.h"
#include "tools/ctl_user.h"

namespace {

using ringmta::admin::Command;

struct SelectorOptions {
  std::vector<std::string> ids;
  std::string domain, sender, state;
  bool all = false;

  void attach(CLI::App* cmd, bool with_ids) {
    if (with_ids) cmd->add_option("id", ids, "Queue IDs");
    cmd->add_option("--domain", domain, "Messages with a pending recipient at this domain");
    cmd->add_option("--sender", sender, "Messages from this sender (user@example.org, @example.org, or <>)");
    cmd->add_option("--state", state, "scheduled, ready, in_flight, held or deferred");
    if (with_ids) cmd->add_flag("--all", all, "Every queued message");
  }
  void fill(ringmta::admin::Request& req) const {
    // Raw text: admin::parse_request validates and normalizes it (one set of
    // rules and messages for ringmtactl and the daemon).
    req.selector.ids = ids;
    req.selector.domain = domain;
    req.selector.sender = sender;
    req.selector.all = all;
    if (!state.empty()) {
      req.selector.state = ringmta::admin::parse_state(state);
      if (!req.selector.state) state_error = "unknown state '" + state + "' (scheduled, ready, in_flight, held, deferred)";
    }
  }
  mutable std::string state_error;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ringmtactl: manage a ringmta relay", "ringmtactl"};
  std::string data_dir, config_path, admin_override;
  app.add_option("--data-dir", data_dir, "The daemon's data directory (server.data_dir)");
  app.add_option("-c,--config", config_path,
                 "The daemon's configuration file (for its data directory and admin API)");
  app.add_option("--admin", admin_override,
                 "The admin API to use instead of admin.listen: a socket path or 127.0.0.1:PORT");
  app.add_flag_callback("-V,--version", [] {
    std::printf("ringmtactl %s\n", RINGMTA_VERSION);
    std::exit(0);
  }, "Print the version and exit");
  app.require_subcommand(1);
  app.footer("Message states: scheduled (not tried yet, first attempt later), ready (due now), in_flight\n"
             "(being delivered), held (by queue hold), deferred (tried, next attempt later).");

  bool json = false;
  auto* queue_cmd = app.add_subcommand("queue", "Inspect and manage the queue");
  queue_cmd->require_subcommand(1);
  auto* summary_cmd = queue_cmd->add_subcommand("summary", "Per destination domain: messages, oldest, last error");
  summary_cmd->add_flag("--json", json, "The daemon's JSON");
  SelectorOptions list_sel;
  auto* list_cmd = queue_cmd->add_subcommand("list", "One line per queued message, starting with its queue ID");
  list_sel.attach(list_cmd, false);
  list_cmd->add_flag("--json", json, "JSON lines: id, sender, recipients, size, arrival, arrival_unix, state");
  std::string show_id, cat_id;
  auto* show_cmd = queue_cmd->add_subcommand("show", "Everything about one message");
  show_cmd->add_option("id", show_id, "Queue ID")->required();
  show_cmd->add_flag("--json", json, "The daemon's JSON");
  auto* cat_cmd = queue_cmd->add_subcommand("cat", "Write a queued message's stored bytes to stdout");
  cat_cmd->add_option("id", cat_id, "Queue ID")->required();

  struct Change {
    Command command;
    const char* name;
    const char* help;
    CLI::App* cmd = nullptr;
    SelectorOptions sel;
  };
  std::vector<Change> changes = {
      {Command::Flush, "flush", "Make deferred recipients due now, forget down destinations (and wake the delivery)", nullptr, {}},
      {Command::Delete, "delete", "Remove messages without any notice", nullptr, {}},
      {Command::Hold, "hold", "Keep messages from being delivered until released", nullptr, {}},
      {Command::Release, "release", "Release held messages", nullptr, {}},
      {Command::Bounce, "bounce", "Fail pending recipients now and send the sender a DSN", nullptr, {}},
  };
  std::string reason;
  for (auto& c : changes) {
    c.cmd = queue_cmd->add_subcommand(c.name, c.help);
    c.sel.attach(c.cmd, true);
    c.cmd->add_flag("--json", json, "The daemon's JSON answer");
    if (c.command == Command::Bounce) c.cmd->add_option("--reason", reason, "Why (goes into the DSN)")->required();
  }

  auto* dest_cmd = app.add_subcommand("destination", "Suspend or resume delivery to a domain (in memory)");
  dest_cmd->require_subcommand(1);
  std::string dest_domain;
  auto* suspend_cmd = dest_cmd->add_subcommand("suspend", "Deliver nothing to DOMAIN until resumed or restarted");
  suspend_cmd->add_option("domain", dest_domain, "Recipient domain")->required();
  auto* resume_cmd = dest_cmd->add_subcommand("resume", "Deliver to DOMAIN again (its messages are flushed)");
  resume_cmd->add_option("domain", dest_domain, "Recipient domain")->required();
  auto* dest_list_cmd = dest_cmd->add_subcommand("list", "The suspended domains, the destinations down now and the [delivery.rate] rules");
  auto* reload_cmd = app.add_subcommand("reload", "Re-read the TLS certificates (what SIGHUP does)");


  auto* user_cmd = app.add_subcommand("user", "Edit the SMTP AUTH users file (auth.users_file)");
  user_cmd->require_subcommand(1);
  user_cmd->fallthrough();  // --config after "user ..." still reaches the top level
  std::string users_file, user_name;
  user_cmd->add_option("--users-file", users_file, "The users file (default: auth.users_file of --config)");
  struct UserSub {
    CLI::App* cmd;
    ringmta::tools::UserAction action;
  };
  std::vector<UserSub> user_subs;
  for (auto [verb, action, help] : {std::tuple{"add", ringmta::tools::UserAction::Add, "Add a user (password from the terminal or one line on stdin)"},
                                    std::tuple{"passwd", ringmta::tools::UserAction::Passwd, "Set a user's password"},
                                    std::tuple{"del", ringmta::tools::UserAction::Del, "Remove a user"}}) {
    auto* sub = user_cmd->add_subcommand(verb, help);
    sub->fallthrough();
    sub->add_option("name", user_name, "User name")->required();
    user_subs.push_back({sub, action});
  }
  auto* dkim_cmd = app.add_subcommand("dkim", "DKIM signing keys ([[dkim]])");
  dkim_cmd->require_subcommand(1);
  ringmta::tools::DkimKeygen keygen;
  auto* keygen_cmd =
      dkim_cmd->add_subcommand("keygen", "Write a new private key (mode 0600) and print the DNS TXT record to publish");
  keygen_cmd->add_option("domain", keygen.domain, "The signing domain (d=)")->required();
  keygen_cmd->add_option("selector", keygen.selector, "The selector (s=)")->required();
  keygen_cmd->add_option("--algorithm", keygen.algorithm, "rsa-sha256 (default) or ed25519-sha256");
  keygen_cmd->add_option("--bits", keygen.bits, "RSA key size (default 2048)");
  keygen_cmd->add_option("--out", keygen.out, "The key file (default SELECTOR.DOMAIN.key); never overwritten");
  auto* mailbox_cmd =
      app.add_subcommand("mailbox", "The mail store of local users (list, show, purge, import, export)");
  mailbox_cmd->require_subcommand(1);
  ringmta::tools::MailboxCommand mcmd;
  auto* mb_list = mailbox_cmd->add_subcommand("list", "Users with mail: messages and bytes");
  mb_list->add_flag("--json", mcmd.json, "JSON lines: user, messages, bytes");
  auto* mb_show = mailbox_cmd->add_subcommand("show", "A user's mailboxes and messages");
  auto* mb_purge =
      mailbox_cmd->add_subcommand("purge", "Remove every mailbox and message of a user (needs the daemon)");
  auto* mb_import =
      mailbox_cmd->add_subcommand("import", "Append a Maildir or an mbox to a user's mailboxes (needs the daemon)");
  auto* mb_export = mailbox_cmd->add_subcommand("export", "Write a user's mail as a Maildir or an mbox");
  auto* mb_cat = mailbox_cmd->add_subcommand("cat", "Write one message's stored bytes to stdout");
  for (CLI::App* c : {mb_show, mb_purge, mb_import, mb_export, mb_cat}) {
    c->add_option("user", mcmd.user, "The user (user@domain; a bare name gets the first relay.local_domains)")
        ->required();
    c->add_flag("--json", mcmd.json, "JSON output");
  }
  mb_cat->add_option("uid", mcmd.uid, "The message's UID")->required();
  mb_cat->add_option("--mailbox", mcmd.mailbox, "The mailbox (default INBOX)");
  for (CLI::App* c : {mb_import, mb_export}) {
    c->add_option("--maildir", mcmd.maildir, "A Maildir (INBOX in DIR, folders as Maildir++ .Name)");
    c->add_option("--mbox", mcmd.mbox, "An mbox file (mboxrd)");
    c->add_option("--mailbox", mcmd.mailbox, "With --mbox: the mailbox (default INBOX)");
  }
  // Options of the top level (--config, --data-dir) may also come after the command.
  for (CLI::App* sub : {queue_cmd, dest_cmd, reload_cmd, mailbox_cmd}) {
    sub->fallthrough();
    for (CLI::App* leaf : sub->get_subcommands({})) leaf->fallthrough();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  // Needs no configuration (the key file goes where --out says).
  if (keygen_cmd->parsed()) return ringmta::tools::run_dkim_keygen(keygen);

  // The daemon's configuration: the file given, else the embedded default.
  auto result = config_path.empty() ? ringmta::config::default_config() : ringmta::config::load_config_file(config_path);
  if (!result) {
    std::fprintf(stderr, "ringmtactl: %s\n", result.error().c_str());
    return 2;
  }
  const ringmta::config::Config& config = *result;

  if (user_cmd->parsed()) {
    if (users_file.empty()) {
      users_file = config.auth.users_file;
      if (users_file.empty()) {
        std::fprintf(stderr, "ringmtactl: no users file: give --users-file FILE, or --config FILE with auth.users_file set\n");
        return 2;
      }
    }
    for (const auto& s : user_subs)
      if (s.cmd->parsed()) return ringmta::tools::run_user_command(s.action, user_name, users_file);
    return 2;
  }

  ringmta::tools::CtlTarget target;
  target.data_dir = data_dir.empty() ? config.server.data_dir : data_dir;
  // --data-dir without --config: that directory's default socket.
  const std::string listen = !admin_override.empty()              ? admin_override
                             : (!data_dir.empty() && config_path.empty()) ? std::string()
                                                                          : config.admin.listen;
  auto endpoint = ringmta::admin::admin_endpoint(listen, target.data_dir);
  if (!endpoint) {
    std::fprintf(stderr, "ringmtactl: %s\n", endpoint.error().c_str());
    return 2;
  }
  target.endpoint = std::move(endpoint).value();
  target.token = config.admin.token;
  if (const char* t = std::getenv("RINGMTA_ADMIN_TOKEN"); t && *t) target.token = t;

  if (cat_cmd->parsed()) return ringmta::tools::run_queue_cat(target.data_dir, cat_id);
  if (mailbox_cmd->parsed()) {
    using Verb = ringmta::tools::MailboxCommand::Verb;
    mcmd.verb = mb_show->parsed()     ? Verb::Show
                : mb_purge->parsed()  ? Verb::Purge
                : mb_import->parsed() ? Verb::Import
                : mb_export->parsed() ? Verb::Export
                : mb_cat->parsed()    ? Verb::Cat
                                      : Verb::List;
    return ringmta::tools::run_mailbox_command(target, config, mcmd);
  }

  ringmta::admin::Request req;
  const SelectorOptions* sel = nullptr;
  if (summary_cmd->parsed()) {
    req.command = Command::Summary;
  } else if (list_cmd->parsed()) {
    req.command = Command::List;
    sel = &list_sel;
  } else if (show_cmd->parsed()) {
    req.command = Command::Show;
    req.id = show_id;
  } else if (suspend_cmd->parsed() || resume_cmd->parsed()) {
    req.command = suspend_cmd->parsed() ? Command::Suspend : Command::Resume;
    req.domain = dest_domain;
  } else if (dest_list_cmd->parsed()) {
    req.command = Command::Destinations;
  } else if (reload_cmd->parsed()) {
    req.command = Command::Reload;
  } else {
    for (const auto& c : changes) {
      if (!c.cmd->parsed()) continue;
      req.command = c.command;
      sel = &c.sel;
      req.reason = reason;
    }
  }
  if (sel) {
    sel->fill(req);
    if (!sel->state_error.empty()) {
      std::fprintf(stderr, "ringmtactl: %s\n", sel->state_error.c_str());
      return 2;
    }
  }
  return ringmta::tools::run_ctl_request(target, req, json);
}
