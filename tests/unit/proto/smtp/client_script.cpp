// tests/unit/proto/smtp/client_script.cpp — parser and runner for client transcript
// scripts (format in script.h). The runner plays the I/O glue: it feeds server
// bytes, collects output and results, and checks them at every step.
#include "tests/unit/proto/smtp/client_script.h"

#include <cctype>
#include <deque>
#include <memory>
#include <sstream>

#include "proto/smtp/client_session.h"

namespace ringmta::smtp::test {

namespace {

bool unescape(std::string_view in, std::string& out) {
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\') {
      out += in[i];
      continue;
    }
    if (++i >= in.size()) return false;
    switch (in[i]) {
      case 'r': out += '\r'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case '\\': out += '\\'; break;
      case 'x': {
        if (i + 2 >= in.size() || !isxdigit(static_cast<unsigned char>(in[i + 1])) ||
            !isxdigit(static_cast<unsigned char>(in[i + 2])))
          return false;
        out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
        i += 2;
        break;
      }
      default: return false;
    }
  }
  return true;
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::string render_caps(const Capabilities& c) {
  std::string s = c.esmtp ? "esmtp" : "smtp";
  if (c.pipelining) s += " pipelining";
  if (c.size) s += " size=" + std::to_string(c.size_limit);
  if (c.eightbitmime) s += " 8bitmime";
  if (c.binarymime) s += " binarymime";
  if (c.smtputf8) s += " smtputf8";
  if (c.dsn) s += " dsn";
  if (c.starttls) s += " starttls";
  if (c.chunking) s += " chunking";
  if (c.enhancedstatuscodes) s += " enhancedstatuscodes";
  if (!c.auth.empty()) {
    s += " auth=";
    for (size_t i = 0; i < c.auth.size(); ++i) s += (i ? "," : "") + c.auth[i];
  }
  s += " name=" + c.remote_name;
  return s;
}

std::string render_failure(const std::optional<ConnectionFailure>& f) {
  if (!f) return "none";
  std::string s = std::string(f->permanent ? "perm " : "temp ") + std::to_string(f->code) + " " + f->enhanced +
                  " " + std::string(to_string(f->stage));
  if (f->local) s += " local";
  return s + " | " + f->text;
}

void render_result(const TransactionResult& tr, const std::vector<Recipient>& rcpts, std::deque<std::string>& out) {
  out.push_back("txn dsn=" + std::string(tr.remote_dsn ? "yes" : "no") + " n=" + std::to_string(tr.recipients.size()));
  for (size_t i = 0; i < tr.recipients.size(); ++i) {
    const RecipientResult& r = tr.recipients[i];
    std::string s = (i < rcpts.size() ? escape(rcpts[i].address) : "?") + " " + std::string(to_string(r.outcome)) + " " +
                    std::to_string(r.code) + " " + r.enhanced + " " + std::string(to_string(r.stage));
    if (r.local) s += " local";
    if (r.relayed) s += " relayed";
    out.push_back(s + " | " + r.text);
  }
}

}  // namespace

std::string escape(std::string_view b) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool parse_script(std::string_view text, std::vector<ScriptItem>& items, std::string& error) {
  int lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    ScriptItem it;
    it.line = lineno;
    if (line[0] == '@') {
      it.kind = '@';
      size_t sp = line.find(' ');
      it.name = std::string(line.substr(1, sp == std::string_view::npos ? std::string_view::npos : sp - 1));
      if (sp != std::string_view::npos) it.value = std::string(line.substr(sp + 1));
      items.push_back(std::move(it));
      continue;
    }
    if (line.size() < 2 || (line[1] != ':' && line[1] != '=')) {
      error = "line " + std::to_string(lineno) + ": cannot parse";
      return false;
    }
    it.kind = line[0];
    std::string_view v = line.substr(2);
    if (!v.empty() && v[0] == ' ') v.remove_prefix(1);
    if (std::string("SCM").find(it.kind) != std::string::npos) {
      if (!unescape(v, it.value)) {
        error = "line " + std::to_string(lineno) + ": bad escape";
        return false;
      }
      if (line[1] == ':') it.value += "\r\n";
    } else if (std::string("ATRFK").find(it.kind) != std::string::npos) {
      it.value = std::string(v);
    } else {
      error = "line " + std::to_string(lineno) + ": unknown item kind";
      return false;
    }
    items.push_back(std::move(it));
  }
  return true;
}

