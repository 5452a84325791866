// PII detection and masking is part of the public API: include/deepfuse/pii.h.
#pragma once

#include "deepfuse/pii.h"
