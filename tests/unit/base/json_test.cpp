// tests/unit/base/json_test.cpp — the admin API's JSON: parse, dump,
// round trips, and refusals with a reason (bad input never crashes).
#include <gtest/gtest.h>

#include "base/json.h"

namespace ringmta::base::json {
namespace {

Value parse_ok(std::string_view text) {
  auto v = parse(text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.error();
  return v.value_or(Value());
}

std::string error_of(std::string_view text) {
  auto v = parse(text);
  EXPECT_FALSE(v.ok()) << text;
  return v.error();
}

TEST(Json, ParsesARequest) {
  Value v = parse_ok(R"( {"cmd":"flush","ids":["A","B"],"all":false,"n":-12,"x":1.5e2,"z":null} )");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.get("cmd")->as_string(), "flush");
  ASSERT_EQ(v.get("ids")->items().size(), 2u);
  EXPECT_EQ(v.get("ids")->items()[1].as_string(), "B");
  EXPECT_FALSE(v.get("all")->as_bool());
  EXPECT_TRUE(v.get("n")->is_int());
  EXPECT_EQ(v.get("n")->as_int(), -12);
  EXPECT_DOUBLE_EQ(v.get("x")->as_double(), 150.0);
  EXPECT_TRUE(v.get("z")->is_null());
  EXPECT_EQ(v.get("missing"), nullptr);
}

TEST(Json, EscapesRoundTrip) {
  Value v = Value::object();
  v.set("s", std::string("quote\" back\\ nl\n tab\t ctl\x01 utf8 \xc3\xa9 \xf0\x9f\x93\xa7"));
  v.set("list", Value::array().push(1).push(true).push("x"));
  const std::string text = dump(v);
  EXPECT_EQ(text.find('\n'), std::string::npos) << "one line";
  Value back = parse_ok(text);
  EXPECT_EQ(back.get("s")->as_string(), v.get("s")->as_string());
  EXPECT_EQ(dump(back), text);
  EXPECT_EQ(parse_ok(R"("\u00e9\ud83d\udce7")").as_string(), "\xc3\xa9\xf0\x9f\x93\xa7");
}

TEST(Json, InvalidUtf8InDataBecomesReplacementCharacter) {
  // Remote replies in the queue may hold any bytes; JSON must stay valid.
  const std::string text = quote(std::string("a\xff" "b\xc3", 4));
  EXPECT_EQ(text, "\"a\\ufffdb\\ufffd\"");
  EXPECT_EQ(parse_ok(text).as_string(), "a\xef\xbf\xbd" "b\xef\xbf\xbd");
}

TEST(Json, Refusals) {
  EXPECT_EQ(error_of(""), "at byte 0: unexpected end of input");
  EXPECT_EQ(error_of("{\"a\" 1}"), "at byte 5: expected ':'");
  EXPECT_EQ(error_of("[1,]"), "at byte 3: unexpected character ']'");
  EXPECT_EQ(error_of("{} x"), "at byte 3: unexpected data after the value");
  EXPECT_EQ(error_of("\"a\nb\""), "at byte 2: control character in a string");
  EXPECT_EQ(error_of("\"\\ud800\""), "at byte 7: lone high surrogate");
  EXPECT_EQ(error_of("\"\xff\""), "at byte 1: invalid UTF-8 in a string");
  EXPECT_EQ(error_of("01"), "at byte 1: unexpected data after the value");
  EXPECT_EQ(error_of("1e999"), "at byte 5: number out of range");
  EXPECT_EQ(error_of("{\"a\":tru}"), "at byte 5: unexpected character 't'");
  EXPECT_EQ(error_of(std::string(100, '[')), "at byte 33: nested too deeply");
  EXPECT_EQ(error_of("\"abc"), "at byte 4: unterminated string");
}

TEST(Json, EveryControlCharacterEscaped) {
  // C0, DEL and the C1 controls (U+009B is CSI on some terminals); NBSP is text.
  EXPECT_EQ(dump(Value("a\x1b[31m\x7f\xc2\x9b\xc2\xa0")), "\"a\\u001b[31m\\u007f\\u009b\xc2\xa0\"");
  EXPECT_EQ(parse_ok(dump(Value("\xc2\x85x"))).as_string(), "\xc2\x85x");
}

TEST(Json, DoublesStayDoubles) {
  EXPECT_EQ(dump(Value(3.0)), "3.0");
  EXPECT_EQ(dump(Value(-0.0)), "-0.0");
  EXPECT_EQ(dump(Value(1.5)), "1.5");
  EXPECT_TRUE(parse_ok(dump(Value(3.0))).type() == Value::Type::Double);
}

TEST(Json, RepeatedKeysAndManyMembers) {
  Value v = parse_ok(R"({"a":1,"b":2,"a":3})");
  ASSERT_EQ(v.members().size(), 2u);
  EXPECT_EQ(v.members()[0].first, "a");
  EXPECT_EQ(v.get("a")->as_int(), 3);
  EXPECT_EQ(dump(v), R"({"a":3,"b":2})");
  // 200,000 members (a 3 MB request): parsed in linear time, each kept.
  std::string text = "{";
  for (int i = 0; i < 200000; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  text += "}";
  Value big = parse_ok(text);
  EXPECT_EQ(big.members().size(), 200000u);
  EXPECT_EQ(big.members().back().second.as_int(), 199999);
}

}  // namespace
}  // namespace ringmta::base::json

// The bench tools' JSON reports use the same quoting (they had their own copy).
TEST(JsonQuote, ControlsAndQuotesEscaped) {
  EXPECT_EQ(ringmta::base::json::quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}
