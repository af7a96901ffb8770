// Codec cost per packet: the baseline later I/O work is measured against.
#include <couchkv/protocol/decoder.hpp>
#include <couchkv/protocol/request.hpp>
#include <couchkv/protocol/response.hpp>

#include <benchmark/benchmark.h>

#include <string>

using namespace couchkv::protocol;

static void encode_get(benchmark::State& state)
{
  byte_buffer buf;
  buf.reserve(256);
  std::uint32_t opaque = 0;
  for (auto _ : state) {
    buf.clear();
    append_get(buf, ++opaque, {.key = "user::0000001234", .vbucket = 517});
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(encode_get);

static void encode_set_100b(benchmark::State& state)
{
  byte_buffer buf;
  buf.reserve(512);
  const std::string value(100, 'x');
  std::uint32_t opaque = 0;
  for (auto _ : state) {
    buf.clear();
    append_store(buf, opcode::set, ++opaque, {.key = "user::0000001234", .vbucket = 517},
                 {.value = as_bytes(value), .flags = 0x02000000, .datatype = 1});
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(encode_set_100b);

static byte_buffer get_responses(std::size_t n)
{
  byte_buffer buf;
  const std::string value(100, 'x');
  std::byte flags[4]{};
  for (std::size_t i = 0; i < n; ++i) {
    append_response(buf, {.op = 0x00, .opaque = static_cast<std::uint32_t>(i), .cas = 42, .extras = flags,
                          .value = as_bytes(value)});
  }
  return buf;
}

static void decode_get_response(benchmark::State& state)
{
  auto buf = get_responses(1);
  for (auto _ : state) {
    auto r = decode_packet(buf);
    benchmark::DoNotOptimize(r.packet.value.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(decode_get_response);

static void decode_pipelined_100(benchmark::State& state)
{
  auto buf = get_responses(100);
  for (auto _ : state) {
    std::span<const std::byte> rest(buf);
    while (!rest.empty()) {
      auto r = decode_packet(rest);
      benchmark::DoNotOptimize(r.packet.opaque());
      rest = rest.subspan(r.consumed);
    }
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(decode_pipelined_100);

BENCHMARK_MAIN();
