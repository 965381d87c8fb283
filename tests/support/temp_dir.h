// Scratch directories for tests that touch the real filesystem.
#pragma once

#include <string>
#include <string_view>

namespace strata::test {

// Creates a fresh, empty directory under ::testing::TempDir() (which honours
// TEST_TMPDIR) and returns its path, without a trailing slash. Fails the current test
// and returns "" if it cannot.
std::string MakeTempDir(std::string_view prefix = "strata");

// Removes path and everything below it; a missing path is fine.
void RemoveRecursively(const std::string& path);

// A fresh directory that is removed, with its contents, when the object is destroyed.
//   test::TempDir dir;
//   WriteStringToFile(Env::Default(), "x", dir.Join("CURRENT"), true);
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "strata") : path_(MakeTempDir(prefix)) {}
  ~TempDir() { RemoveRecursively(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Join(std::string_view name) const;

 private:
  const std::string path_;
};

}  // namespace strata::test
