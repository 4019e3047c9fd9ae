// SPDX-License-Identifier: GPL-2.0
// The image's metadata: an Image without its pages, to and from the CBOR
// tree that image.cpp writes and reads between header and page records.
#pragma once

#include <nlohmann/json.hpp>

#include "image.h"

namespace hetmig {

nlohmann::json to_cbor_tree(const Image &img);
// Throws nlohmann::json::exception on a missing key or a mistyped value;
// keys added since format 1 was first written are optional.
void from_cbor_tree(const nlohmann::json &j, Image &img);

} // namespace hetmig
