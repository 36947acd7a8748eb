// tests/unit/relay/mta_sts_fetcher_test.cpp — MtaStsFetcher::lookup_now():
// the cache rules of RFC 8461 §5.1 over the durable cache files, without
// any server. A request without addresses cannot fetch, so a policy in the
// answer can only have come from the cache (the fetch itself is covered by
// tests/integration/test_delivery_tls_policy.py against a real HTTPS server).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "relay/mta_sts_fetcher.h"

namespace fs = std::filesystem;
using namespace ringmta::relay;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mta_sts_fetcher_test.XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_cache(const fs::path& dir, const std::string& domain, const std::string& id, int64_t fetched_ago,
                 const std::string& policy) {
  fs::create_directories(dir);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  std::ofstream(dir / domain) << "ringmta-mta-sts 1\n" << id << "\n" << (now - fetched_ago) << "\n" << policy;
}

const std::string kPolicy = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 3600\n";

MtaStsFetcher::Request req(std::optional<std::string> id) {
  MtaStsFetcher::Request r;
  r.domain = "example.com";
  r.txt_id = std::move(id);
  return r;
}

TEST(MtaStsFetcher, FreshCacheWithSameIdIsUsed) {
  TempDir t;
  write_cache(t.path, "example.com", "abc", 10, kPolicy);
  MtaStsFetcher f({t.path.string(), "", 443, std::chrono::milliseconds(1000)});
  auto a = f.lookup_now(req("abc"));
  ASSERT_TRUE(a.policy);
  EXPECT_EQ(a.policy->mode, mta_sts::Mode::Enforce);
  EXPECT_EQ(a.id, "abc");
  EXPECT_EQ(a.note, "cached");
}

TEST(MtaStsFetcher, NoTxtRecordStillUsesAFreshCache) {
  TempDir t;
  write_cache(t.path, "example.com", "abc", 10, kPolicy);
  MtaStsFetcher f({t.path.string(), "", 443, std::chrono::milliseconds(1000)});
  auto a = f.lookup_now(req(std::nullopt));
  ASSERT_TRUE(a.policy);
  EXPECT_EQ(a.note, "cached; no TXT record");
}

TEST(MtaStsFetcher, NewIdTriesToFetchAndKeepsTheFreshCacheOnFailure) {
  TempDir t;
  write_cache(t.path, "example.com", "abc", 10, kPolicy);
  MtaStsFetcher f({t.path.string(), "", 443, std::chrono::milliseconds(1000)});
  auto a = f.lookup_now(req("def"));
  ASSERT_TRUE(a.policy);
  EXPECT_EQ(a.id, "abc");
  EXPECT_EQ(a.note, "cached; refresh failed: mta-sts.example.com has no address");
}

TEST(MtaStsFetcher, ExpiredCacheIsNotUsed) {
  TempDir t;
  write_cache(t.path, "example.com", "abc", 7200, kPolicy);  // max_age 3600
  MtaStsFetcher f({t.path.string(), "", 443, std::chrono::milliseconds(1000)});
  EXPECT_FALSE(f.lookup_now(req("abc")).policy);
  EXPECT_FALSE(f.lookup_now(req(std::nullopt)).policy);
}

TEST(MtaStsFetcher, BrokenCacheFilesAreIgnored) {
  TempDir t;
  write_cache(t.path, "example.com", "abc", 10, "version: STSv1\nmode: enforce\n");  // no mx, no max_age
  fs::create_directories(t.path);
  std::ofstream(t.path / "example.org") << "something else\n";
  MtaStsFetcher f({t.path.string(), "", 443, std::chrono::milliseconds(1000)});
  EXPECT_FALSE(f.lookup_now(req("abc")).policy);
  auto r = req("abc");
  r.domain = "example.org";
  EXPECT_FALSE(f.lookup_now(r).policy);
}

TEST(MtaStsFetcher, NothingCachedAndNoTxtMeansNoPolicy) {
  TempDir t;
  MtaStsFetcher f({t.path.string(), "", 443, std::chrono::milliseconds(1000)});
  auto a = f.lookup_now(req(std::nullopt));
  EXPECT_FALSE(a.policy);
  EXPECT_EQ(a.note, "no STSv1 TXT record");
}

}  // namespace
