// tests/unit/admin/mailbox_protocol_test.cpp — the admin API's mail store
// commands: mailbox_append / mailbox_purge validation and the round trip
// ringmtactl -> JSON -> daemon (admin/mailbox_protocol.h).
#include <gtest/gtest.h>

#include "admin/mailbox_protocol.h"
#include "base/base64.h"

namespace ringmta::admin {
namespace {

std::optional<MailboxRequest> parse_text(std::string_view text, std::string* error) {
  auto v = base::json::parse(text);
  EXPECT_TRUE(v.ok()) << v.error();
  return v ? parse_mailbox_request(*v, error) : std::nullopt;
}

std::string refused(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_text(text, &error).has_value()) << text;
  return error;
}

TEST(MailboxProtocol, AppendRoundTripsWithBinaryBodies) {
  MailboxRequest req;
  req.kind = MailboxRequest::Kind::Append;
  req.user = "alice@local.test";
  req.mailbox = "Sent";
  req.create = true;
  req.token = "t0k";
  req.messages.push_back({std::string("Subject: x\r\n\r\n\xff\x00\x80\r\n", 18), "", 1 | 4, 1700000000123});
  req.messages.push_back({"A: b\r\n\r\n", "", 0, 0});
  const std::string line = base::json::dump(encode_mailbox_request(req));
  EXPECT_EQ(line.rfind("{\"token\":\"t0k\",\"cmd\":\"mailbox_append\"", 0), 0u) << line;  // token first
  std::string error;
  auto back = parse_text(line, &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->kind, MailboxRequest::Kind::Append);
  EXPECT_EQ(back->user, req.user);
  EXPECT_EQ(back->mailbox, "Sent");
  EXPECT_TRUE(back->create);
  EXPECT_EQ(back->token, "t0k");
  ASSERT_EQ(back->messages.size(), 2u);
  EXPECT_EQ(back->messages[0].body, req.messages[0].body);
  EXPECT_EQ(back->messages[0].flags, 5);
  EXPECT_EQ(back->messages[0].date_ms, 1700000000123);
  EXPECT_EQ(back->messages[1].body, "A: b\r\n\r\n");
}

TEST(MailboxProtocol, Purge) {
  std::string error;
  auto r = parse_text(R"({"cmd":"mailbox_purge","user":"bob@x.test"})", &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->kind, MailboxRequest::Kind::Purge);
  EXPECT_EQ(r->user, "bob@x.test");
  EXPECT_NE(refused(R"({"cmd":"mailbox_purge"})").find("needs 'user'"), std::string::npos);
  EXPECT_NE(refused(R"({"cmd":"mailbox_purge","user":"a b"})").find("bad user"), std::string::npos);
  EXPECT_NE(refused(R"({"cmd":"mailbox_purge","user":""})").find("bad user"), std::string::npos);
  EXPECT_NE(refused(R"({"cmd":"mailbox_purge","user":"a","mailbox":"x"})").find("not a field"), std::string::npos);
}

TEST(MailboxProtocol, Recognised) {
  EXPECT_TRUE(is_mailbox_request(*base::json::parse(R"({"cmd":"mailbox_x"})")));
  EXPECT_FALSE(is_mailbox_request(*base::json::parse(R"({"cmd":"flush"})")));
  EXPECT_FALSE(is_mailbox_request(*base::json::parse(R"([1])")));
  EXPECT_NE(refused(R"({"cmd":"mailbox_frobnicate","user":"a"})").find("unknown command"), std::string::npos);
}

TEST(MailboxProtocol, AppendRefusals) {
  const std::string b = base::base64_encode("S: x\r\n\r\n");
  auto req = [&](std::string messages, std::string extra = "") {
    return R"({"cmd":"mailbox_append","user":"a@b","mailbox":"INBOX")" + extra + R"(,"messages":)" + messages + "}";
  };
  EXPECT_NE(refused(req("[]")).find("non-empty array"), std::string::npos);
  EXPECT_NE(refused(req(R"([{"body":"***"}])")).find("base64"), std::string::npos);
  EXPECT_NE(refused(req(R"([{"body":""}])")).find("base64"), std::string::npos);
  EXPECT_NE(refused(req(R"([{"body":")" + b + R"(","flags":32}])")).find("flags"), std::string::npos);
  EXPECT_NE(refused(req(R"([{"body":")" + b + R"(","flags":-1}])")).find("flags"), std::string::npos);
  EXPECT_NE(refused(req(R"([{"body":")" + b + R"(","date_ms":-5}])")).find("date_ms"), std::string::npos);
  EXPECT_NE(refused(req(R"([{"body":")" + b + R"(","uid":3}])")).find("not a field"), std::string::npos);
  EXPECT_NE(refused(req(R"([{"body":")" + b + R"("}])", R"(,"create":"yes")")).find("create"), std::string::npos);
  EXPECT_NE(refused(R"({"cmd":"mailbox_append","user":"a@b","messages":[]})").find("needs 'mailbox'"),
            std::string::npos);
  EXPECT_NE(refused(R"({"cmd":"mailbox_append","user":"a@b","mailbox":"","messages":[]})").find("bad mailbox"),
            std::string::npos);
  // More body bytes than one request may carry.
  const std::string big = base::base64_encode(std::string(kMaxAppendBytes / 2 + 1, 'x'));
  EXPECT_NE(refused(req(R"([{"body":")" + big + R"("},{"body":")" + big + R"("}])")).find("MiB"), std::string::npos);
  std::string error;
  EXPECT_TRUE(parse_text(req(R"([{"body":")" + b + R"("}])"), &error)) << error;
}

TEST(MailboxProtocol, StageAndStagedMessages) {
  MailboxRequest stage;
  stage.kind = MailboxRequest::Kind::Stage;
  stage.stage = "ctl-12-1";
  stage.offset = 5u << 20;
  stage.data = std::string("\0\xff part", 7);
  std::string error;
  auto back = parse_text(base::json::dump(encode_mailbox_request(stage)), &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->kind, MailboxRequest::Kind::Stage);
  EXPECT_EQ(back->stage, "ctl-12-1");
  EXPECT_EQ(back->offset, 5u << 20);
  EXPECT_EQ(back->data, stage.data);

  MailboxRequest append;
  append.kind = MailboxRequest::Kind::Append;
  append.user = "a@b";
  append.mailbox = "INBOX";
  append.messages.push_back({"", "ctl-12-1", 1, 7});
  back = parse_text(base::json::dump(encode_mailbox_request(append)), &error);
  ASSERT_TRUE(back) << error;
  ASSERT_EQ(back->messages.size(), 1u);
  EXPECT_EQ(back->messages[0].staged, "ctl-12-1");
  EXPECT_EQ(back->messages[0].body, "");

  const std::string d = base::base64_encode("x");
  EXPECT_NE(refused(R"({"cmd":"mailbox_stage","stage":"a/b","offset":0,"data":")" + d + "\"}").find("'stage'"),
            std::string::npos);
  EXPECT_NE(refused(R"({"cmd":"mailbox_stage","stage":"a","offset":-1,"data":")" + d + "\"}").find("'offset'"),
            std::string::npos);
  EXPECT_NE(refused(R"({"cmd":"mailbox_stage","stage":"a","offset":0,"data":""})").find("'data'"), std::string::npos);
  EXPECT_NE(refused(R"({"cmd":"mailbox_stage","stage":"a","offset":0,"data":")" + d + R"(","user":"x"})")
                .find("not a field"),
            std::string::npos);
  EXPECT_NE(refused(R"({"cmd":"mailbox_append","user":"a@b","mailbox":"INBOX","messages":[{"body":")" + d +
                    R"(","staged":"a"}]})")
                .find("'body' (base64) or 'staged'"),
            std::string::npos);
  EXPECT_NE(refused(R"({"cmd":"mailbox_append","user":"a@b","mailbox":"INBOX","messages":[{"staged":"a b"}]})")
                .find("bad stage id"),
            std::string::npos);
}

TEST(MailboxProtocol, NameRules) {
  EXPECT_EQ(mailbox_user_problem("alice@local.test"), "");
  EXPECT_NE(mailbox_user_problem(std::string(256, 'a')), "");
  EXPECT_NE(mailbox_user_problem("a\tb"), "");
  EXPECT_EQ(mailbox_name_problem("Archive.2023"), "");
  EXPECT_NE(mailbox_name_problem(std::string("a\0b", 3)), "");
  EXPECT_NE(mailbox_name_problem("a\nb"), "");
  EXPECT_NE(mailbox_name_problem(std::string(1025, 'a')), "");
}

}  // namespace
}  // namespace ringmta::admin
