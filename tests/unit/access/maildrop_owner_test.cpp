// tests/unit/access/maildrop_owner_test.cpp — which mail store user a POP3
// login name is (access/pop3_session.h maildrop_owner): a bare NAME belongs
// to the first local domain, NAME@DOMAIN only to a local DOMAIN.
#include <gtest/gtest.h>

#include "access/pop3_session.h"

namespace ringmta::access {
namespace {

const std::vector<std::string> kDomains = {"example.net", "example.org"};

TEST(MaildropOwner, BareNameIsTheFirstLocalDomains) {
  EXPECT_EQ(maildrop_owner("alice", kDomains), "alice@example.net");
  EXPECT_EQ(maildrop_owner("alice", {}), "");  // no local domains: no mailbox
  EXPECT_EQ(maildrop_owner("", kDomains), "");
}

TEST(MaildropOwner, DomainMustBeLocalAndIsLowerCased) {
  EXPECT_EQ(maildrop_owner("bob@example.org", kDomains), "bob@example.org");
  // Lower case, as local delivery files the mail (mail::canonical_user).
  EXPECT_EQ(maildrop_owner("Bob@EXAMPLE.Org", kDomains), "bob@example.org");
  EXPECT_EQ(maildrop_owner("bob@elsewhere.test", kDomains), "");
  EXPECT_EQ(maildrop_owner("@example.net", kDomains), "");
  EXPECT_EQ(maildrop_owner("bob@", kDomains), "");
  // The last "@" separates the domain (a quoted local part may hold one).
  EXPECT_EQ(maildrop_owner("\"a@b\"@example.net", kDomains), "\"a@b\"@example.net");
}

TEST(MaildropOwner, CanonicalNamesAreFixedPoints) {
  for (const char* login : {"alice", "carol@example.org", "Dave@Example.NET"}) {
    const std::string owner = maildrop_owner(login, kDomains);
    ASSERT_FALSE(owner.empty()) << login;
    EXPECT_EQ(maildrop_owner(owner, kDomains), owner) << login;  // start_load relies on it
  }
}

}  // namespace
}  // namespace ringmta::access
