// A random walk over an iterator, checked step by step against a model: how the
// iterator tests cover seeks, steps and direction changes in every combination.
#pragma once

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "strata/iterator.h"
#include "tests/support/vector_iterator.h"

namespace strata::test {

// `steps` random operations on it (SeekToFirst, SeekToLast, Seek to a key from
// random_key, Next, NextEntry, Prev); after each, it must stand where model (sorted by key,
// bytewise; equal keys in iteration order) says, or be invalid where the model is past
// its end, with an OK status. A mismatch fails the current test, naming the operations
// that led to it.
void ExpectRandomWalkMatches(Iterator* it, const std::vector<KeyValue>& model,
                             std::mt19937& rng,
                             const std::function<std::string(std::mt19937&)>& random_key,
                             int steps);

}  // namespace strata::test
