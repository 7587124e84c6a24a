#include "sink/classify.hpp"

#include <mongoc/mongoc.h>

#include <algorithm>
#include <array>

namespace hydrant::sink {
namespace {

// Server codes that say "not now" rather than "never": elections, shutdowns,
// timeouts, locks, resource limits, and access problems that an operator fixes.
constexpr std::array<int32_t, 32> kTransient = {
    6,     // HostUnreachable
    7,     // HostNotFound
    13,    // Unauthorized
    18,    // AuthenticationFailed
    24,    // LockTimeout
    46,    // LockBusy
    50,    // MaxTimeMSExpired
    63,    // StaleShardVersion
    64,    // WriteConcernFailed
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    112,   // WriteConflict
    117,   // ConflictingOperationInProgress
    133,   // FailedToSatisfyReadPreference
    134,   // ReadConcernMajorityNotAvailableYet
    150,   // StaleEpoch
    189,   // PrimarySteppedDown
    202,   // NetworkInterfaceExceededTimeLimit
    262,   // ExceededTimeLimit
    279,   // ClientDisconnect
    8000,  // AtlasError
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11601, // Interrupted
    11602, // InterruptedDueToReplStateChange
    13388, // StaleConfig
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
    14031, // OutOfDiskSpace
    12587, // background operation in progress
    16500, // Azure/Cosmos "request rate is large"
};

bool has_label(const bson_t* reply, const char* label) {
  if (!reply) return false;
  bson_iter_t it, arr;
  if (!bson_iter_init_find(&it, reply, "errorLabels") || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
    return false;
  while (bson_iter_next(&arr))
    if (BSON_ITER_HOLDS_UTF8(&arr) && std::string_view(bson_iter_utf8(&arr, nullptr)) == label) return true;
  return false;
}

}  // namespace

ErrorClass classify_code(int32_t code, std::string_view message) {
  if (std::find(kTransient.begin(), kTransient.end(), code) != kTransient.end()) return ErrorClass::transient;
  if (code == 11000 || code == 11001) {
    // On _id, a duplicate key from an upsert means another writer inserted the
    // same document at the same time; on any other unique index it is a clash.
    if (message.find("index: _id_ ") != std::string_view::npos || message.find("$_id_ ") != std::string_view::npos)
      return ErrorClass::duplicate_id;
    return ErrorClass::permanent;
  }
  return ErrorClass::permanent;
}

ErrorClass classify_error(const bson_error_t& error, const bson_t* reply) {
  if (has_label(reply, "RetryableWriteError") || has_label(reply, "TransientTransactionError"))
    return ErrorClass::transient;
  switch (error.domain) {
    case MONGOC_ERROR_STREAM:
    case MONGOC_ERROR_SERVER_SELECTION:
    case MONGOC_ERROR_PROTOCOL:
      return ErrorClass::unavailable;
    case MONGOC_ERROR_WRITE_CONCERN:
      return ErrorClass::transient;
    case MONGOC_ERROR_SERVER:
    case MONGOC_ERROR_QUERY:
      return classify_code(static_cast<int32_t>(error.code), error.message);
    case MONGOC_ERROR_BSON:
    case MONGOC_ERROR_COMMAND:
      // Client-side refusals of a document (too large, invalid BSON).
      return ErrorClass::permanent;
    default:
      return ErrorClass::transient;
  }
}

}  // namespace hydrant::sink
