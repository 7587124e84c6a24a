#pragma once
#include <string>

namespace hydrant {

// A random (version 4) UUID from OpenSSL's generator, e.g. a Firehose request id.
std::string uuid4();

}  // namespace hydrant
