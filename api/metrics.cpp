#include "api/metrics.h"

#include <cmath>
#include <cstdio>

namespace quipu::api {
namespace {

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Label values are routes and methods (ASCII we chose), but escape anyway.
std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

const std::vector<double> kLatencyBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                            0.025,  0.05,    0.1,    0.25,  0.5,    1,    2.5, 5, 10};

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i] = 0;
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<uint64_t>(std::max(0.0, value) * 1e6), std::memory_order_relaxed);
}

void Histogram::Render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    const std::string le = i < bounds_.size() ? Number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + Number(static_cast<double>(sum_micro_.load()) / 1e6) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_.load()) + "\n";
}

void Metrics::ObserveRequest(std::string_view route, std::string_view method, unsigned status,
                             double seconds) {
  const std::string key = "route=\"" + Escape(route) + "\",method=\"" + Escape(method) + "\",status=\"" +
                          std::to_string(status) + "\"";
  std::atomic<uint64_t>* counter;
  Histogram* histogram;
  {
    std::lock_guard lock(mu_);
    auto& c = requests_[key];
    if (!c) c = std::make_unique<std::atomic<uint64_t>>(0);
    counter = c.get();
    auto& h = latency_[std::string(route)];
    if (!h) h = std::make_unique<Histogram>(kLatencyBounds);
    histogram = h.get();
  }
  counter->fetch_add(1, std::memory_order_relaxed);
  histogram->Observe(seconds);
}

void Metrics::AddGauge(std::string name, std::string help, std::function<double()> value) {
  std::lock_guard lock(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(value)});
}

Histogram& Metrics::AddHistogram(std::string name, std::string help, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  histograms_.push_back({std::move(name), std::move(help), std::make_unique<Histogram>(std::move(bounds))});
  return *histograms_.back().histogram;
}

std::string Metrics::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  out += "# HELP quipu_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE quipu_http_requests_total counter\n";
  for (const auto& [labels, count] : requests_) {
    out += "quipu_http_requests_total{" + labels + "} " + std::to_string(count->load()) + "\n";
  }
  out += "# HELP quipu_http_request_duration_seconds HTTP request latency by route.\n";
  out += "# TYPE quipu_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    h->Render(out, "quipu_http_request_duration_seconds", "route=\"" + Escape(route) + "\"");
  }
  for (const Gauge& g : gauges_) {
    out += "# HELP " + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n";
    out += g.name + " " + Number(g.value()) + "\n";
  }
  for (const NamedHistogram& h : histograms_) {
    out += "# HELP " + h.name + " " + h.help + "\n# TYPE " + h.name + " histogram\n";
    h.histogram->Render(out, h.name, "");
  }
  return out;
}

}  // namespace quipu::api
