// tests/fuzz/admin_mailbox_request_fuzz.cpp — libFuzzer target for the admin
// API's mail store commands (admin/mailbox_protocol): any bytes are parsed
// as JSON and, when that works, as a mailbox request. A refusal says why;
// an accepted request survives encode -> dump -> parse unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "admin/mailbox_protocol.h"
#include "base/json.h"

using namespace ringmta;

static void check(bool ok) {
  if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto v = base::json::parse(in);
  if (!v) return 0;
  const auto req = admin::parse_mailbox_request(*v, &error);
  if (!req) {
    check(!error.empty());
    return 0;
  }
  const auto again_json = base::json::parse(base::json::dump(admin::encode_mailbox_request(*req)));
  check(again_json.ok());
  const auto again = admin::parse_mailbox_request(*again_json, &error);
  check(again.has_value());
  check(again->kind == req->kind && again->user == req->user && again->mailbox == req->mailbox &&
        again->create == req->create && again->token == req->token && again->stage == req->stage &&
        again->offset == req->offset && again->data == req->data && again->messages.size() == req->messages.size());
  for (size_t i = 0; i < req->messages.size(); ++i) {
    const auto& a = req->messages[i];
    const auto& b = again->messages[i];
    check(a.body == b.body && a.staged == b.staged && a.flags == b.flags && a.date_ms == b.date_ms);
  }
  return 0;
}
