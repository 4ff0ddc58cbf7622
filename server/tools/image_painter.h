// PaintClassImage: draws a structured, class-dependent test image (a shape
// and colour scheme per class over a gradient background, with random
// placement and noise), so that sample datasets are learnable rather than
// pure noise. Pure function of its arguments; thread-safe.
#ifndef INPUTSERVE_SERVER_TOOLS_IMAGE_PAINTER_H_
#define INPUTSERVE_SERVER_TOOLS_IMAGE_PAINTER_H_

#include <cstdint>

#include "server/codec/rng.h"

namespace inputserve {

// Writes width x height x 3 (HWC, RGB) bytes to `rgb`. The label selects the
// shape and palette; `rng` supplies position, size and noise.
void PaintClassImage(int label, int width, int height, Rng& rng, uint8_t* rgb);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_TOOLS_IMAGE_PAINTER_H_