size_t server_byte_count(const std::vector<ScriptItem>& items) {
  size_t n = 0;
  for (const auto& it : items)
    if (it.kind == 'S') n += it.value.size();
  return n;
}

std::string run_script(const std::vector<ScriptItem>& items, long split_at, size_t data_piece) {
  ClientConfig cfg;
  cfg.hostname = "relay.example";
  if (data_piece) cfg.data_piece = data_piece;
  std::unique_ptr<ClientSession> s;
  std::string got, expected, message;
  ClientAction last = ClientAction::NeedInput;
  std::deque<std::string> result_lines;
  std::deque<std::vector<Recipient>> started;  // envelopes awaiting their result
  std::deque<std::string> messages;            // bodies must outlive their transaction
  OutboundEnvelope env;
  size_t offset = 0, starts = 0, results = 0;

  auto drain = [&]() {
    for (int guard = 0; s->has_output() && guard < 1000000; ++guard) got += s->take_output();
    while (s->has_result()) {
      TransactionResult tr = s->take_result();
      ++results;
      std::vector<Recipient> rc = started.empty() ? std::vector<Recipient>{} : started.front();
      if (!started.empty()) started.pop_front();
      if (tr.recipients.size() != rc.size()) result_lines.push_back("BAD recipient count");
      render_result(tr, rc, result_lines);
    }
  };
  auto at = [](const ScriptItem& it) { return "line " + std::to_string(it.line) + ": "; };

  for (size_t i = 0; i < items.size(); ++i) {
    const ScriptItem& it = items[i];
    if (it.kind == '@' && it.name == "config") {
      for (const auto& w : words(it.value)) {
        size_t eq = w.find('=');
        std::string k = w.substr(0, eq), v = eq == std::string::npos ? "" : w.substr(eq + 1);
        if (k == "hostname") cfg.hostname = v;
        else if (k == "pipelining") cfg.use_pipelining = v != "off";
        else if (k == "chunking") cfg.use_chunking = v != "off";
        else if (k == "starttls") cfg.offer_starttls = v == "on";
        else if (k == "max_line") cfg.reply_limits.max_line = std::stoul(v);
        else if (k == "max_lines") cfg.reply_limits.max_lines = std::stoul(v);
        else return at(it) + "unknown config " + k;
      }
      continue;
    }
    if (!s) s = std::make_unique<ClientSession>(cfg);
    if (it.kind == 'C') {
      expected += it.value;
      continue;
    }
    if (it.kind == 'M') {
      message += it.value;
      continue;
    }
    if (got != expected)
      return at(it) + "client output mismatch\n  expected: " + escape(expected) + "\n  got:      " + escape(got);
    switch (it.kind) {
      case 'S': {
        std::string block;
        size_t j = i;
        while (j < items.size() && items[j].kind == 'S') block += items[j++].value;
        i = j - 1;
        if (split_at == kByteByByte) {
          for (char c : block) {
            last = s->feed(std::string_view(&c, 1));
            drain();
          }
        } else if (split_at > static_cast<long>(offset) && split_at < static_cast<long>(offset + block.size())) {
          size_t cut = static_cast<size_t>(split_at) - offset;
          last = s->feed(std::string_view(block).substr(0, cut));
          drain();
          last = s->feed(std::string_view(block).substr(cut));
          drain();
        } else {
          last = s->feed(block);
          drain();
        }
        offset += block.size();
        break;
      }
      case '@': {
        const std::string& n = it.name;
        if (n == "env") {
          for (const auto& w : words(it.value)) {
            size_t eq = w.find('=');
            std::string k = w.substr(0, eq), v = eq == std::string::npos ? "" : w.substr(eq + 1);
            if (k == "sender") {
              if (v != "<>" && !unescape(v, env.sender)) return at(it) + "bad escape";
            }
            else if (k == "size") env.size = std::stoull(v);
            else if (k == "body") env.body = v == "8bit" ? BodyType::EightBitMime : v == "7bit" ? BodyType::SevenBit : BodyType::BinaryMime;
            else if (k == "smtputf8") env.smtputf8 = true;
            else if (k == "ret") env.ret = v == "full" ? Ret::Full : Ret::Headers;
            else if (k == "envid") env.envid = v;
            else return at(it) + "unknown env key " + k;
          }
        } else if (n == "rcpt") {
          auto ws = words(it.value);
          if (ws.empty()) return at(it) + "@rcpt needs an address";
          Recipient r;
          if (!unescape(ws[0], r.address)) return at(it) + "bad escape";
          for (size_t k = 1; k < ws.size(); ++k) {
            if (ws[k].rfind("orcpt=", 0) == 0) {
              if (!unescape(ws[k].substr(6), r.orcpt)) return at(it) + "bad escape";
            } else if (ws[k].rfind("notify=", 0) == 0) {
              std::string v = ws[k].substr(7);
              if (v.find("never") != std::string::npos) r.notify |= kNotifyNever;
              if (v.find("success") != std::string::npos) r.notify |= kNotifySuccess;
              if (v.find("failure") != std::string::npos) r.notify |= kNotifyFailure;
              if (v.find("delay") != std::string::npos) r.notify |= kNotifyDelay;
            } else return at(it) + "unknown rcpt key " + ws[k];
          }
          env.recipients.push_back(std::move(r));
        } else if (n == "start") {
          messages.push_back(std::move(message));
          message.clear();
          started.push_back(env.recipients);
          ++starts;
          last = s->start_transaction(std::move(env), messages.back());
          env = OutboundEnvelope{};
          drain();
        } else if (n == "quit") {
          last = s->quit();
          drain();
        } else if (n == "timeout") {
          last = s->on_timeout();
          drain();
        } else if (n == "disconnect") {
          last = s->on_disconnect();
          drain();
        } else if (n == "written") {
          s->output_written();
        } else if (n == "starttls") {
          last = s->starttls();
          drain();
        } else if (n == "skip_starttls") {
          last = s->skip_starttls();
          drain();
        } else if (n == "tls_established") {
          last = s->tls_established();
          drain();
        } else {
          return at(it) + "unknown command @" + n;
        }
        break;
      }
      case 'A':
        if (to_string(last) != it.value) return at(it) + "action: expected " + it.value + ", got " + std::string(to_string(last));
        break;
      case 'T':
        if (to_string(s->stage()) != it.value)
          return at(it) + "stage: expected " + it.value + ", got " + std::string(to_string(s->stage()));
        break;
      case 'R': {
        if (result_lines.empty()) return at(it) + "expected result '" + it.value + "', none available";
        std::string r = result_lines.front();
        result_lines.pop_front();
        if (r != it.value) return at(it) + "result mismatch\n  expected: " + it.value + "\n  got:      " + r;
        break;
      }
      case 'F': {
        std::string f = render_failure(s->connection_failure());
        if (f != it.value) return at(it) + "failure mismatch\n  expected: " + it.value + "\n  got:      " + f;
        break;
      }
      case 'K': {
        std::string k = render_caps(s->capabilities());
        if (k != it.value) return at(it) + "caps mismatch\n  expected: " + it.value + "\n  got:      " + k;
        break;
      }
      default: return at(it) + "unexpected item";
    }
  }
  if (!s) return "empty script";
  if (got != expected)
    return "end: client output mismatch\n  expected: " + escape(expected) + "\n  got:      " + escape(got);
  if (!result_lines.empty()) return "end: unchecked result: " + result_lines.front();
  if (s->closed() && results != starts) return "end: session closed but a transaction has no result";
  return "";
}

}  // namespace ringmta::smtp::test
