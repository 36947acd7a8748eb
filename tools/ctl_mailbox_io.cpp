// tools/ctl_mailbox_io.cpp — `ringmtactl mailbox import` and `export`
// (see ctl_mailbox.h; the formats are tools/mailbox_formats.h).
//
// Import walks the Maildir (or splits the mbox), normalises each message to
// CRLF line ends, and sends the messages in mailbox_append requests of at
// most admin::kMaxAppendBytes each (one atomic write each, in file order:
// Maildir files by modification time then name, as their arrival order);
// a bigger message is staged in parts and appended alone.
// Export reads the store read-only and writes new files only: a Maildir
// message goes to tmp/ and is renamed into cur/ (the Maildir way, so a
// reader never sees half a file), its mtime set to the INTERNALDATE.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "admin/mailbox_protocol.h"
#include "auth/auth_users.h"
#include "mail/text_escape.h"
#include "mailbox/user_state.h"
#include "tools/ctl_mailbox.h"
#include "tools/mailbox_formats.h"

namespace ringmta::tools {
namespace {

namespace fs = std::filesystem;

void out(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }
std::string esc(std::string_view s) { return mail::escape_for_log(s); }

bool read_file(const fs::path& p, std::string& data) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  data = std::move(ss).str();
  return !in.bad();
}

int64_t mtime_ms(const fs::path& p) {
  struct stat sb {};
  if (::stat(p.c_str(), &sb) != 0) return 0;
  return static_cast<int64_t>(sb.st_mtim.tv_sec) * 1000 + sb.st_mtim.tv_nsec / 1000000;
}

// One Maildir folder's message files: new/ then cur/, each ordered by mtime then name.
struct MaildirFile {
  fs::path path;
  int64_t date_ms = 0;
  uint8_t flags = 0;
};

std::vector<MaildirFile> folder_files(const fs::path& folder) {
  std::vector<MaildirFile> files;
  for (const char* sub : {"cur", "new"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(folder / sub, ec)) {
      const std::string name = e.path().filename().string();
      if (name.empty() || name[0] == '.' || !e.is_regular_file(ec)) continue;
      files.push_back(
          {e.path(), mtime_ms(e.path()), std::string_view(sub) == "cur" ? maildir_flags(name) : uint8_t{0}});
    }
  }
  std::sort(files.begin(), files.end(), [](const MaildirFile& a, const MaildirFile& b) {
    return a.date_ms != b.date_ms ? a.date_ms < b.date_ms : a.path.filename() < b.path.filename();
  });
  return files;
}

bool is_maildir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "cur", ec) || fs::is_directory(dir / "new", ec);
}

// Sends messages of one mailbox in requests under the size cap.
class Importer {
 public:
  Importer(const CtlTarget& target, admin::AdminClient& client, std::string user)
      : target_(target), client_(client), user_(std::move(user)) {}

  // Adds one message; sends the pending request first when it would overflow.
  bool add(const std::string& mailbox, std::string body, uint8_t flags, int64_t date_ms, const std::string& origin) {
    if (body.size() > admin::kMaxStagedBytes) {
      std::fprintf(stderr, "ringmtactl: %s: skipped: %zu bytes, more than a message may have here (%zu MiB)\n",
                   esc(origin).c_str(), body.size(), admin::kMaxStagedBytes >> 20);
      ++skipped_;
      return true;
    }
    if (body.size() > admin::kMaxAppendBytes) return add_big(mailbox, body, flags, date_ms);
    if (!pending_.messages.empty() &&
        (pending_.mailbox != mailbox || pending_bytes_ + body.size() > admin::kMaxAppendBytes ||
         pending_.messages.size() >= admin::kMaxAppendMessages))
      if (!flush()) return false;
    pending_.mailbox = mailbox;
    pending_bytes_ += body.size();
    pending_.messages.push_back({std::move(body), "", flags, date_ms});
    return true;
  }

