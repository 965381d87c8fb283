#include "strata/iterator.h"

namespace strata {

Iterator::~Iterator() {
  for (auto& cleanup : cleanups_) cleanup();
}

bool Iterator::NextEntry(std::string_view* key, std::string_view* value) {
  Next();
  if (!Valid()) return false;
  *key = this->key();
  *value = this->value();
  return true;
}

}  // namespace strata
