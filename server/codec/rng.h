// Rng: a small deterministic random generator (SplitMix64) for augmentation,
// shuffling and synthetic data.
//
// Its output depends only on the seed, on every platform and library version
// (absl's generators do not promise that, and runs must be reproducible from
// --seed). Not thread-safe: each user owns its own instance.
#ifndef INPUTSERVE_SERVER_CODEC_RNG_H_
#define INPUTSERVE_SERVER_CODEC_RNG_H_

#include <cstdint>

namespace inputserve {

// The SplitMix64 finaliser: a bijective 64-bit hash with good avalanche.
inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Derives an independent seed from two values (e.g. a run seed and an epoch).
inline uint64_t MixSeed(uint64_t a, uint64_t b) {
  return Mix64(a + 0x9e3779b97f4a7c15ULL * (b + 1) + Mix64(b));
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Mix64(state_);
  }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform integer in [0, n); n > 0. Multiply-high avoids modulo bias that
  // matters for large n and costs no division.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >>
                                 64);
  }
  bool Coin() { return (Next() >> 63) != 0; }

 private:
  uint64_t state_;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_CODEC_RNG_H_
