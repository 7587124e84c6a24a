#pragma once
// How a MongoDB error affects a write: retry the request, or reject one record.
#include <bson/bson.h>

#include <cstdint>
#include <string_view>

namespace hydrant::sink {

enum class ErrorClass {
  unavailable,   // cannot reach a writable server: 503
  transient,     // a passing fault on the server side: 500, the sender retries
  duplicate_id,  // E11000 on _id from a concurrent upsert: retry once
  permanent,     // this record can never be written: reject it
};

// A server error code (from writeErrors or a failed command).
ErrorClass classify_code(int32_t code, std::string_view message);

// A bson_error_t from libmongoc (error API version 2), with the server's reply
// (for errorLabels) when there is one.
ErrorClass classify_error(const bson_error_t& error, const bson_t* reply);

}  // namespace hydrant::sink
