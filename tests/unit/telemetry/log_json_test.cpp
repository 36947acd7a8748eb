// tests/unit/telemetry/log_json_test.cpp — log.format = "json": the text lines
// the daemon logs (the exact shapes of scheduler.cpp, inbound.cpp, auth.cpp)
// become JSON objects with event, queue_id and their key=value fields.
#include <gtest/gtest.h>

#include "base/json.h"
#include "telemetry/log_json.h"

namespace ringmta::telemetry {
namespace {

std::string line(std::string_view msg) { return json_log_line("2025-01-02T03:04:05.000006Z", "info", msg); }

TEST(LogJson, PlainLine) {
  EXPECT_EQ(line("ringmta ready: 2 shard(s)"),
            R"j({"ts":"2025-01-02T03:04:05.000006Z","level":"info","msg":"ringmta ready: 2 shard(s)"})j");
}

TEST(LogJson, DeliveryLine) {
  EXPECT_EQ(line("06H34RF2FG010000: to=<c@other.test>, relay=mx1.other.test[192.0.2.7]:25, delay=0.01, dsn=2.0.0, "
                 "status=sent (250 2.0.0 Ok: queued as X, thanks)"),
            R"j({"ts":"2025-01-02T03:04:05.000006Z","level":"info","event":"delivery","queue_id":"06H34RF2FG010000",)j"
            R"j("to":"c@other.test","relay":"mx1.other.test[192.0.2.7]:25","delay":"0.01","dsn":"2.0.0",)j"
            R"j("status":"sent","reply":"250 2.0.0 Ok: queued as X, thanks",)j"
            R"j("msg":"06H34RF2FG010000: to=<c@other.test>, relay=mx1.other.test[192.0.2.7]:25, delay=0.01, )j"
            R"j(dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X, thanks)"})j");
}

TEST(LogJson, AcceptLineWithSeveralRecipients) {
  const std::string j = line(
      "06H34RF2FG010000: accepted client=[127.0.0.1]:4242, from=<>, size=381, nrcpt=2, to=<a@x.test>,<b@y.test>, "
      "commit=6ms");
  EXPECT_NE(j.find(R"j("event":"accept","queue_id":"06H34RF2FG010000","client":"[127.0.0.1]:4242","from":"",)j"
                   R"j("size":"381","nrcpt":"2","to":"a@x.test,b@y.test","commit":"6ms")j"),
            std::string::npos)
      << j;
}

TEST(LogJson, NoticesAndRemoval) {
  EXPECT_NE(line("06H34RF2FG010000: sender non-delivery notification: 06H34RF2KR000000")
                .find(R"j("event":"bounce","queue_id":"06H34RF2FG010000","notice_id":"06H34RF2KR000000")j"),
            std::string::npos);
  EXPECT_NE(line("06H34RF2FG010000: sender delay notification: 06H34RF2KR000000").find(R"j("event":"delay_notice")j"),
            std::string::npos);
  EXPECT_NE(line("06H34RF2FG010000: removed").find(R"j("event":"removed","queue_id":"06H34RF2FG010000")j"),
            std::string::npos);
}

TEST(LogJson, ConnectTlsAuthProxy) {
  EXPECT_NE(line("connect client=[203.0.113.9]:5555, session=3, listener=0.0.0.0:25, proxy=[10.0.0.2]:40000")
                .find(R"j("event":"connect","client":"[203.0.113.9]:5555","session":"3","listener":"0.0.0.0:25",)j"
                      R"j("proxy":"[10.0.0.2]:40000")j"),
            std::string::npos);
  EXPECT_NE(line("session 7 [127.0.0.1]:4242: TLS TLSv1.3 TLS_AES_256_GCM_SHA384 (256 bits), sni=mx.test")
                .find(R"j("event":"tls","session":"7","client":"[127.0.0.1]:4242","tls_version":"TLSv1.3",)j"
                      R"j("cipher":"TLS_AES_256_GCM_SHA384")j"),
            std::string::npos);
  EXPECT_NE(line("session 7 [127.0.0.1]:4242: TLS handshake failed: no shared cipher")
                .find(R"j("event":"tls_failed","session":"7","client":"[127.0.0.1]:4242","error":"no shared cipher")j"),
            std::string::npos);
  EXPECT_NE(line("authentication failed: client=[127.0.0.1] user=<bob>: 2 failure(s) from this address")
                .find(R"j("event":"auth_failed","client":"[127.0.0.1]","user":"bob")j"),
            std::string::npos);
  EXPECT_NE(line("PROXY protocol: connection refused: client=[127.0.0.1]:4242 listener=127.0.0.1:25 (bad)")
                .find(R"j("event":"proxy_refused","client":"[127.0.0.1]:4242","listener":"127.0.0.1:25")j"),
            std::string::npos);
}

TEST(LogJson, EscapingAndBadUtf8) {
  EXPECT_EQ(base::json::quote("a\"b\\c\n\x01\x7f"), R"j("a\"b\\c\n\u0001\u007f")j");
  EXPECT_EQ(base::json::quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");            // valid UTF-8 kept
  EXPECT_EQ(base::json::quote("bad\xff\xc3"), R"j("bad\ufffd\ufffd")j");       // invalid bytes replaced
  EXPECT_EQ(base::json::quote("\xed\xa0\x80"), R"j("\ufffd\ufffd\ufffd")j");  // a surrogate is not UTF-8
}

TEST(LogJson, NoDuplicateMembers) {
  // A field named like a fixed member is dropped rather than duplicated.
  const std::string j = line("connect client=[1.2.3.4]:5, msg=x, level=y, client=again");
  EXPECT_EQ(j.find("\"level\":\"y\""), std::string::npos) << j;
  EXPECT_EQ(j.find("\"client\":\"again\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"client\":\"[1.2.3.4]:5\""), std::string::npos) << j;
}

}  // namespace
}  // namespace ringmta::telemetry
