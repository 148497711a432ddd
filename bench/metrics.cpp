#include "metrics.h"

#include <cstdio>
#include <mutex>

namespace wsys::bench {

namespace {
std::mutex g_lock;
std::vector<Metric>& metrics() {
  static std::vector<Metric> m;
  return m;
}
}  // namespace

void record_metric(std::string name, double value, std::string unit) {
  std::lock_guard<std::mutex> g(g_lock);
  for (Metric& m : metrics()) {
    if (m.name == name) {  // a benchmark re-run by the framework: keep the last
      m.value = value;
      m.unit = std::move(unit);
      return;
    }
  }
  metrics().push_back({std::move(name), value, std::move(unit)});
}

void print_metrics() {
  std::lock_guard<std::mutex> g(g_lock);
  for (const Metric& m : metrics())
    std::printf("metric %s %.6g %s\n", m.name.c_str(), m.value, m.unit.c_str());
  std::fflush(stdout);
}

int run_benchmarks_and_print_metrics(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_metrics();
  return 0;
}

}  // namespace wsys::bench
