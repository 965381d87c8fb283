#include "strata/iterator.h"

namespace strata {

Iterator::~Iterator() {
  for (auto& cleanup : cleanups_) cleanup();
}

}  // namespace strata
