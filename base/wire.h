// base/wire.h — the compact binary encoding every stored record uses (the
// queue's envelopes and recipients, the mail store's records, the MIME
// structure blob): LEB128 varints, zig-zag signed varints, length-prefixed
// strings, single bytes and big-endian integers (for keys that must sort).
//
// Header-only, standard library only: the fuzz targets compile the codecs
// that use it straight from source.
//
// Reader trusts nothing: every read checks the bytes left first, the first
// failure sticks (later reads fail too, so a decoder may check once at the
// end), and error() names the field and the reason ("sender: truncated").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringmta::base::wire {

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Zig-zag, so small negative numbers stay short.
inline void put_signed(std::string& out, int64_t v) {
  put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

inline void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

inline void put_byte(std::string& out, uint8_t b) { out.push_back(static_cast<char>(b)); }

// `bytes` big-endian bytes of v (keys: byte order = numeric order).
inline void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The big-endian number in the first `bytes` bytes of s (s.size() >= bytes).
inline uint64_t get_be(std::string_view s, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(s[static_cast<size_t>(i)]);
  return v;
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool varint(uint64_t& v, const char* field = "value") {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1, field)) return false;
      const uint8_t b = static_cast<uint8_t>(in_[pos_++]);
      // The 10th byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && b > 1) return fail(field, "varint overflow");
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return fail(field, "varint too long");
  }
  bool u32(uint32_t& v, const char* field = "value") {
    uint64_t w;
    if (!varint(w, field)) return false;
    if (w > UINT32_MAX) return fail(field, "out of range");
    v = static_cast<uint32_t>(w);
    return true;
  }
  bool signed64(int64_t& v, const char* field = "value") {
    uint64_t w;
    if (!varint(w, field)) return false;
    v = static_cast<int64_t>((w >> 1) ^ (~(w & 1) + 1));
    return true;
  }
  // A length-prefixed string of at most `max` bytes.
  bool string(std::string& s, const char* field = "value", size_t max = SIZE_MAX) {
    uint64_t n;
    if (!varint(n, field)) return false;
    if (n > in_.size() - pos_) return fail(field, "length past end");
    if (n > max) return fail(field, "too long");
    s.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  // One byte that must be <= max (enums, bools).
  bool byte(uint8_t& b, const char* field = "value", uint8_t max = 0xff) {
    if (!need(1, field)) return false;
    b = static_cast<uint8_t>(in_[pos_++]);
    if (b > max) return fail(field, "value out of range");
    return true;
  }
  bool flag(bool& v, const char* field = "value") {
    uint8_t b;
    if (!byte(b, field, 1)) return false;
    v = b != 0;
    return true;
  }
  // A count of elements that take at least `min_bytes` each: never more than
  // the bytes left can hold (a corrupt count cannot make a decoder allocate).
  bool count(uint64_t& n, size_t min_bytes, const char* field = "count") {
    if (!varint(n, field)) return false;
    if (min_bytes > 0 && n > left() / min_bytes) return fail(field, "count past end");
    return true;
  }

  size_t left() const { return in_.size() - pos_; }
  bool at_end() const { return pos_ == in_.size(); }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // Fails unless every byte was read (call after the last field).
  bool finish(const char* what = "record") {
    if (ok() && !at_end()) fail(what, "trailing bytes");
    return ok();
  }
  bool fail(const char* field, const char* why) {
    if (error_.empty()) error_ = std::string(field) + ": " + why;
    pos_ = in_.size();
    return false;
  }

 private:
  bool need(size_t n, const char* field) {
    if (in_.size() - pos_ >= n) return true;
    return fail(field, "truncated");
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace ringmta::base::wire
