#include "tests/support/random_walk.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace strata::test {

void ExpectRandomWalkMatches(Iterator* it, const std::vector<KeyValue>& model,
                             std::mt19937& rng,
                             const std::function<std::string(std::mt19937&)>& random_key,
                             int steps) {
  size_t pos = model.size();  // model.size() = invalid
  std::string trail;          // the operations so far, for the failure message
  for (int step = 0; step < steps; step++) {
    int op = rng() % 10;
    if (pos == model.size() && op >= 4) op = rng() % 3;  // Next/Prev need a valid position
    if (op == 0) {
      it->SeekToFirst();
      pos = 0;
      trail += " First";
    } else if (op == 1) {
      it->SeekToLast();
      pos = model.empty() ? 0 : model.size() - 1;
      trail += " Last";
    } else if (op == 2 || op == 3) {
      const std::string target = random_key(rng);
      it->Seek(target);
      pos = std::lower_bound(model.begin(), model.end(), target,
                             [](const KeyValue& e, const std::string& t) { return e.first < t; }) -
            model.begin();
      trail.append(" Seek(").append(std::to_string(target.size())).append("B)");
    } else if (op < 6) {
      it->Next();
      pos++;
      trail += " Next";
    } else if (op == 6) {
      // NextEntry must return where it leaves the iterator (checked below).
      std::string_view key, value;
      const bool valid = it->NextEntry(&key, &value);
      pos++;
      trail += " NextEntry";
      if (pos > model.size()) pos = model.size();
      ASSERT_EQ(valid, pos < model.size()) << "after" << trail;
      if (valid) {
        ASSERT_EQ(model[pos].first, key) << "after" << trail;
        ASSERT_EQ(model[pos].second, value) << "after" << trail;
      }
    } else {
      it->Prev();
      pos = pos == 0 ? model.size() : pos - 1;
      trail += " Prev";
    }
    if (pos > model.size()) pos = model.size();
    const bool model_valid = pos < model.size();
    ASSERT_EQ(model_valid, it->Valid()) << "after" << trail;
    if (model_valid) {
      ASSERT_EQ(model[pos].first, it->key()) << "after" << trail;
      ASSERT_EQ(model[pos].second, it->value()) << "after" << trail;
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString() << " after" << trail;
  }
}

}  // namespace strata::test
