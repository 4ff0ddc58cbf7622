#include "server/tools/image_painter.h"

#include <algorithm>
#include <cmath>

namespace inputserve {
namespace {

struct Rgb {
  float r, g, b;
};

// A hue wheel position for the class, so neighbouring labels differ.
Rgb ClassColour(int label, float shift) {
  const float h = std::fmod(label * 0.381966f + shift, 1.0f) * 6.0f;
  const float x = 1.0f - std::fabs(std::fmod(h, 2.0f) - 1.0f);
  Rgb c{0, 0, 0};
  switch (static_cast<int>(h) % 6) {
    case 0:
      c = {1, x, 0};
      break;
    case 1:
      c = {x, 1, 0};
      break;
    case 2:
      c = {0, 1, x};
      break;
    case 3:
      c = {0, x, 1};
      break;
    case 4:
      c = {x, 0, 1};
      break;
    default:
      c = {1, 0, x};
      break;
  }
  return {c.r * 230 + 20, c.g * 230 + 20, c.b * 230 + 20};
}

// Whether (u, v) in [-1, 1]^2 (shape-local coordinates) is inside shape
// `kind`; ten kinds so each CIFAR class has its own.
bool Inside(int kind, float u, float v) {
  const float r2 = u * u + v * v;
  switch (kind % 10) {
    case 0:
      return r2 < 1.0f;  // disc
    case 1:
      return std::fabs(u) < 0.8f && std::fabs(v) < 0.8f;  // square
    case 2:
      return v > -0.8f && std::fabs(u) < (v + 0.8f) * 0.6f;  // triangle
    case 3:
      return r2 < 1.0f && r2 > 0.45f;  // ring
    case 4:
      return std::fabs(u) < 0.25f || std::fabs(v) < 0.25f;  // cross
    case 5:
      return std::fmod(std::fabs(u) * 4.0f, 2.0f) < 1.0f;  // stripes |
    case 6:
      return std::fmod(std::fabs(v) * 4.0f, 2.0f) < 1.0f;  // stripes -
    case 7:
      return std::fabs(u + v) < 0.35f;  // diagonal
    case 8:
      return (static_cast<int>((u + 1) * 3) + static_cast<int>((v + 1) * 3)) %
                 2 ==
             0;  // checker
    default:
      return std::fabs(u) + std::fabs(v) < 1.0f;  // diamond
  }
}

uint8_t Clamp(float v) {
  return static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, v + 0.5f)));
}

}  // namespace

void PaintClassImage(int label, int width, int height, Rng& rng, uint8_t* rgb) {
  const Rgb fg = ClassColour(label, 0.0f);
  const Rgb bg0 = ClassColour(label, 0.5f);
  const Rgb bg1 = {255 - bg0.r * 0.5f, 255 - bg0.g * 0.5f, 255 - bg0.b * 0.5f};
  const float side = static_cast<float>(std::min(width, height));
  const float radius = side * static_cast<float>(rng.Uniform(0.25, 0.45));
  const float cx = width * static_cast<float>(rng.Uniform(0.3, 0.7));
  const float cy = height * static_cast<float>(rng.Uniform(0.3, 0.7));
  const float grad_angle = static_cast<float>(rng.Uniform(0, 6.2831853));
  const float gx = std::cos(grad_angle), gy = std::sin(grad_angle);
  const float noise_amp = static_cast<float>(rng.Uniform(8, 30));
  const float brightness = static_cast<float>(rng.Uniform(0.8, 1.1));
  for (int y = 0; y < height; ++y) {
    const float v = (y - cy) / radius;
    for (int x = 0; x < width; ++x) {
      const float u = (x - cx) / radius;
      float t = 0.5f + 0.5f * ((x / static_cast<float>(width) - 0.5f) * gx +
                               (y / static_cast<float>(height) - 0.5f) * gy);
      Rgb c;
      if (std::fabs(u) <= 1.0f && std::fabs(v) <= 1.0f && Inside(label, u, v)) {
        c = fg;
      } else {
        c = {bg0.r + (bg1.r - bg0.r) * t, bg0.g + (bg1.g - bg0.g) * t,
             bg0.b + (bg1.b - bg0.b) * t};
      }
      // One random word gives three noise values.
      const uint64_t n = rng.Next();
      const float scale = noise_amp / 255.0f;
      uint8_t* px = rgb + (static_cast<size_t>(y) * width + x) * 3;
      px[0] =
          Clamp(c.r * brightness + (static_cast<int>(n & 0xff) - 128) * scale);
      px[1] = Clamp(c.g * brightness +
                    (static_cast<int>((n >> 8) & 0xff) - 128) * scale);
      px[2] = Clamp(c.b * brightness +
                    (static_cast<int>((n >> 16) & 0xff) - 128) * scale);
    }
  }
}

}  // namespace inputserve