  bool flush() {
    if (pending_.messages.empty()) return true;
    pending_.kind = admin::MailboxRequest::Kind::Append;
    pending_.user = user_;
    pending_.create = true;
    pending_.token = target_.token;
    if (!call(admin::encode_mailbox_request(pending_))) return false;
    imported_[pending_.mailbox] += pending_.messages.size();
    total_ += pending_.messages.size();
    pending_.messages.clear();
    pending_bytes_ = 0;
    return true;
  }

  // A message bigger than one request: its parts staged in the daemon, then
  // appended on its own (admin/mailbox_protocol.h).
  bool add_big(const std::string& mailbox, const std::string& body, uint8_t flags, int64_t date_ms) {
    if (!flush()) return false;
    admin::MailboxRequest stage;
    stage.kind = admin::MailboxRequest::Kind::Stage;
    stage.token = target_.token;
    stage.stage = "ctl-" + std::to_string(::getpid()) + "-" + std::to_string(++stages_);
    for (size_t off = 0; off < body.size(); off += admin::kMaxAppendBytes) {
      stage.offset = off;
      stage.data = body.substr(off, admin::kMaxAppendBytes);
      if (!call(admin::encode_mailbox_request(stage))) return false;
    }
    pending_.mailbox = mailbox;
    pending_.messages.push_back({"", stage.stage, flags, date_ms});
    return flush();
  }

  const std::string& error() const { return error_; }

  bool call(const base::json::Value& request) {
    auto resp = client_.call(request, target_.timeout_seconds);
    const base::json::Value* ok = resp ? resp->get("ok") : nullptr;
    if (!ok || !ok->is_bool() || !ok->as_bool()) {
      const base::json::Value* e = resp ? resp->get("error") : nullptr;
      error_ = resp ? (e && e->is_string() ? esc(e->as_string()) : "the daemon said no") : resp.error();
      return false;
    }
    return true;
  }
  uint64_t total() const { return total_; }
  uint64_t skipped() const { return skipped_; }
  const std::map<std::string, uint64_t>& imported() const { return imported_; }

 private:
  const CtlTarget& target_;
  admin::AdminClient& client_;
  std::string user_;
  admin::MailboxRequest pending_;
  size_t pending_bytes_ = 0;
  std::string error_;
  uint64_t total_ = 0, skipped_ = 0, stages_ = 0;
  std::map<std::string, uint64_t> imported_;
};

// With auth.users_file set: is `user` one of its users (canonical names)?
std::string check_known_user(const config::Config& config, const std::string& user) {
  if (config.auth.users_file.empty()) return "";
  std::string text;
  if (!read_file(config.auth.users_file, text)) return "cannot read auth.users_file " + config.auth.users_file;
  const auth::UsersDb db = auth::parse_users(text, config.auth.users_file);
  for (const auto& [name, record] : db.users) {
    std::string ignored;
    if (canonical_mailbox_user(name, config, &ignored) == user) return "";
  }
  return "no user " + esc(user) + " in " + config.auth.users_file + " (add it first: ringmtactl user add)";
}

int write_file_at(const fs::path& path, std::string_view data, int64_t date_ms) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return mailbox_fail("cannot create " + path.string() + ": " + std::strerror(errno));
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return mailbox_fail("cannot write " + path.string() + ": " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return mailbox_fail("cannot write " + path.string() + ": " + std::strerror(errno));
  if (date_ms > 0) {
    timespec times[2];
    times[0].tv_sec = times[1].tv_sec = date_ms / 1000;
    times[0].tv_nsec = times[1].tv_nsec = (date_ms % 1000) * 1000000;
    (void)::utimensat(AT_FDCWD, path.c_str(), times, 0);  // the date is a courtesy to readers
  }
  return 0;
}

}  // namespace

