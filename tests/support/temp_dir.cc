#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

namespace strata::test {

std::string MakeTempDir(std::string_view prefix) {
  std::string base = ::testing::TempDir();
  if (base.empty()) base = "/tmp/";
  if (base.back() != '/') base += '/';
  std::string pattern = base + std::string(prefix) + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp(" << pattern << "): " << std::generic_category().message(errno);
    return "";
  }
  return std::string(buffer.data());
}

void RemoveRecursively(const std::string& path) {
  if (path.empty()) return;
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error) ADD_FAILURE() << "removing " << path << ": " << error.message();
}

std::string TempDir::Join(std::string_view name) const {
  std::string result = path_;
  result += '/';
  result += name;
  return result;
}

}  // namespace strata::test
