// tests/unit/proto/imap/search_eval_test.cpp — SEARCH evaluation
// (search_eval.h) over three real messages parsed with mail::parse_mime: every
// key kind, RFC 2047 words in several charsets, quoted-printable and base64
// bodies, dates (internal, sent with zones, missing), sequence/UID sets and
// "$", and nested OR/NOT, each program parsed by parse_command as a client
// would send it.
#include <gtest/gtest.h>

#include "proto/imap/search_eval.h"
#include "tests/unit/proto/imap/search_fixture.h"

namespace ringmta::imap {
namespace {

constexpr int64_t kDec7 = 1796601600LL * 1000;  // 2026-12-07 00:00:00 UTC, in ms
constexpr int64_t kHour = 3600LL * 1000;

constexpr std::string_view kMsg1 =
    "From: =?UTF-8?B?SsO8cmdlbiBHcsO2w59l?= <juergen@example.org>\n"
    "To: Alice <alice@example.com>, bob@example.net\n"
    "Cc: carol@example.com\n"
    "Bcc: dave@example.com\n"
    "Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?Q?_cr=C3=A8me?= meeting\n"
    "Date: Mon, 7 Dec 2026 23:30:00 -0800\n"
    "Message-ID: <m1@example.org>\n"
    "X-Custom: first value\n"
    "X-Custom: second\n"
    " value folded\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Hello w=C3=B6rld, this line is soft-=\n"
    "broken here.\n";

constexpr std::string_view kMsg2 =
    "From: bob@example.net\n"
    "To: team@example.com\n"
    "Subject: Re: [list] Quarterly report\n"
    "Date: 1 Dec 2026 08:00 +0000\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\n"
    "\n"
    "--XX\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "RGFzIEFuZ2Vib3QgZsO8ciBLYWZmZWU6IGNhZsOpIGNyw6htZS4NClp3ZWl0ZSBaZWlsZSBtaXQg\n"
    "U0VDUkVULVdPUkQuDQo=\n"
    "--XX\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "YXR0YWNobWVudCB3aXRoIG5lZWRsZS1pbi1hdHRhY2htZW50IGluc2lkZQ==\n"
    "--XX\n"
    "Content-Type: text/html; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "<p>Gr=FC=DFe aus M=FCnchen</p>\n"
    "--XX--\n";

constexpr std::string_view kMsg3 =
    "From: <noname@example.com>\n"
    "Subject: plain\n"
    "\n"
    "short\n";

class SearchEval : public ::testing::Test {
 protected:
  void SetUp() override {
    MessageData& a = box.add(kMsg1, kDec7 + 10 * kHour);
    a.flags = kFlagSeen | kFlagFlagged;
    a.size = 100;
    a.modseq = 5;
    box.keywords(0) = {"$Important"};
    MessageData& b = box.add(kMsg2, kDec7 - 6 * 24 * kHour + 8 * kHour + 1000);
    b.flags = kFlagSeen | kFlagAnswered | kFlagDeleted;
    b.recent = true;
    b.size = 5000;
    b.modseq = 9;
    MessageData& c = box.add(kMsg3, kDec7 - 1);
    c.flags = kFlagDraft;
    c.recent = true;
    c.size = 50;
    c.modseq = 1;
    ctx.max_seq = 3;
    ctx.max_uid = 30;
    ctx.now_ms = kDec7 + 24 * kHour;
  }
  // The sequence numbers matching `program`, as "1 2 3".
  std::string S(std::string_view program) {
    SearchKey k = testing::criteria(program);
    if (k.key == "BAD") return "BAD";
    std::string out;
    for (const MessageData& m : box.msgs)
      if (search_matches(k, m, ctx)) out += (out.empty() ? "" : " ") + std::to_string(m.seq);
    return out;
  }
  testing::Mailbox box;
  SearchContext ctx;
};

TEST_F(SearchEval, Flags) {
  EXPECT_EQ(S("ALL"), "1 2 3");
  EXPECT_EQ(S("SEEN"), "1 2");
  EXPECT_EQ(S("UNSEEN"), "3");
  EXPECT_EQ(S("ANSWERED"), "2");
  EXPECT_EQ(S("UNANSWERED"), "1 3");
  EXPECT_EQ(S("DELETED"), "2");
  EXPECT_EQ(S("UNDELETED"), "1 3");
  EXPECT_EQ(S("DRAFT"), "3");
  EXPECT_EQ(S("UNDRAFT"), "1 2");
  EXPECT_EQ(S("FLAGGED"), "1");
  EXPECT_EQ(S("UNFLAGGED"), "2 3");
  EXPECT_EQ(S("RECENT"), "2 3");
  EXPECT_EQ(S("OLD"), "1");
  EXPECT_EQ(S("NEW"), "3");
  EXPECT_EQ(S("KEYWORD $important"), "1");
  EXPECT_EQ(S("UNKEYWORD $Important"), "2 3");
  EXPECT_EQ(S("KEYWORD $Junk"), "");
}

TEST_F(SearchEval, SizesModseqAndSets) {
  EXPECT_EQ(S("SMALLER 100"), "3");
  EXPECT_EQ(S("LARGER 100"), "2");
  EXPECT_EQ(S("LARGER 99"), "1 2");
  EXPECT_EQ(S("MODSEQ 6"), "2");
  EXPECT_EQ(S("MODSEQ 5"), "1 2");
  EXPECT_EQ(S("MODSEQ \"/flags/\\\\seen\" all 1"), "1 2 3");
  EXPECT_EQ(S("1:2"), "1 2");
  EXPECT_EQ(S("2:*"), "2 3");
  EXPECT_EQ(S("*"), "3");
  EXPECT_EQ(S("3,1"), "1 3");
  EXPECT_EQ(S("UID 20:*"), "2 3");
  EXPECT_EQ(S("UID 25"), "");
  EXPECT_EQ(S("UID *:15"), "2 3");  // *:15 is 15:30
  EXPECT_EQ(S("$"), "");  // no saved result
  std::vector<uint32_t> saved = {10, 30};
  ctx.saved_uids = &saved;
  EXPECT_EQ(S("$"), "1 3");
  EXPECT_EQ(S("UID $"), "1 3");
  EXPECT_EQ(S("NOT $"), "2");
}

TEST_F(SearchEval, InternalAndSentDates) {
  EXPECT_EQ(S("BEFORE 7-Dec-2026"), "2 3");  // 3 is 6-Dec 23:59:59.999 UTC
  EXPECT_EQ(S("ON 7-Dec-2026"), "1");
  EXPECT_EQ(S("SINCE 7-Dec-2026"), "1");
  EXPECT_EQ(S("ON 6-Dec-2026"), "3");
  EXPECT_EQ(S("SINCE 1-Dec-2026"), "1 2 3");
  EXPECT_EQ(S("BEFORE 1-Dec-2026"), "");
  EXPECT_EQ(S("SAVEDON 1-Dec-2026"), "2");
  // Message 1 was sent on 7 Dec at 23:30 -0800 (8 Dec UTC): the written date counts.
  EXPECT_EQ(S("SENTON 7-Dec-2026"), "1");
  EXPECT_EQ(S("SENTON 8-Dec-2026"), "");
  EXPECT_EQ(S("SENTBEFORE 2-Dec-2026"), "2");
  // Message 3 has no Date: its INTERNALDATE's day stands in.
  EXPECT_EQ(S("SENTON 6-Dec-2026"), "3");
  EXPECT_EQ(S("SENTSINCE 6-Dec-2026"), "1 3");
  // now = 8 Dec 00:00 UTC; message 1 is 14 h old, 2 six days, 3 one day + 1 ms.
  EXPECT_EQ(S("OLDER 50400"), "1 2 3");
  EXPECT_EQ(S("YOUNGER 50400"), "");
  EXPECT_EQ(S("OLDER 50401"), "2 3");
  EXPECT_EQ(S("YOUNGER 50401"), "1");
  EXPECT_EQ(S("OLDER 86400"), "2 3");
  EXPECT_EQ(S("YOUNGER 86400"), "1");
}

TEST_F(SearchEval, AddressAndSubjectKeysDecodeEncodedWords) {
  EXPECT_EQ(S("FROM \"jürgen\""), "1");
  EXPECT_EQ(S("FROM \"JÜRGEN GRÖ\""), "1");  // simple UTF-8 folding (Ü, Ö)
  EXPECT_EQ(S("FROM juergen@EXAMPLE"), "1");
  EXPECT_EQ(S("FROM example.net"), "2");
  EXPECT_EQ(S("FROM noname"), "3");
  EXPECT_EQ(S("FROM SsO8"), "");  // the encoded form is not matched
  EXPECT_EQ(S("TO alice"), "1");
  EXPECT_EQ(S("TO bob@"), "1");
  EXPECT_EQ(S("TO team"), "2");
  EXPECT_EQ(S("CC carol"), "1");
  EXPECT_EQ(S("BCC dave"), "1");
  EXPECT_EQ(S("BCC nobody"), "");
  EXPECT_EQ(S("SUBJECT \"café crème meeting\""), "1");  // no space between adjacent words
  EXPECT_EQ(S("SUBJECT \"CAFÉ\""), "1");
  EXPECT_EQ(S("SUBJECT quarterly"), "2");
  EXPECT_EQ(S("SUBJECT \"\""), "1 2 3");
  EXPECT_EQ(S("CHARSET UTF-8 SUBJECT {6}\r\ncrème"), "1");
}

TEST_F(SearchEval, HeaderKey) {
  EXPECT_EQ(S("HEADER X-Custom \"second value folded\""), "1");
  EXPECT_EQ(S("HEADER x-custom first"), "1");
  EXPECT_EQ(S("HEADER x-custom \"\""), "1");
  EXPECT_EQ(S("HEADER X-None \"\""), "");
  EXPECT_EQ(S("HEADER Message-ID m1@example"), "1");
  EXPECT_EQ(S("HEADER Content-Type multipart"), "2");
  EXPECT_EQ(S("HEADER Subject \"caf=E9\""), "");  // decoded before matching
}

TEST_F(SearchEval, BodyAndTextDecodeTransferEncodingsAndCharsets) {
  EXPECT_EQ(S("BODY \"wörld\""), "1");                // quoted-printable UTF-8
  EXPECT_EQ(S("BODY soft-broken"), "1");              // soft line break removed
  EXPECT_EQ(S("BODY secret-word"), "2");              // base64, case folded
  EXPECT_EQ(S("BODY \"CAFÉ CRÈME\""), "2");
  EXPECT_EQ(S("BODY \"grüße aus MÜNCHEN\""), "2");    // ISO-8859-1 quoted-printable
  EXPECT_EQ(S("BODY needle-in-attachment"), "");     // not a text part
  EXPECT_EQ(S("BODY YXR0YWNo"), "");
  EXPECT_EQ(S("BODY meeting"), "");                   // header only
  EXPECT_EQ(S("TEXT meeting"), "1");
  EXPECT_EQ(S("TEXT \"subject: re: [list]\""), "2");
  EXPECT_EQ(S("TEXT SHORT"), "3");
  EXPECT_EQ(S("TEXT nothing-like-this"), "");
  EXPECT_EQ(S("TEXT application/octet-stream"), "2");  // a MIME part's header
  EXPECT_EQ(S("BODY application/octet-stream"), "");
}

TEST_F(SearchEval, NestedOrNot) {
  EXPECT_EQ(S("OR FROM bob NOT SEEN"), "2 3");
  EXPECT_EQ(S("NOT (SEEN FLAGGED)"), "2 3");
  EXPECT_EQ(S("OR (SUBJECT \"café\" FROM nobody) (DRAFT SMALLER 60)"), "3");
  EXPECT_EQ(S("NOT NOT 1"), "1");
  EXPECT_EQ(S("(OR SEEN DRAFT) NOT 1"), "2 3");
  EXPECT_EQ(S("OR OR 1 2 OR UID 30 KEYWORD x"), "1 2 3");
  EXPECT_EQ(S("SEEN NOT OR BODY secret-word TO alice"), "");
  EXPECT_EQ(S("UNDELETED OR BODY secret-word TO alice"), "1");
}

TEST_F(SearchEval, WithoutStructureTheBodyIsParsedHere) {
  MessageData m = box.msgs[1];
  m.structure = nullptr;
  EXPECT_TRUE(search_matches(testing::criteria("BODY secret-word"), m, ctx));
  EXPECT_TRUE(search_matches(testing::criteria("SUBJECT quarterly"), m, ctx));
  EXPECT_TRUE(search_matches(testing::criteria("HEADER from bob"), m, ctx));
  m.has_body = false;  // nothing loaded: string keys cannot match, flags still do
  EXPECT_FALSE(search_matches(testing::criteria("SUBJECT quarterly"), m, ctx));
  EXPECT_FALSE(search_matches(testing::criteria("BODY secret-word"), m, ctx));
  EXPECT_TRUE(search_matches(testing::criteria("NOT BODY secret-word ANSWERED"), m, ctx));
}

// SearchProgram's prepared sets (sorted, merged, '*' folded) answer exactly
// as SequenceSet::contains, for numbers inside and outside the mailbox.
TEST(SearchProgram, PreparedSetsAgreeWithSequenceSet) {
  uint32_t rnd = 12345;
  auto next = [&](uint32_t mod) {
    rnd = rnd * 1103515245u + 12345u;
    return (rnd >> 8) % mod;
  };
  for (int round = 0; round < 500; ++round) {
    std::string set;
    const uint32_t n = 1 + next(6);
    for (uint32_t i = 0; i < n; ++i) {
      auto num = [&] { return next(5) == 0 ? std::string("*") : std::to_string(1 + next(30)); };
      set += (i ? "," : "") + num();
      if (next(2)) set += ":" + num();
    }
    for (const char* form : {"", "UID "}) {
      const SearchKey key = testing::criteria(std::string(form) + set);
      ASSERT_EQ(key.children.size(), 1u) << set;
      const SearchProgram program(key);
      const uint32_t star = next(25);
      for (uint32_t x = 1; x <= 35; ++x) {
        MessageData m;
        m.seq = m.uid = x;
        SearchContext ctx{star, star, nullptr, 0};
        EXPECT_EQ(program.matches(m, ctx), key.children[0].set.contains(x, star)) << form << set << " x=" << x
                                                                                  << " *=" << star;
      }
    }
  }
}

TEST(SearchProgram, ManyRangesOverManyMessages) {
  std::string set;
  for (uint32_t i = 0; i < 5000; ++i) set += (i ? "," : "") + std::to_string(4 * i + 1) + ":" + std::to_string(4 * i + 2);
  const SearchKey key = testing::criteria("UID " + set);
  const SearchProgram program(key);
  EXPECT_EQ(program.needs(), kNeedNothing);
  size_t hits = 0;
  MessageData m;
  const SearchContext ctx{40000, 40000, nullptr, 0};
  for (uint32_t uid = 1; uid <= 40000; ++uid) {
    m.uid = uid;
    const bool hit = program.matches(m, ctx);
    EXPECT_EQ(hit, uid <= 20000 && (uid % 4 == 1 || uid % 4 == 2)) << uid;
    hits += hit;
  }
  EXPECT_EQ(hits, 10000u);
}

TEST(SearchNeeds, PerKey) {
  using testing::criteria;
  EXPECT_EQ(search_needs(criteria("SEEN 1:3 UID 4 LARGER 3 ON 1-Jan-2020 OLDER 5 MODSEQ 4")), kNeedNothing);
  EXPECT_EQ(search_needs(criteria("FROM x")), kNeedStructure);
  EXPECT_EQ(search_needs(criteria("SENTON 1-Jan-2020")), kNeedStructure);
  EXPECT_EQ(search_needs(criteria("HEADER a b")), kNeedBody);
  EXPECT_EQ(search_needs(criteria("OR SEEN NOT BODY x")), kNeedBody | kNeedStructure);
  EXPECT_EQ(search_needs(criteria("(SUBJECT x (TEXT y))")), kNeedBody | kNeedStructure);
}

TEST(SearchEvalBounds, DeepTreeDoesNotMatchOrOverflow) {
  SearchKey k{"ALL", {}, 0, {}, {}, {}};
  for (int i = 0; i < 1000; ++i) {
    SearchKey n{"NOT", {}, 0, {}, {}, {}};
    n.children.push_back(std::move(k));
    k = std::move(n);
  }
  MessageData m;
  EXPECT_FALSE(search_matches(k, m, SearchContext{}));
  EXPECT_EQ(search_needs(k), kNeedNothing);
  // An odd depth too: a cut-off subtree must not flip the result through NOT.
  SearchKey odd{"NOT", {}, 0, {}, {}, {}};
  odd.children.push_back(k);
  EXPECT_FALSE(search_matches(odd, m, SearchContext{}));
  // The parser's deepest program still evaluates.
  int n = 0;
  SearchKey parsed;
  for (int i = 1; i < 2 * kMaxSearchDepth; ++i) {
    std::string deep;
    for (int j = 0; j < i; ++j) deep += "NOT ";
    SearchKey p = testing::criteria(deep + "SEEN");
    if (p.key == "BAD") break;
    n = i;
    parsed = std::move(p);
  }
  ASSERT_GE(n, kMaxSearchDepth - 1);
  m.flags = n % 2 == 0 ? kFlagSeen : 0;
  EXPECT_TRUE(search_matches(parsed, m, SearchContext{}));
}

TEST(SearchCharset, Supported) {
  EXPECT_TRUE(charset_supported("UTF-8"));
  EXPECT_TRUE(charset_supported("us-ascii"));
  EXPECT_TRUE(charset_supported(""));
  EXPECT_FALSE(charset_supported("ISO-8859-1"));
  EXPECT_FALSE(charset_supported("UTF-7"));
}

}  // namespace
}  // namespace ringmta::imap
