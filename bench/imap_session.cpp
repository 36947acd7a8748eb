// bench/imap_session.cpp — one `ringmta-bench imap` session: LOGIN, then the
// mode's commands, one tagged command in flight at a time, every response
// checked (see imap_session.h). A NO/BAD, an unexpected line, a missing or
// extra FETCH response fails the session or counts a mismatch: the tool
// never reports a rate for work the server did not do.
#include "bench/imap_session.h"

#include <algorithm>
#include <cstdio>

#include "bench/util.h"

namespace ringmta::bench {
namespace {

std::string quoted(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

bool starts(const std::string& t, const char* p) { return t.rfind(p, 0) == 0; }

// "1:5,7,9:12" for sorted UIDs.
std::string uid_set(const uint32_t* u, size_t n) {
  std::string s;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && u[j + 1] == u[j] + 1) j++;
    if (!s.empty()) s += ',';
    s += std::to_string(u[i]);
    if (j > i) s += ':' + std::to_string(u[j]);
    i = j + 1;
  }
  return s;
}

}  // namespace

FetchItems scan_fetch(const std::string& t) {
  FetchItems f;
  size_t i = t.find(" FETCH (");
  if (i == std::string::npos) return f;
  i += 8;
  int depth = 1, bracket = 0;
  std::string atom, prev;
  auto end_atom = [&] {
    if (atom.empty()) return;
    if (depth == 1) {
      if (prev == "UID") f.uid = static_cast<uint32_t>(std::strtoul(atom.c_str(), nullptr, 10));
      if (atom == "BODY[]") f.body = true;
      prev = atom;
    }
    atom.clear();
  };
  for (; i < t.size() && depth > 0; i++) {
    const char c = t[i];
    if (bracket > 0) {  // BODY[HEADER.FIELDS (A B)]: parens inside brackets are not list depth
      atom += c;
      if (c == ']') bracket--;
      continue;
    }
    if (c == '"') {  // a quoted string is one value; skip it with its escapes
      end_atom();
      for (i++; i < t.size() && t[i] != '"'; i++)
        if (t[i] == '\\') i++;
      if (depth == 1) prev = "\"";
      continue;
    }
    if (c == '(' || c == ')' || c == ' ') {
      end_atom();
      if (c == '(') {
        depth++;
        if (depth == 2) prev = "(";
      }
      if (c == ')') depth--;
      continue;
    }
    if (c == '[') bracket++;
    atom += c;
  }
  return f;
}

std::string ImapSession::user() const {
  std::string u = sh_.cfg->user;
  const size_t p = u.find("%d");
  if (p != std::string::npos) u.replace(p, 2, std::to_string(index_ % sh_.cfg->users));
  return u;
}

bool ImapSession::start() {
  sh_.started++;
  std::string err;
  if (!conn_.start(sh_.cfg->target, sh_.ctx, sh_.cfg->tls_server_name, err)) {
    fail(err);
    return false;
  }
  step_ = Step::Greeting;
  sent_at_ = now_ns();
  return true;
}

void ImapSession::on_event() {
  std::vector<ImapResponse> rs;
  std::string err;
  const bool ok = conn_.on_event(rs, err);
  // Responses first: a LOGOUT's tagged OK may arrive together with the close.
  for (auto& r : rs) {
    on_response(r);
    if (step_ == Step::Failed || step_ == Step::Finished) return;
  }
  if (!ok) fail(err);
}

void ImapSession::command(const std::string& text) {
  tag_ = "a" + std::to_string(++tag_n_);
  std::string err;
  sent_at_ = now_ns();
  if (!conn_.send(tag_ + " " + text + "\r\n", err)) fail(err);
}

