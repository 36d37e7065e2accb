// Prometheus text exposition (version 0.0.4) of the node's counters,
// histograms and gauges. Recording is thread-safe and cheap (atomics; a
// mutex only the first time a label set is seen).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace quipu::api {

// A histogram with fixed upper bounds (plus +Inf). Thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Appends the _bucket, _sum and _count lines of `name` with `labels`
  // ("" or `key="value",...` without braces).
  void Render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micro_{0};  // sum in millionths, to stay atomic
};

class Metrics {
 public:
  // Counts one HTTP request and its latency.
  void ObserveRequest(std::string_view route, std::string_view method, unsigned status, double seconds);
  // A gauge evaluated at each scrape.
  void AddGauge(std::string name, std::string help, std::function<double()> value);
  // A histogram owned by Metrics, for others to record into (sequencer).
  Histogram& AddHistogram(std::string name, std::string help, std::vector<double> bounds);
  // The whole exposition, text/plain; version=0.0.4.
  std::string Render() const;

 private:
  struct Gauge {
    std::string name, help;
    std::function<double()> value;
  };
  struct NamedHistogram {
    std::string name, help;
    std::unique_ptr<Histogram> histogram;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<std::atomic<uint64_t>>> requests_;  // label set -> count
  std::map<std::string, std::unique_ptr<Histogram>> latency_;              // route -> histogram
  std::vector<Gauge> gauges_;
  std::vector<NamedHistogram> histograms_;
};

}  // namespace quipu::api
