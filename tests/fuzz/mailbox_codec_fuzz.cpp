// tests/fuzz/mailbox_codec_fuzz.cpp — libFuzzer target for mailbox/codec.
// The first byte picks a decoder, the rest is its input. Any input must be
// refused or decoded without a crash or an out-of-bounds read; whatever
// decodes must survive encode -> decode unchanged, and a parsed key must be
// rebuilt byte for byte (keys are fixed-layout, so they are canonical).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "mailbox/codec.h"

using namespace ringmta::mailbox;

namespace {

void require(bool ok) {
  if (!ok) abort();
}

void message(std::string_view in) {
  Message m;
  if (!codec::decode_message(in, m)) return;
  Message again;
  require(codec::decode_message(codec::encode_message(m), again));
  require(again.flags == m.flags && again.modseq == m.modseq && again.internal_date_ms == m.internal_date_ms &&
          again.size == m.size && again.body_id == m.body_id && again.keywords == m.keywords);
}

void mailbox(std::string_view in) {
  Mailbox m;
  if (!codec::decode_mailbox(in, m)) return;
  Mailbox again;
  require(codec::decode_mailbox(codec::encode_mailbox(m), again));
  require(again.name == m.name && again.uidvalidity == m.uidvalidity && again.uidnext == m.uidnext &&
          again.highest_modseq == m.highest_modseq && again.attributes == m.attributes);
}

void account(std::string_view in) {
  Account a;
  if (!codec::decode_account(in, a)) return;
  Account again;
  require(codec::decode_account(codec::encode_account(a), again));
  require(again.next_mailbox_id == a.next_mailbox_id && again.last_uidvalidity == a.last_uidvalidity &&
          again.totals == a.totals);
}

void user_key(std::string_view in) {
  auto k = codec::parse_user_key(in);
  if (!k) return;
  const std::string p = codec::user_prefix("u");
  std::string rebuilt = k->kind == codec::UserKey::Kind::Mailbox ? codec::mailbox_key("u", k->mailbox_id)
                                                                 : codec::message_key("u", k->mailbox_id, k->uid);
  require(rebuilt.substr(p.size()) == in);
}

void ref_key(std::string_view in) {
  auto r = codec::parse_ref_key(in);
  if (!r) return;
  std::string rebuilt = in[0] == codec::kRefPrefix ? codec::ref_key(r->body_id, r->user, r->mailbox_id, r->uid)
                                                   : codec::hint_key(r->body_id, r->user, r->mailbox_id, r->uid);
  require(rebuilt == in);
  require(rebuilt.starts_with(in[0] == codec::kRefPrefix ? codec::ref_prefix(r->body_id) : std::string(1, in[0])));
}

void account_key(std::string_view in) {
  auto u = codec::parse_account_key(in);
  if (u) require(codec::account_key(*u) == in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0: message(in); break;
    case 1: mailbox(in); break;
    case 2: account(in); break;
    case 3: user_key(in); break;
    case 4: ref_key(in); break;
    case 5: account_key(in); break;
  }
  return 0;
}