int mailbox_import(const CtlTarget& target, const config::Config& config, const MailboxCommand& cmd) {
  if (cmd.maildir.empty() == cmd.mbox.empty()) return mailbox_fail("give --maildir DIR or --mbox FILE", 2);
  if (!cmd.maildir.empty() && !cmd.mailbox.empty())
    return mailbox_fail("--mailbox goes with --mbox (a Maildir's folders name their mailboxes)", 2);
  const std::string mailbox = cmd.mailbox.empty() ? std::string(mailbox::kInbox) : cmd.mailbox;
  if (std::string p = admin::mailbox_name_problem(mailbox); !p.empty()) return mailbox_fail("bad --mailbox: " + p, 2);
  if (std::string why = check_known_user(config, cmd.user); !why.empty()) return mailbox_fail(why);

  // The source first: a bad path is said before anything else.
  std::vector<std::pair<std::string, fs::path>> folders;  // (mailbox, folder)
  std::string mbox_data;
  MboxParse mbox;
  if (!cmd.maildir.empty()) {
    const fs::path dir(cmd.maildir);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return mailbox_fail("no directory " + cmd.maildir);
    if (!is_maildir(dir)) return mailbox_fail("not a Maildir: " + cmd.maildir + " has no cur/ or new/");
    folders.emplace_back(std::string(mailbox::kInbox), dir);
    std::vector<std::pair<std::string, fs::path>> subs;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      auto name = maildir_folder_mailbox(e.path().filename().string());
      if (!name || !e.is_directory(ec) || !is_maildir(e.path())) continue;
      if (std::string p = admin::mailbox_name_problem(*name); !p.empty()) {
        std::fprintf(stderr, "ringmtactl: %s: skipped: %s\n", esc(e.path().string()).c_str(), p.c_str());
        continue;
      }
      subs.emplace_back(*name, e.path());
    }
    std::sort(subs.begin(), subs.end());
    folders.insert(folders.end(), subs.begin(), subs.end());
  } else {
    std::error_code ec;
    if (!fs::is_regular_file(cmd.mbox, ec)) return mailbox_fail("no file " + cmd.mbox);
    if (!read_file(cmd.mbox, mbox_data)) return mailbox_fail("cannot read " + cmd.mbox);
    mbox = parse_mbox(mbox_data);
    if (!mbox.error.empty()) return mailbox_fail(cmd.mbox + ": " + mbox.error);
  }

  if (!target.endpoint) return 2;
  admin::AdminClient client;
  std::string error;
  const auto connected = client.connect(*target.endpoint, &error);
  if (connected == admin::AdminClient::ConnectResult::NotRunning)
    return mailbox_fail("the ringmta daemon is not running (nothing listens at " + target.endpoint->text +
                        "); `mailbox import` needs it");
  if (connected != admin::AdminClient::ConnectResult::Ok) return mailbox_fail(error);

  Importer importer(target, client, cmd.user);
  bool ok = true;
  const int64_t mbox_date = mtime_ms(cmd.mbox);
  if (!cmd.mbox.empty()) {
    for (size_t i = 0; ok && i < mbox.messages.size(); ++i) {
      MboxMessage& m = mbox.messages[i];
      ok = importer.add(mailbox, to_crlf(m.body), mbox_flags(m.body), m.date_ms.value_or(mbox_date),
                        cmd.mbox + " line " + std::to_string(m.line));
    }
  }
  for (const auto& [name, folder] : folders) {
    for (const MaildirFile& f : folder_files(folder)) {
      if (!ok) break;
      std::string data;
      if (!read_file(f.path, data)) {
        std::fprintf(stderr, "ringmtactl: %s: skipped: cannot read it\n", esc(f.path.string()).c_str());
        continue;
      }
      ok = importer.add(name, to_crlf(data), f.flags, f.date_ms, f.path.string());
    }
  }
  if (ok) ok = importer.flush();
  for (const auto& [name, count] : importer.imported())
    out("imported " + std::to_string(count) + " message(s) into " + esc(name) + " of " + esc(cmd.user) + "\n");
  if (!ok)
    return mailbox_fail("import stopped after " + std::to_string(importer.total()) +
                        " message(s): " + importer.error());
  if (importer.skipped() > 0)
    return mailbox_fail(std::to_string(importer.skipped()) + " message(s) skipped (see above)");
  if (importer.total() == 0) out("nothing to import\n");
  return 0;
}

