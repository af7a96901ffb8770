// couchkv-mock: the mock cluster as a process, for other clients (the official Node.js SDK in CI)
// and for trying couchkv by hand.
#include <couchkv_mock/cluster.hpp>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

namespace {
volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) { stop_requested = 1; }

void usage()
{
  std::cerr << "usage: couchkv-mock [--nodes N] [--vbuckets N] [--replicas N] [--bucket NAME[:PASSWORD[:memcached]]]...\n"
               "                    [--replication-delay MS] [--persistence-delay MS]\n"
               "                    [--tls-cert CHAIN.pem --tls-key KEY.pem]\n"
               "Prints the connection string, then the management and views (HTTP) ports of the nodes;\n"
               "with TLS also the couchbases:// connection string and the TLS ports. Serves until\n"
               "SIGINT/SIGTERM.\n";
}
} // namespace

int main(int argc, char** argv)
{
  couchkv::mock::cluster_options opts;
  std::uint32_t replicas = 1;
  bool custom_buckets = false;
  std::string tls_cert, tls_key;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--nodes") opts.nodes = static_cast<std::uint32_t>(std::stoul(next()));
      else if (a == "--vbuckets") opts.vbuckets = static_cast<std::uint32_t>(std::stoul(next()));
      else if (a == "--replicas") replicas = static_cast<std::uint32_t>(std::stoul(next()));
      else if (a == "--replication-delay") opts.replication_delay = std::chrono::milliseconds(std::stoul(next()));
      else if (a == "--persistence-delay") opts.persistence_delay = std::chrono::milliseconds(std::stoul(next()));
      else if (a == "--tls-cert") tls_cert = next();
      else if (a == "--tls-key") tls_key = next();
      else if (a == "--bucket") {
        if (!custom_buckets) opts.buckets.clear();
        custom_buckets = true;
        auto spec = next();
        couchkv::mock::bucket_options b;
        auto c1 = spec.find(':');
        b.name = spec.substr(0, c1);
        if (c1 != std::string::npos) {
          auto c2 = spec.find(':', c1 + 1);
          b.password = spec.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
          if (c2 != std::string::npos) {
            if (spec.substr(c2 + 1) != "memcached") {
              usage();
              return 2;
            }
            b.type = couchkv::mock::bucket_type::memcached;
          }
        }
        opts.buckets.push_back(b);
      } else if (a == "-h" || a == "--help") {
        usage();
        return 0;
      } else {
        std::cerr << "unknown argument: " << a << "\n";
        usage();
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "bad value for " << a << "\n";
      return 2;
    }
  }
  for (auto& b : opts.buckets) b.replicas = replicas;
  if (tls_cert.empty() != tls_key.empty()) {
    std::cerr << "--tls-cert and --tls-key go together\n";
    return 2;
  }
  if (!tls_cert.empty()) opts.tls = couchkv::mock::tls_options{tls_cert, tls_key};
  try {
    couchkv::mock::cluster cluster(opts);
    cluster.start();
    // The first line is the connection string (scripts read it); then the HTTP ports.
    std::cout << cluster.connection_string(opts.buckets.front().name) << std::endl;
    auto list = [](const std::vector<std::uint16_t>& ports) {
      std::string s;
      for (auto p : ports) s += (s.empty() ? "" : ",") + std::to_string(p);
      return s;
    };
    std::cout << "mgmt ports: " << list(cluster.mgmt_ports()) << "\n"
              << "views ports: " << list(cluster.views_ports()) << std::endl;
    if (opts.tls) {
      std::cout << "tls connection string: " << cluster.tls_connection_string(opts.buckets.front().name) << "\n"
                << "mgmtSSL ports: " << list(cluster.mgmt_tls_ports()) << "\n"
                << "capiSSL ports: " << list(cluster.views_tls_ports()) << std::endl;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    while (!stop_requested) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cluster.stop();
  } catch (const std::exception& e) {
    std::cerr << "couchkv-mock: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
