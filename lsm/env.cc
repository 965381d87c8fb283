// Helpers that work over any Env: whole-file writes and reads for small files
// (CURRENT, test fixtures).
#include "strata/env.h"

namespace strata {

Status WriteStringToFile(Env* env, std::string_view data, const std::string& path, bool sync) {
  std::unique_ptr<WritableFile> file;
  Status s = env->NewWritableFile(path, &file);
  if (!s.ok()) return s;
  s = file->Append(data);
  if (s.ok() && sync) s = file->Sync();
  if (s.ok()) s = file->Close();
  file.reset();
  // A half-written file must not be mistaken for a complete one later.
  if (!s.ok()) env->RemoveFile(path);
  return s;
}

Status ReadFileToString(Env* env, const std::string& path, std::string* data) {
  data->clear();
  std::unique_ptr<SequentialFile> file;
  Status s = env->NewSequentialFile(path, &file);
  if (!s.ok()) return s;
  constexpr size_t kChunkSize = 64 * 1024;
  std::string scratch(kChunkSize, '\0');
  while (true) {
    std::string_view fragment;
    s = file->Read(kChunkSize, &fragment, scratch.data());
    if (!s.ok()) break;
    // Stop only on an empty read: a short one is end of file for our own Envs, but
    // costs nothing to confirm for any other implementation.
    if (fragment.empty()) break;
    data->append(fragment);
  }
  return s;
}

}  // namespace strata
