// tests/unit/tools/sendmail_test.cpp — ringmta-sendmail's pure parts: the
// sendmail command line, -i and the lone dot, -t's header recipients and Bcc.
#include <gtest/gtest.h>

#include "tools/sendmail_message.h"

namespace ringmta::tools::sendmail {
namespace {

Options args_ok(std::vector<std::string> args) {
  auto o = parse_args(args);
  EXPECT_TRUE(o.ok()) << o.error();
  return o.value_or(Options{});
}

std::string args_error(std::vector<std::string> args) {
  auto o = parse_args(args);
  EXPECT_FALSE(o.ok());
  return o.error();
}

TEST(SendmailArgs, CommonInvocations) {
  Options o = args_ok({"-t", "-i", "-f", "root@example.org"});
  EXPECT_TRUE(o.extract_recipients);
  EXPECT_TRUE(o.ignore_dots);
  EXPECT_EQ(o.sender, "root@example.org");
  EXPECT_TRUE(o.recipients.empty());
  o = args_ok({"-oi", "-fbounce@example.org", "-F", "Cron Daemon", "a@x.test", "b@y.test"});
  EXPECT_TRUE(o.ignore_dots);
  EXPECT_EQ(o.sender, "bounce@example.org");
  EXPECT_EQ(o.full_name, "Cron Daemon");
  EXPECT_EQ(o.recipients, (std::vector<std::string>{"a@x.test", "b@y.test"}));
  EXPECT_EQ(args_ok({"-f", "<>"}).sender, "");
  EXPECT_EQ(args_ok({"-r", "<a@b.test>"}).sender, "a@b.test");
  EXPECT_EQ(args_ok({"--config", "/etc/r.toml", "-odb", "-oem", "-bm", "--", "-odd@x.test"}).recipients,
            std::vector<std::string>{"-odd@x.test"});
  EXPECT_EQ(args_ok({"--config=/x.toml"}).config_path, "/x.toml");
  EXPECT_FALSE(args_ok({"a@x.test"}).sender.has_value());
}

TEST(SendmailArgs, Refusals) {
  EXPECT_EQ(args_error({"-bs"}), "unsupported option -bs (ringmta-sendmail only submits a message: -t -i -f ADDR [recipients])");
  EXPECT_EQ(args_error({"-f"}), "option -f needs a value");
  EXPECT_EQ(args_error({"-f", "a b@c"}), "bad sender address 'a b@c'");
  EXPECT_EQ(args_error({"-q"}).rfind("unsupported option -q", 0), 0u);
}

TEST(SendmailInput, LoneDotEndsUnlessIgnored) {
  EXPECT_EQ(normalize_input("a\nb\n.\nc\n", false), "a\r\nb\r\n");
  EXPECT_EQ(normalize_input("a\nb\n.\nc\n", true), "a\r\nb\r\n.\r\nc\r\n");
  EXPECT_EQ(normalize_input("a\r\n..\r\nno final line end", false), "a\r\n..\r\nno final line end\r\n");
  EXPECT_EQ(normalize_input("", true), "");
}

TEST(SendmailAddresses, AddressLists) {
  EXPECT_EQ(parse_address_list(R"(A <a@x.test>, "B, Quoted" <b@y.test>, c@z.test (comment), undisclosed:;)"),
            (std::vector<std::string>{"a@x.test", "b@y.test", "c@z.test"}));
  EXPECT_EQ(parse_address_list("team: d@w.test, e@w.test;, f@v.test"),
            (std::vector<std::string>{"d@w.test", "e@w.test", "f@v.test"}));
  EXPECT_EQ(parse_address_list(R"(<"odd local"@x.test>)"), std::vector<std::string>{"\"odd local\"@x.test"});
  EXPECT_TRUE(parse_address_list("Just A Name, ").empty());
}

TEST(SendmailPrepare, ExtractRecipientsAndDropBcc) {
  const std::string msg =
      "To: A <a@x.test>,\r\n  b@y.test\r\nCc: c@z.test\r\nBcc: hidden@h.test,\r\n\tmore@h.test\r\n"
      "Subject: hi\r\nFrom: me@s.test\r\n\r\nbody\r\nBcc: not a header\r\n";
  Prepared p = prepare_message(msg, true, "x@s.test", "DATE", "<id@s.test>");
  EXPECT_EQ(p.recipients,
            (std::vector<std::string>{"a@x.test", "b@y.test", "c@z.test", "hidden@h.test", "more@h.test"}));
  EXPECT_EQ(p.message,
            "Date: DATE\r\nMessage-ID: <id@s.test>\r\n"
            "To: A <a@x.test>,\r\n  b@y.test\r\nCc: c@z.test\r\nSubject: hi\r\nFrom: me@s.test\r\n\r\n"
            "body\r\nBcc: not a header\r\n");
  // Without -t the recipients are not taken, but Bcc still never leaves.
  Prepared q = prepare_message(msg, false, "", "", "");
  EXPECT_TRUE(q.recipients.empty());
  EXPECT_EQ(q.message.find("hidden@h.test"), std::string::npos);
}

TEST(SendmailPrepare, AddsMissingFieldsAndHandlesHeaderlessInput) {
  Prepared p = prepare_message("no header here\r\n", false, "Cron <c@s.test>", "D", "<i@s>");
  EXPECT_EQ(p.message, "From: Cron <c@s.test>\r\nDate: D\r\nMessage-ID: <i@s>\r\nno header here\r\n");
  Prepared h = prepare_message("Subject: only header\r\n", false, "", "", "");
  EXPECT_EQ(h.message, "Subject: only header\r\n\r\n");
}

}  // namespace
}  // namespace ringmta::tools::sendmail
