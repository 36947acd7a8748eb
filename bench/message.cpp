// bench/message.cpp — see message.h.
#include "bench/message.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ringmta::bench {

namespace fs = std::filesystem;

// Hand-formatted: snprintf here was ~15 % of the sender's instructions.
void append_message_id_line(std::string& out, uint64_t n, uint32_t shard) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[kMessageIdLineSize];
  std::memcpy(buf, "Message-ID: <", 13);
  for (int i = 0; i < 16; i++) buf[13 + i] = kHex[(n >> (60 - 4 * i)) & 15];
  buf[29] = '.';
  for (int i = 0; i < 8; i++) buf[30 + i] = kHex[(shard >> (28 - 4 * i)) & 15];
  std::memcpy(buf + 38, "@ringmta-bench.test>\r\n", 22);
  out.append(buf, kMessageIdLineSize);
}

MessageSet generate_messages(uint64_t size, const std::string& sender, const std::string& recipient) {
  std::string head = "From: <" + sender + ">\r\nTo: <" + recipient +
                     ">\r\nSubject: ringmta-bench load\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
                     "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
  const uint64_t fixed = kMessageIdLineSize + head.size();
  std::string body;
  if (size > fixed) {
    uint64_t left = size - fixed;
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
    uint64_t k = 0;
    while (left > 0) {
      // Lines of 76 characters + CRLF; the last ones are shortened so the
      // total is exact (a 1-byte tail is avoided: every line keeps its CRLF).
      uint64_t line = std::min<uint64_t>(78, left);
      if (left - line == 1) line--;
      if (line < 2) line = 2;  // only when size is 1 byte over the headers: one byte more
      for (uint64_t i = 0; i + 2 < line; i++) body += kAlphabet[(k++) % (sizeof(kAlphabet) - 1)];
      body += "\r\n";
      left -= std::min(line, left);
    }
  }
  MessageSet set;
  set.generated = true;
  set.bodies.push_back(head + body);
  set.sizes.push_back(kMessageIdLineSize + head.size() + body.size());
  return set;
}

std::string prepare_for_wire(const std::string& raw) {
  std::string out;
  out.reserve(raw.size() + raw.size() / 64 + 2);
  bool bol = true;
  for (size_t i = 0; i < raw.size(); i++) {
    const char c = raw[i];
    if (bol && c == '.') out += '.';
    if (c == '\r') {
      if (i + 1 < raw.size() && raw[i + 1] == '\n') i++;
      out += "\r\n";
      bol = true;
      continue;
    }
    if (c == '\n') {
      out += "\r\n";
      bol = true;
      continue;
    }
    out += c;
    bol = false;
  }
  if (!bol) out += "\r\n";
  return out;
}

MessageSet load_messages(const std::string& path, std::string* error) {
  MessageSet set;
  set.generated = false;
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (e.is_regular_file()) files.push_back(e.path());
      if (files.size() > 100000) {
        *error = path + ": more than 100,000 files";
        return {};
      }
    }
    std::sort(files.begin(), files.end());
  } else if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
  }
  if (files.empty()) {
    *error = path + ": no such file, or no regular files in the directory";
    return {};
  }
  for (const auto& f : files) {
    const auto sz = fs::file_size(f, ec);
    if (ec || sz > (64u << 20)) {
      *error = f.string() + (ec ? ": " + ec.message() : ": larger than 64 MiB");
      return {};
    }
    std::ifstream in(f, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in.good() && !in.eof()) {
      *error = f.string() + ": read error";
      return {};
    }
    std::string raw = ss.str();
    set.sizes.push_back(raw.size());
    set.bodies.push_back(prepare_for_wire(raw));
  }
  return set;
}

}  // namespace ringmta::bench
