#include "retrieval/fusion.h"

#include <algorithm>
#include <unordered_map>

namespace deepfuse::retrieval {
namespace {

Ranked sorted(const std::unordered_map<uint32_t, double>& acc) {
  Ranked out;
  out.reserve(acc.size());
  for (const auto& [slot, s] : acc) out.emplace_back(slot, static_cast<float>(s));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  return out;
}

}  // namespace

Ranked fuse_rrf(const std::vector<Ranked>& lists, double k) {
  std::unordered_map<uint32_t, double> acc;
  for (const auto& list : lists)
    for (size_t r = 0; r < list.size(); ++r) acc[list[r].first] += 1.0 / (k + double(r + 1));
  return sorted(acc);
}

Ranked fuse_weighted(const std::vector<Ranked>& lists, const std::vector<double>& weights) {
  std::unordered_map<uint32_t, double> acc;
  for (size_t i = 0; i < lists.size(); ++i) {
    const auto& list = lists[i];
    if (list.empty()) continue;
    auto [lo, hi] = std::minmax_element(
        list.begin(), list.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    double mn = lo->second, mx = hi->second;
    for (const auto& [slot, s] : list) {
      double norm = mx > mn ? (s - mn) / (mx - mn) : 1.0;
      acc[slot] += weights[i] * norm;
    }
  }
  return sorted(acc);
}

}  // namespace deepfuse::retrieval
