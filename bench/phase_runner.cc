#include "bench/phase_runner.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "bench/process_stats.h"

namespace strata::bench {
namespace {

std::string DescribeAnswer(bool found, const std::string& value) {
  if (!found) return "NotFound";
  return "a " + std::to_string(value.size()) + "-byte value";
}

}  // namespace

PhaseRunner::PhaseRunner(const RunConfig& config, EngineAdapter* engine, std::string store_dir)
    : config_(config),
      engine_(engine),
      store_dir_(std::move(store_dir)),
      values_(Mix64(config.seed ^ 0x706f6f6cull)),
      expected_(config.num) {}

Status PhaseRunner::Run(const Phase& phase, PhaseResult* result) {
  if (!IsFill(phase.kind) && !engine_->is_open()) {
    return Status::InvalidArgument(std::string(PhaseName(phase.kind)) +
                                   " needs a store: put fillseq or fillrandom before it");
  }
  if (IsFill(phase.kind)) {
    // Not timed: closing waits for the previous store's background work.
    Status s = FreshStore();
    if (!s.ok()) return s;
  }

  Work work;
  double stall_before = engine_->StallSeconds();
  ProcessSample before = SampleProcess();
  auto start = std::chrono::steady_clock::now();
  Status s;
  switch (phase.kind) {
    case PhaseKind::kFillSeq:
      s = Fill(phase, /*random_order=*/false, &work);
      break;
    case PhaseKind::kFillRandom:
      s = Fill(phase, /*random_order=*/true, &work);
      break;
    case PhaseKind::kOverwrite:
      s = Overwrite(phase, &work);
      break;
    case PhaseKind::kFlush:
      s = engine_->Flush(&work.notes);
      work.ops = 1;
      break;
    case PhaseKind::kCompact:
      s = engine_->CompactAll(&work.notes);
      work.ops = 1;
      break;
    case PhaseKind::kReopen:
      s = Reopen(&work);
      break;
    case PhaseKind::kReadRandom:
      s = ReadRandom(phase, &work);
      break;
    case PhaseKind::kReadMissing:
      s = ReadMissing(phase, &work);
      break;
    case PhaseKind::kSeekRandom:
      s = SeekRandom(phase, &work);
      break;
    case PhaseKind::kReadSeq:
      s = ReadSeq(&work);
      break;
    case PhaseKind::kDeleteRandom:
      s = DeleteRandom(phase, &work);
      break;
  }
  auto end = std::chrono::steady_clock::now();
  ProcessSample after = SampleProcess();
  if (!s.ok()) return s.WithContext(engine_->label() + " " + phase.label);

  StoreFootprint footprint = MeasureStore(store_dir_);
  result->engine_id = engine_->id();
  result->engine_label = engine_->label();
  result->phase = phase.label;
  result->single_operation = IsSingleOperation(phase.kind);
  result->ops = work.ops;
  result->seconds = std::chrono::duration<double>(end - start).count();
  result->user_bytes = work.user_bytes;
  result->cpu_seconds = after.cpu_seconds - before.cpu_seconds;
  result->write_bytes = after.write_bytes - before.write_bytes;
  result->cancelled_write_bytes = after.cancelled_write_bytes - before.cancelled_write_bytes;
  result->write_amplification =
      user_bytes_since_creation_ == 0
          ? 0
          : static_cast<double>(after.write_bytes - write_bytes_at_creation_) /
                static_cast<double>(user_bytes_since_creation_);
  result->peak_rss_bytes = after.peak_rss_bytes;
  result->store_bytes = footprint.bytes;
  result->table_files = footprint.table_files;
  result->files_per_level = engine_->FilesPerLevel();
  result->notes = work.notes;
  // The counter restarts when the store is reopened, so a drop means "unknown".
  double stalled = engine_->StallSeconds() - stall_before;
  if (stalled >= 0.01) {
    char text[64];
    std::snprintf(text, sizeof(text), "writes stalled %.2f s", stalled);
    result->notes += result->notes.empty() ? text : std::string("; ") + text;
  }
  return Status::OK();
}

Status PhaseRunner::FreshStore() {
  Status s = engine_->Close();
  if (!s.ok()) return s.WithContext("closing the previous store");
  std::error_code ec;
  std::filesystem::remove_all(store_dir_, ec);
  if (ec) return Status::IOError(store_dir_ + ": cannot remove: " + ec.message());
  expected_.Clear();
  user_bytes_since_creation_ = 0;
  write_bytes_at_creation_ = SampleProcess().write_bytes;
  return engine_->Open(store_dir_).WithContext("opening " + store_dir_);
}

Status PhaseRunner::Put(uint64_t index, uint8_t version, Work* work) {
  std::string_view value = values_.Value(index, version);
  engine_->BatchPut(key_.Set(StoredKeyNumber(index)), value);
  expected_.Set(index, version);
  work->ops++;
  work->user_bytes += kKeySize + value.size();
  user_bytes_since_creation_ += kKeySize + value.size();
  if (++pending_in_batch_ == kBatchSize) return FinishBatch();
  return Status::OK();
}

Status PhaseRunner::Delete(uint64_t index, Work* work) {
  engine_->BatchDelete(key_.Set(StoredKeyNumber(index)));
  expected_.Set(index, 0);
  work->ops++;
  work->user_bytes += kKeySize;
  user_bytes_since_creation_ += kKeySize;
  if (++pending_in_batch_ == kBatchSize) return FinishBatch();
  return Status::OK();
}

Status PhaseRunner::FinishBatch() {
  if (pending_in_batch_ == 0) return Status::OK();
  pending_in_batch_ = 0;
  return engine_->CommitBatch(config_.sync);
}

Status PhaseRunner::Fill(const Phase& phase, bool random_order, Work* work) {
  Permutation order(config_.num, phase.seed);
  for (uint64_t i = 0; i < config_.num; i++) {
    Status s = Put(random_order ? order(i) : i, 1, work);
    if (!s.ok()) return s;
  }
  return FinishBatch();
}

Status PhaseRunner::Overwrite(const Phase& phase, Work* work) {
  Random64 rng(phase.seed);
  for (uint64_t i = 0; i < config_.num; i++) {
    uint64_t index = rng.Uniform(config_.num);
    Status s = Put(index, expected_.NextVersion(index), work);
    if (!s.ok()) return s;
  }
  return FinishBatch();
}

Status PhaseRunner::DeleteRandom(const Phase& phase, Work* work) {
  Permutation order(config_.num, phase.seed);  // distinct keys: a prefix of a permutation
  for (uint64_t i = 0; i < config_.num / 10; i++) {
    Status s = Delete(order(i), work);
    if (!s.ok()) return s;
  }
  return FinishBatch();
}

Status PhaseRunner::Reopen(Work* work) {
  work->ops = 1;
  Status s = engine_->Close();
  if (!s.ok()) return s.WithContext("close");
  return engine_->Open(store_dir_).WithContext("open");
}

Status PhaseRunner::Mismatch(std::string_view key, const std::string& what) const {
  // Run() puts the engine and the phase in front.
  return Status::Corruption("verification failed: key " + std::string(key) + ": " + what);
}

Status PhaseRunner::CheckGet(uint64_t index, bool found, const std::string& value) const {
  uint8_t version = expected_.version(index);
  if (version == 0) {
    if (!found) return Status::OK();
    return Mismatch(key_.view(),
                    "expected NotFound (deleted), got " + DescribeAnswer(found, value));
  }
  if (found && value == values_.Value(index, version)) return Status::OK();
  return Mismatch(key_.view(),
                  "expected the value of version " + std::to_string(version) + ", got " +
                      (found ? "a different " + std::to_string(value.size()) + "-byte value"
                             : std::string("NotFound")));
}

Status PhaseRunner::ReadRandom(const Phase& phase, Work* work) {
  Random64 rng(phase.seed);
  uint64_t found_count = 0;
  for (uint64_t i = 0; i < config_.reads; i++) {
    uint64_t index = rng.Uniform(config_.num);
    bool found = false;
    Status s = engine_->Get(key_.Set(StoredKeyNumber(index)), &get_buffer_, &found);
    if (!s.ok()) return s;
    s = CheckGet(index, found, get_buffer_);
    if (!s.ok()) return s;
    work->ops++;
    work->user_bytes += kKeySize + (found ? get_buffer_.size() : 0);
    found_count += found ? 1 : 0;
  }
  if (found_count != config_.reads) {
    work->notes = std::to_string(found_count) + " of " + std::to_string(config_.reads) + " found";
  }
  return Status::OK();
}

Status PhaseRunner::ReadMissing(const Phase& phase, Work* work) {
  if (config_.num < 2) return Status::InvalidArgument("readmissing needs --num >= 2");
  Random64 rng(phase.seed);
  for (uint64_t i = 0; i < config_.reads; i++) {
    // Below N-1, so the odd key lies between two stored keys.
    uint64_t index = rng.Uniform(config_.num - 1);
    bool found = false;
    Status s = engine_->Get(key_.Set(MissingKeyNumber(index)), &get_buffer_, &found);
    if (!s.ok()) return s;
    if (found) {
      return Mismatch(key_.view(), "expected NotFound (never written), got " +
                                       DescribeAnswer(found, get_buffer_));
    }
    work->ops++;
    work->user_bytes += kKeySize;
  }
  return Status::OK();
}

Status PhaseRunner::CheckIterator(BenchIterator* it, uint64_t expected) const {
  if (expected == expected_.size()) {
    if (!it->Valid()) return it->status();
    return Mismatch(it->key(), "expected the end of the store, got this key");
  }
  KeyBuffer want;
  want.Set(StoredKeyNumber(expected));
  if (!it->Valid()) {
    Status s = it->status();
    if (!s.ok()) return s;
    return Mismatch(want.view(), "expected this key, the iterator ended");
  }
  if (it->key() != want.view()) {
    return Mismatch(want.view(), "expected this key, the iterator is at " + std::string(it->key()));
  }
  if (it->value() != values_.Value(expected, expected_.version(expected))) {
    return Mismatch(want.view(), "the iterator's value is not version " +
                                     std::to_string(expected_.version(expected)) + "'s");
  }
  return Status::OK();
}

Status PhaseRunner::SeekRandom(const Phase& phase, Work* work) {
  constexpr int kNexts = 10;
  Random64 rng(phase.seed);
  for (uint64_t i = 0; i < config_.reads; i++) {
    uint64_t index = rng.Uniform(config_.num);
    std::unique_ptr<BenchIterator> it = engine_->NewIterator();
    it->Seek(key_.Set(StoredKeyNumber(index)));
    uint64_t expected = expected_.NextPresent(index);
    Status s = CheckIterator(it.get(), expected);
    for (int n = 0; s.ok() && it->Valid(); n++) {
      work->user_bytes += it->key().size() + it->value().size();
      if (n == kNexts) break;
      it->Next();
      expected = expected_.NextPresent(expected + 1);
      s = CheckIterator(it.get(), expected);
    }
    if (!s.ok()) return s;
    work->ops++;
  }
  return Status::OK();
}

Status PhaseRunner::ReadSeq(Work* work) {
  std::unique_ptr<BenchIterator> it = engine_->NewIterator();
  it->SeekToFirst();
  uint64_t expected = expected_.NextPresent(0);
  while (true) {
    Status s = CheckIterator(it.get(), expected);
    if (!s.ok()) return s;
    if (!it->Valid()) break;
    work->ops++;
    work->user_bytes += it->key().size() + it->value().size();
    it->Next();
    expected = expected_.NextPresent(expected + 1);
  }
  return Status::OK();
}

}  // namespace strata::bench