void ImapSession::on_response(ImapResponse& r) {
  const std::string& t = r.text;
  if (starts(t, "+")) {
    if (step_ == Step::IdleStart) {
      step_ = Step::Idling;
      sh_.peak_idling = std::max(sh_.peak_idling, ++sh_.idling);
      set_ready();
    } else if (step_ == Step::AppendCont) {
      std::string err;
      step_ = Step::Append;
      if (!conn_.send(pending_literal_, err)) fail(err);
      pending_literal_.clear();
    } else {
      fail("unexpected continuation: " + t.substr(0, 120));
    }
    return;
  }
  if (starts(t, "* ")) {
    if (step_ == Step::Greeting) {
      if (!starts(t, "* OK")) return fail("greeting: " + t.substr(0, 120));
      step_ = Step::Login;
      return command("LOGIN " + quoted(user()) + " " + quoted(sh_.cfg->password));
    }
    if (starts(t, "* BYE")) {
      if (step_ != Step::Logout) fail("server said: " + t.substr(0, 120));
      return;
    }
    if (starts(t, "* CAPABILITY ")) literal_plus_ = (t + " ").find(" LITERAL+ ") != std::string::npos;
    char* end = nullptr;
    const unsigned long n = std::strtoul(t.c_str() + 2, &end, 10);
    if (end == t.c_str() + 2) return;  // other untagged data (FLAGS, OK [...], LIST...)
    const std::string kw(end);
    if (kw == " EXISTS") on_exists(static_cast<uint32_t>(n));
    else if (starts(kw, " FETCH (")) on_fetch(r);
    return;
  }
  if (tag_.empty() || t.compare(0, tag_.size() + 1, tag_ + " ") != 0)
    return fail("unexpected line: " + t.substr(0, 120));
  if (t.compare(tag_.size() + 1, 3, "OK ") != 0 && t != tag_ + " OK")
    return fail("command failed: " + t.substr(0, 200));
  tag_.clear();
  on_tagged_ok();
}

void ImapSession::on_tagged_ok() {
  const ImapConfig& cfg = *sh_.cfg;
  const int64_t took = now_ns() - sent_at_;
  sent_at_ = 0;
  switch (step_) {
    case Step::Login:
      if (cfg.mode == ImapMode::Append) {
        step_ = Step::Capability;
        return command("CAPABILITY");
      }
      step_ = Step::Select;
      return command((cfg.mode == ImapMode::Fetch ? "EXAMINE " : "SELECT ") + quoted(cfg.mailbox));
    case Step::Capability:
      return set_ready();
    case Step::Select:
      base_exists_ = exists_;
      if (cfg.mode == ImapMode::Fetch) {
        sh_.expected += exists_;
        return set_ready();
      }
      step_ = Step::IdleStart;
      return command("IDLE");
    case Step::IdleDone:
      return logout();
    case Step::Meta: {
      sh_.meta_latency.record(took);
      std::sort(uids_.begin(), uids_.end());
      const bool unique = std::adjacent_find(uids_.begin(), uids_.end()) == uids_.end();
      if (meta_got_ != exists_ || uids_.size() != exists_ || !unique) {
        sh_.mismatches++;
        if (sh_.first_error.empty())
          sh_.first_error = "metadata FETCH: " + std::to_string(meta_got_) + " responses for " +
                            std::to_string(exists_) + " messages";
      }
      step_ = Step::MetaDone;
      return set_busy(false);
    }
    case Step::Body:
      sh_.body_latency.record(took);
      if (batch_got_ != batch_expected_) {
        sh_.mismatches++;
        if (sh_.first_error.empty())
          sh_.first_error = "body FETCH: " + std::to_string(batch_got_) + " of " + std::to_string(batch_expected_);
      }
      return next_body_batch();
    case Step::Append:
      sh_.append_latency.record(took);
      sh_.append_done++;
      return next_append();
    case Step::Logout:
      step_ = Step::Finished;
      sh_.finished++;
      return conn_.close();
    default:
      return fail("unexpected tagged OK");
  }
}

void ImapSession::set_ready() {
  if (step_ != Step::Idling) step_ = Step::Ready;
  sh_.ready++;
  sent_at_ = 0;
}

void ImapSession::set_busy(bool b) {
  if (b == busy_) return;
  busy_ = b;
  if (b) sh_.busy++;
  else sh_.busy--;
}

void ImapSession::on_exists(uint32_t n) {
  const uint32_t before = exists_;
  exists_ = n;
  if (step_ != Step::Idling || sh_.cfg->mode != ImapMode::IdleLatency || n <= before) return;
  const int64_t t = now_ns();
  auto& arr = sh_.arrivals[index_];
  uint32_t seen = 0;
  for (uint32_t j = std::max(before, base_exists_) + 1; j <= n; j++) {
    const uint32_t k = j - base_exists_;
    if (k >= 1 && k <= arr.size()) {
      if (arr[k - 1] < 0) arr[k - 1] = t;
      seen = k;
    }
  }
  if (seen) sh_.seen[index_].store(seen, std::memory_order_release);
}

