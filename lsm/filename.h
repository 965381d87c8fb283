// Names of the files in a store directory:
//   LOCK              OS lock held by the process that has the store open
//   CURRENT           names the live MANIFEST (replaced atomically by rename)
//   MANIFEST-NNNNNN   log of VersionEdits: which tables form the store
//   NNNNNN.log        write-ahead log
//   NNNNNN.sst        table
//   NNNNNN.dbtmp      temporary file (e.g. the next CURRENT before its rename)
//   LOG               event log, one JSON object per line
// All numbered files share one counter (VersionSet::NewFileNumber).
#pragma once

#include <cstdint>
#include <string>

#include "strata/status.h"

namespace strata {

class Env;

enum class FileType { kLog, kLock, kTable, kManifest, kCurrent, kTemp, kEventLog };

std::string LogFileName(const std::string& dbname, uint64_t number);
std::string TableFileName(const std::string& dbname, uint64_t number);
std::string ManifestFileName(const std::string& dbname, uint64_t number);
std::string CurrentFileName(const std::string& dbname);
std::string LockFileName(const std::string& dbname);
std::string TempFileName(const std::string& dbname, uint64_t number);
std::string EventLogFileName(const std::string& dbname);

// Parses a name (not a path) from the store directory. False for foreign files.
bool ParseFileName(const std::string& name, uint64_t* number, FileType* type);

// Points CURRENT at MANIFEST-manifest_number durably: write a temp file, sync it,
// rename it over CURRENT, sync the directory.
Status SetCurrentFile(Env* env, const std::string& dbname, uint64_t manifest_number);

}  // namespace strata
