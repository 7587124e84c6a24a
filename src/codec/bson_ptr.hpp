#pragma once
#include <bson/bson.h>

#include <memory>

namespace hydrant::codec {

struct BsonDeleter {
  void operator()(bson_t* b) const { bson_destroy(b); }
};
// An owned, heap-allocated bson_t.
using BsonPtr = std::unique_ptr<bson_t, BsonDeleter>;

inline BsonPtr make_bson() { return BsonPtr(bson_new()); }

}  // namespace hydrant::codec
