// Small helpers shared by the benchmark programs (engine_bench, sql_bench): flag
// values, number formatting, and a description of the machine a run happened on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace strata::bench {

// A non-negative decimal count ("5000000"); false on anything else.
bool ParseCount(std::string_view text, uint64_t* value);

// 1234567 -> "1,234,567".
std::string WithThousands(double value);
// snprintf of one number, e.g. Format("%.2f", x).
std::string Format(const char* format, double value);

// "1.23 0.98 0.75": how busy the machine was (other processes skew the timings).
std::string LoadAverage();
// The CPU's model name from /proc/cpuinfo.
std::string CpuModel();

}  // namespace strata::bench
