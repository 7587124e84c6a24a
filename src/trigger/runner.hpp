#pragma once
// One [[trigger]]: takes its lease, follows its change stream from the stored
// position, delivers batches, stores the position after each acknowledged
// batch. Runs on threads of its own (libmongoc and libcurl block).
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "observe/metrics.hpp"

namespace hydrant::trigger {

class Runner {
 public:
  Runner(const config::Config& cfg, const config::Trigger& trigger, std::string instance_id);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  void start();
  // Asks the threads to end (the current call finishes, retries and waits end); does not block.
  void request_stop();
  // request_stop(), then waits for the threads: the lease is given up by then.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hydrant::trigger
