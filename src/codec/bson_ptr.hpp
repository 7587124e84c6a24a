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
// With room for about `bytes` (e.g. the size of the JSON it is made from), so
// building it does not grow the buffer step by step.
inline BsonPtr make_bson(size_t bytes) { return BsonPtr(bson_sized_new(bytes)); }

}  // namespace hydrant::codec
