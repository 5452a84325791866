// tokenizer_config.json parsing (declared in deepfuse/tokenizer.h).
#pragma once

#include "deepfuse/tokenizer.h"