int mailbox_export(const CtlTarget& target, const MailboxCommand& cmd) {
  if (cmd.maildir.empty() == cmd.mbox.empty()) return mailbox_fail("give --maildir DIR or --mbox FILE", 2);
  if (!cmd.maildir.empty() && !cmd.mailbox.empty())
    return mailbox_fail("--mailbox goes with --mbox (a Maildir export writes every mailbox)", 2);
  std::error_code ec;
  if (!cmd.maildir.empty() && fs::exists(cmd.maildir, ec) && !fs::is_empty(cmd.maildir, ec))
    return mailbox_fail(cmd.maildir + " exists and is not empty: export into a new directory");
  if (!cmd.mbox.empty() && fs::exists(cmd.mbox, ec)) return mailbox_fail(cmd.mbox + " exists: export into a new file");

  std::unique_ptr<queue::Queue> q;
  mailbox::Families f;
  if (int rc = open_mail_store(target.data_dir, q, f); rc != 0) return rc;
  mailbox::UserState state;
  auto st = mailbox::load_user(*q, f, cmd.user, state);
  if (st.code == queue::Status::Code::InvalidArgument || (st.ok() && state.mailboxes().empty()))
    return mailbox_fail("no mailbox for user " + esc(cmd.user));
  if (!st.ok()) return mailbox_fail("cannot read the mailboxes of " + esc(cmd.user) + ": " + st.message);
  const std::string only = cmd.mbox.empty() ? "" : (cmd.mailbox.empty() ? std::string(mailbox::kInbox) : cmd.mailbox);
  const mailbox::Mailbox* wanted = only.empty() ? nullptr : state.find(only);
  if (!only.empty() && !wanted) return mailbox_fail("user " + esc(cmd.user) + " has no mailbox " + esc(only));

  std::string body, mbox_text;
  uint64_t written = 0;
  for (const auto& [id, mb] : state.mailboxes()) {
    if (wanted && wanted->id != id) continue;
    fs::path folder;
    if (!cmd.maildir.empty()) {
      folder =
          mb.name == mailbox::kInbox ? fs::path(cmd.maildir) : fs::path(cmd.maildir) / maildir_folder_name(mb.name);
      for (const char* sub : {"cur", "new", "tmp"}) fs::create_directories(folder / sub, ec);
      if (ec) return mailbox_fail("cannot create " + folder.string() + ": " + ec.message());
      if (mb.name != mailbox::kInbox) {
        // Maildir++ marks a subfolder with an empty "maildirfolder" file.
        if (int rc = write_file_at(folder / "maildirfolder", "", 0); rc != 0) return rc;
      }
    }
    for (const mailbox::Message& m : mb.messages) {
      if (auto rs = mailbox::read_body(*q, f, m.body_id, body); !rs.ok())
        return mailbox_fail("cannot read UID " + std::to_string(m.uid) + " of " + esc(mb.name) + ": " + rs.message);
      if (!cmd.mbox.empty()) {
        append_mbox_message(mbox_text, body, m.internal_date_ms);
      } else {
        const std::string name = maildir_file_name(m.internal_date_ms, mb.uidvalidity, m.uid, m.size, m.flags);
        const fs::path tmp = folder / "tmp" / name;
        if (int rc = write_file_at(tmp, body, m.internal_date_ms); rc != 0) return rc;
        fs::rename(tmp, folder / "cur" / name, ec);
        if (ec) return mailbox_fail("cannot move " + tmp.string() + " into cur/: " + ec.message());
      }
      ++written;
    }
  }
  if (!cmd.mbox.empty())
    if (int rc = write_file_at(cmd.mbox, mbox_text, 0); rc != 0) return rc;
  out("exported " + std::to_string(written) + " message(s) of " + esc(cmd.user) + " to " +
      (cmd.mbox.empty() ? cmd.maildir : cmd.mbox) + "\n");
  return 0;
}

}  // namespace ringmta::tools
