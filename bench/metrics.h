// The bench/ output convention: every bench program ends by printing its key
// figures, one per line, as
//     metric <name> <value> <unit>
// so scripts (and people) can grep and compare them across builds without
// parsing Google Benchmark's tables. Ratios against a baseline measured in
// the same run are metrics too (unit "x").
#pragma once

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace wsys::bench {

struct Metric {
  std::string name;
  double value;
  std::string unit;
};

// Records a metric to print at the end of the run.
void record_metric(std::string name, double value, std::string unit);

// Runs the registered Google Benchmarks (argc/argv as for benchmark::Initialize),
// lets each benchmark's counters become metrics through `record_metric`, then
// prints the metric lines. Returns the process exit code.
int run_benchmarks_and_print_metrics(int argc, char** argv);

// Prints the recorded metrics now (run_benchmarks_and_print_metrics does this).
void print_metrics();

}  // namespace wsys::bench
