#pragma once
// Runs a blocking call (libmongoc) on the worker pool and resumes the calling
// coroutine on its own executor with the result: IO threads never block.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <utility>

namespace hydrant::app {

namespace asio = boost::asio;

template <class F>
auto run_blocking(asio::thread_pool& pool, F f) -> asio::awaitable<decltype(f())> {
  using R = decltype(f());
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, R)>(
      [&pool, ex, f = std::move(f)](auto handler) mutable {
        asio::post(pool, [ex, f = std::move(f), handler = std::move(handler)]() mutable {
          std::exception_ptr error;
          R result{};
          try {
            result = f();
          } catch (...) {
            error = std::current_exception();
          }
          asio::post(ex, [handler = std::move(handler), error, result = std::move(result)]() mutable {
            handler(error, std::move(result));
          });
        });
      },
      asio::use_awaitable);
}

}  // namespace hydrant::app