void ImapSession::on_fetch(const ImapResponse& r) {
  const FetchItems f = scan_fetch(r.text);
  if (step_ == Step::Meta) {
    meta_got_++;
    sh_.meta_msgs++;
    if (f.uid) uids_.push_back(f.uid);
  } else if (step_ == Step::Body) {
    batch_got_++;
    if (!f.body || r.literals.empty() || !f.uid) {
      sh_.mismatches++;
      if (sh_.first_error.empty()) sh_.first_error = "FETCH without UID or BODY[] literal: " + r.text.substr(0, 120);
      return;
    }
    sh_.body_msgs++;
    for (uint64_t l : r.literals) sh_.body_bytes += l;
    body_uids_.push_back(f.uid);
  }  // else: an unsolicited FETCH (flag change) — not ours to count
}

void ImapSession::begin_meta() {
  if (step_ != Step::Ready) return;
  set_busy(true);
  step_ = Step::Meta;
  command("UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)");
}

void ImapSession::begin_body() {
  if (step_ != Step::MetaDone) return;
  set_busy(true);
  body_next_ = 0;
  next_body_batch();
}

void ImapSession::end_fetch() {
  if (step_ == Step::MetaDone) logout();
}

void ImapSession::next_body_batch() {
  if (body_next_ >= uids_.size()) {
    std::sort(body_uids_.begin(), body_uids_.end());
    if (body_uids_ != uids_) {
      sh_.mismatches++;
      if (sh_.first_error.empty())
        sh_.first_error = "body FETCH returned " + std::to_string(body_uids_.size()) + " messages, wanted " +
                          std::to_string(uids_.size());
    }
    set_busy(false);
    return logout();
  }
  const size_t n = std::min<size_t>(sh_.cfg->batch, uids_.size() - body_next_);
  const std::string set = uid_set(uids_.data() + body_next_, n);
  body_next_ += n;
  batch_expected_ = n;
  batch_got_ = 0;
  step_ = Step::Body;
  command("UID FETCH " + set + " (BODY.PEEK[])");
}

void ImapSession::begin_append() {
  if (step_ != Step::Ready) return;
  set_busy(true);
  next_append();
}

void ImapSession::next_append() {
  const ImapConfig& cfg = *sh_.cfg;
  if (sh_.append_issued >= cfg.messages) {
    set_busy(false);
    return logout();
  }
  const uint64_t id = ++sh_.append_issued;
  std::string msg = sh_.append_template;
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(id));
  msg.replace(sh_.append_id_pos, 16, hex);
  sh_.append_bytes += msg.size();
  const std::string head = "APPEND " + quoted(cfg.mailbox) + " (\\Seen) {" + std::to_string(msg.size());
  if (literal_plus_ && !cfg.no_literal_plus) {
    sh_.literal_plus_used = true;
    step_ = Step::Append;
    return command(head + "+}\r\n" + msg);  // command() adds the CRLF that ends the line
  }
  sh_.literal_sync_used = true;
  pending_literal_ = msg + "\r\n";
  step_ = Step::AppendCont;
  command(head + "}");
}

void ImapSession::end_idle() {
  if (step_ != Step::Idling) return;
  sh_.idling--;
  step_ = Step::IdleDone;
  std::string err;
  sent_at_ = now_ns();
  if (!conn_.send("DONE\r\n", err)) fail(err);
}

void ImapSession::logout() {
  step_ = Step::Logout;
  command("LOGOUT");
}

void ImapSession::check_timeout(int64_t now, int64_t limit_ns) {
  if (sent_at_ != 0 && now - sent_at_ > limit_ns && step_ != Step::Failed && step_ != Step::Finished)
    fail("no reply within --reply-timeout");
}

void ImapSession::fail(const std::string& why) {
  if (step_ == Step::Failed || step_ == Step::Finished) return;
  set_busy(false);
  if (step_ == Step::Idling) sh_.idling--;
  if (step_ <= Step::Select || step_ == Step::IdleStart) sh_.failed_setup++;
  sh_.failed++;
  if (sh_.first_error.empty()) sh_.first_error = "session " + std::to_string(index_) + " (" + user() + "): " + why;
  step_ = Step::Failed;
  sent_at_ = 0;
  conn_.close();
}

}  // namespace ringmta::bench
