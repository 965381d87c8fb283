// SyncMode: how durable a returned COMMIT is, per store (the `sync` table option).
#pragma once

#include <cstdint>

namespace strata::sql {

enum class SyncMode : uint8_t {
  kFull,    // a returned COMMIT survives power loss (the log is fsynced)
  kNormal,  // a returned COMMIT survives a process crash
  kOff,     // no guarantee beyond what the OS happens to write
};

// "full", "normal" or "off".
inline const char* SyncModeName(SyncMode mode) {
  switch (mode) {
    case SyncMode::kFull: return "full";
    case SyncMode::kNormal: return "normal";
    case SyncMode::kOff: return "off";
  }
  return "unknown";
}

}  // namespace strata::sql
