// strata_demo: writes a small store, closes it, opens it again and reads it back,
// printing what it finds. Run by the README's first command.
//
//   build/tools/strata_demo [directory]     (default: a fresh directory under /tmp)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "strata/db.h"
#include "strata/env.h"

namespace {

int Fail(const char* what, const strata::Status& s) {
  std::fprintf(stderr, "%s failed: %s\n", what, s.ToString().c_str());
  return 1;
}

std::string KeyFor(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "user:%06d", i);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  if (argc > 1) {
    path = argv[1];
  } else {
    char tmpl[] = "/tmp/strata-demo-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    path = std::string(tmpl) + "/store";
  }
  constexpr int kRows = 100000;

  strata::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = 1 << 20;  // small, so the demo flushes tables to disk
  {
    std::unique_ptr<strata::DB> db;
    strata::Status s = strata::DB::Open(options, path, &db);
    if (!s.ok()) return Fail("open", s);
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRows; i += 1000) {
      strata::WriteBatch batch;
      for (int j = i; j < i + 1000; j++) batch.Put(KeyFor(j), "value of " + KeyFor(j));
      s = db->Write(strata::WriteOptions(), &batch);
      if (!s.ok()) return Fail("write", s);
    }
    for (int i = 0; i < kRows; i += 10) {
      s = db->Delete(strata::WriteOptions(), KeyFor(i));
      if (!s.ok()) return Fail("delete", s);
    }
    strata::WriteOptions sync;
    sync.sync = true;
    s = db->Put(sync, "greeting", "hello from strata");
    if (!s.ok()) return Fail("put", s);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("wrote %d rows, deleted %d, in %.3f s, into %s\n", kRows, kRows / 10, seconds,
                path.c_str());
    s = db->Close();
    if (!s.ok()) return Fail("close", s);
  }

  std::unique_ptr<strata::DB> db;
  strata::Status s = strata::DB::Open(options, path, &db);
  if (!s.ok()) return Fail("reopen", s);
  std::string value;
  s = db->Get(strata::ReadOptions(), "greeting", &value);
  if (!s.ok()) return Fail("get greeting", s);
  std::printf("after reopen: greeting = \"%s\"\n", value.c_str());
  s = db->Get(strata::ReadOptions(), KeyFor(10), &value);
  std::printf("after reopen: %s -> %s (it was deleted)\n", KeyFor(10).c_str(),
              s.IsNotFound() ? "not found" : value.c_str());
  s = db->Get(strata::ReadOptions(), KeyFor(12345), &value);
  std::printf("after reopen: %s -> \"%s\"\n", KeyFor(12345).c_str(),
              s.ok() ? value.c_str() : s.ToString().c_str());

  int count = 0;
  std::string first, last;
  auto it = db->NewIterator(strata::ReadOptions());
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (count == 0) first = std::string(it->key());
    last = std::string(it->key());
    count++;
  }
  if (!it->status().ok()) return Fail("scan", it->status());
  std::printf("scan: %d keys from %s to %s (expected %d)\n", count, first.c_str(), last.c_str(),
              kRows - kRows / 10 + 1);
  it->Seek("user:050000");
  std::printf("seek user:050000 -> next three keys:");
  for (int i = 0; i < 3 && it->Valid(); i++, it->Next()) {
    std::printf(" %s", std::string(it->key()).c_str());
  }
  std::printf("\n");
  it.reset();
  return count == kRows - kRows / 10 + 1 ? 0 : 1;
}
