// The element types are part of the public API: include/deepfuse/dtype.h.
#pragma once

#include "deepfuse/dtype.h"
