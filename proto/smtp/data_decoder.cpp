// proto/smtp/data_decoder.cpp — DATA body decoding and the BDAT line-end
// check (see data_decoder.h).
#include "proto/smtp/data_decoder.h"

#include <cstring>

namespace ringmta::smtp {

void DataDecoder::reset(uint64_t max_size) {
  state_ = State::LineStart;
  max_ = max_size;
  size_ = 0;
  oversize_ = bare_ = nul_ = false;
}

void DataDecoder::emit(const char* p, size_t n, std::string& out) {
  size_ += n;
  if (oversize_) return;
  if (size_ > max_) {
    oversize_ = true;  // keep counting and scanning to the end marker, store nothing more
    return;
  }
  out.append(p, n);
}

DataDecoder::Result DataDecoder::feed(std::string_view in, std::string& out) {
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    switch (state_) {
      case State::LineStart:
        if (in[i] == '.') {
          state_ = State::Dot;
          ++i;
        } else {
          state_ = State::Mid;
        }
        break;
      case State::Dot:
        // "." then CR might be the end marker; anything else: the dot was
        // stuffing and is dropped, the byte is content.
        if (in[i] == '\r') {
          state_ = State::DotCR;
          ++i;
        } else {
          state_ = State::Mid;
        }
        break;
      case State::DotCR:
        if (in[i] == '\n') {
          state_ = State::LineStart;
          return Result{i + 1, true};
        }
        emit("\r", 1, out);  // ".\rX": the CR is content (and bare)
        state_ = State::MidCR;
        break;
      case State::MidCR:
        if (in[i] == '\n') {
          emit("\n", 1, out);
          ++i;
          state_ = State::LineStart;
        } else {
          bare_ = true;
          state_ = State::Mid;
        }
        break;
      case State::Mid: {
        // One segment: up to and including the next LF (or to the end).
        const char* p = in.data() + i;
        const size_t rem = n - i;
        const char* lf = static_cast<const char*>(std::memchr(p, '\n', rem));
        const size_t seg = lf ? static_cast<size_t>(lf - p) : rem;
        if (!nul_ && std::memchr(p, '\0', seg)) nul_ = true;
        // The only CR allowed in a segment is the last byte (before the LF,
        // or pending at the end of the input).
        const char* cr = static_cast<const char*>(std::memchr(p, '\r', seg));
        if (cr && cr != p + seg - 1) bare_ = true;
        const bool ends_cr = seg > 0 && p[seg - 1] == '\r';
        if (lf) {
          emit(p, seg + 1, out);
          i += seg + 1;
          if (ends_cr) {
            state_ = State::LineStart;
          } else {
            bare_ = true;  // bare LF: content, never a line end for "." purposes
          }
        } else {
          emit(p, seg, out);
          i = n;
          if (ends_cr) state_ = State::MidCR;
        }
        break;
      }
    }
  }
  return Result{n, false};
}

void LineEndCheck::feed(std::string_view chunk) {
  if (chunk.empty()) return;
  const char* p = chunk.data();
  const size_t n = chunk.size();
  if (!nul_ && std::memchr(p, '\0', n)) nul_ = true;
  if (bare_) return;  // already refused; only NUL still matters for the reply
  size_t i = 0;
  if (pending_cr_) {
    if (p[0] != '\n') bare_ = true;
    pending_cr_ = false;
    i = 1;  // the LF completing the CRLF (or irrelevant once bare_)
  }
  // Walk CRs and LFs with memchr: each CR needs an LF right after it (or at
  // the start of the next chunk), each LF a CR right before it.
  while (i < n && !bare_) {
    const char* cr = static_cast<const char*>(std::memchr(p + i, '\r', n - i));
    const size_t stop = cr ? static_cast<size_t>(cr - p) : n;
    if (std::memchr(p + i, '\n', stop - i)) {  // an LF before the next CR: bare
      bare_ = true;
      break;
    }
    if (!cr) break;
    if (stop + 1 == n) {
      pending_cr_ = true;
      break;
    }
    if (p[stop + 1] != '\n') bare_ = true;
    i = stop + 2;
  }
}

}  // namespace ringmta::smtp
