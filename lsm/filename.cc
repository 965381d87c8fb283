#include "lsm/filename.h"

#include <cinttypes>
#include <cstdio>

#include "strata/env.h"

namespace strata {
namespace {

std::string NumberedFileName(const std::string& dbname, uint64_t number, const char* suffix) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "/%06" PRIu64 ".%s", number, suffix);
  return dbname + buf;
}

// Parses a decimal number filling all of text; false on overflow or junk.
bool ParseNumber(const std::string& text, uint64_t* number) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  *number = value;
  return true;
}

}  // namespace

std::string LogFileName(const std::string& dbname, uint64_t number) {
  return NumberedFileName(dbname, number, "log");
}
std::string TableFileName(const std::string& dbname, uint64_t number) {
  return NumberedFileName(dbname, number, "sst");
}
std::string TempFileName(const std::string& dbname, uint64_t number) {
  return NumberedFileName(dbname, number, "dbtmp");
}
std::string ManifestFileName(const std::string& dbname, uint64_t number) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "/MANIFEST-%06" PRIu64, number);
  return dbname + buf;
}
std::string CurrentFileName(const std::string& dbname) { return dbname + "/CURRENT"; }
std::string LockFileName(const std::string& dbname) { return dbname + "/LOCK"; }
std::string EventLogFileName(const std::string& dbname) { return dbname + "/LOG"; }

bool ParseFileName(const std::string& name, uint64_t* number, FileType* type) {
  if (name == "CURRENT") {
    *number = 0;
    *type = FileType::kCurrent;
    return true;
  }
  if (name == "LOCK") {
    *number = 0;
    *type = FileType::kLock;
    return true;
  }
  if (name == "LOG") {
    *number = 0;
    *type = FileType::kEventLog;
    return true;
  }
  const std::string manifest_prefix = "MANIFEST-";
  if (name.compare(0, manifest_prefix.size(), manifest_prefix) == 0) {
    *type = FileType::kManifest;
    return ParseNumber(name.substr(manifest_prefix.size()), number);
  }
  size_t dot = name.find('.');
  if (dot == std::string::npos || !ParseNumber(name.substr(0, dot), number)) return false;
  std::string suffix = name.substr(dot + 1);
  if (suffix == "log") {
    *type = FileType::kLog;
  } else if (suffix == "sst") {
    *type = FileType::kTable;
  } else if (suffix == "dbtmp") {
    *type = FileType::kTemp;
  } else {
    return false;
  }
  return true;
}

Status SetCurrentFile(Env* env, const std::string& dbname, uint64_t manifest_number) {
  std::string manifest = ManifestFileName(dbname, manifest_number);
  std::string contents = manifest.substr(dbname.size() + 1) + "\n";
  std::string temp = TempFileName(dbname, manifest_number);
  Status s = WriteStringToFile(env, contents, temp, /*sync=*/true);
  if (s.ok()) s = env->RenameFile(temp, CurrentFileName(dbname));
  if (s.ok()) s = env->SyncDir(dbname);
  if (!s.ok()) env->RemoveFile(temp);
  return s;
}

}  // namespace strata
