// A user program with its own io_context: opens a bucket where nothing listens and gets a network
// error through a callback. Built twice by the consumer project: compiling Asio header-only (what a
// user gets by default: couchkv forces no define on it) and with couchkv::compiled_asio (the opt-in
// to couchkv's compiled Asio and Beast). Both must link and run.
#include <couchkv/async_bucket.hpp>
#include <couchkv/cluster.hpp>
#include <couchkv/errors.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdio>

#if defined(COUCHKV_CONSUMER_COMPILED_ASIO) != defined(BOOST_ASIO_SEPARATE_COMPILATION)
#error "BOOST_ASIO_SEPARATE_COMPILATION must come with couchkv::compiled_asio, and only with it"
#endif

int main()
{
  boost::asio::io_context io;
  couchkv::cluster c{io.get_executor(), "couchbase://127.0.0.1:1/default?connect_timeout=2s", {"user", "password"}};
  std::error_code got;
  bool called = false;
  c.open_bucket({}, [&](std::error_code ec, couchkv::async_bucket) {
    called = true;
    got = ec;
  });
  io.run();
  const bool ok = called && got == couchkv::errc::network_error;
  std::printf("consumer with Asio %s: %s (%s)\n",
#ifdef BOOST_ASIO_SEPARATE_COMPILATION
              "compiled by couchkv",
#else
              "header-only",
#endif
              ok ? "ok" : "FAILED", got.message().c_str());
  return ok ? 0 : 1;
}
