#include "server/admin_auth.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace surge::server {
namespace {

TEST(AdminAuthTest, AcceptsOnlyTheExactBearerToken) {
  AdminAuth auth("s3cret");
  EXPECT_TRUE(auth.enabled());
  EXPECT_TRUE(auth.Accepts("Bearer s3cret"));
  EXPECT_TRUE(auth.Accepts("bearer s3cret"));  // the scheme is case-insensitive
  EXPECT_FALSE(auth.Accepts("Bearer s3cre"));
  EXPECT_FALSE(auth.Accepts("Bearer s3cretX"));
  EXPECT_FALSE(auth.Accepts("Bearer S3CRET"));
  EXPECT_FALSE(auth.Accepts("Basic s3cret"));
  EXPECT_FALSE(auth.Accepts("s3cret"));
  EXPECT_FALSE(auth.Accepts(""));
  EXPECT_FALSE(AdminAuth("").enabled());
}

TEST(AdminAuthTest, ConstantTimeEqualsComparesLengthAndEveryByte) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("xbc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abcd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("ab\0", 3), "ab"));
}

TEST(AdminAuthTest, LoopbackAddressesAreRecognised) {
  for (const char* address : {"127.0.0.1:50051", "127.1.2.3:0", "localhost:50051", "[::1]:0",
                              "LOCALHOST:1", "unix:/tmp/surge.sock", "ipv4:127.0.0.1:80"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address : {"0.0.0.0:50051", "[::]:50051", "10.0.0.1:50051", "example.com:1",
                              "128.0.0.1:1", "[::2]:1", "127.0.0:1", ":50051"}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(AdminAuthTest, TokenFileIsTrimmedAndMustNotBeEmpty) {
  char path[] = "/tmp/surge-token-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "\n  tok-123 \n";
  auto token = ReadAdminTokenFile(path);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "tok-123");

  std::ofstream(path, std::ios::trunc) << " \n\t";
  EXPECT_EQ(ReadAdminTokenFile(path).status().code(), absl::StatusCode::kInvalidArgument);
  ::unlink(path);
  EXPECT_EQ(ReadAdminTokenFile(path).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace surge::server
