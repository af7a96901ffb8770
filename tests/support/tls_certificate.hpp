// Files for tests that need them: a fresh temporary directory, and a self-signed TLS certificate
// with its key made by the openssl CLI. The certificate is its own CA: a client trusts it by
// loading cert_file() as its CA file (ca_file= in a connection string).
#pragma once
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace couchkv::test {

// A new directory under the system's temporary directory, unique to this process and call.
inline std::string temp_dir(const char* name)
{
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("couchkv-") + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
              "-" + std::to_string(std::rand()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

class self_signed_certificate {
public:
  // subject_alt_names in openssl's -addext form: the names and addresses hostname verification
  // accepts ("DNS:db.example.com" makes a certificate that 127.0.0.1 does not match).
  // expired: re-signed so that it ended a day before it began (notAfter in the past).
  explicit self_signed_certificate(const std::string& subject_alt_names = "DNS:localhost,IP:127.0.0.1",
                                   bool expired = false)
      : dir_(temp_dir("tls"))
  {
    // An EC key: generated in milliseconds, and cheap handshakes for tests that make many.
    auto cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
               "-subj /CN=couchkv-test -addext 'subjectAltName=" +
               subject_alt_names + "' -keyout '" + key_file() + "' -out '" + cert_file() + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("cannot make a test certificate: the openssl CLI is required");
    }
    if (expired) {
      auto resign = "openssl x509 -in '" + cert_file() + "' -signkey '" + key_file() + "' -days -1 -out '" +
                    cert_file() + ".expired' >/dev/null 2>&1 && mv '" + cert_file() + ".expired' '" + cert_file() + "'";
      if (std::system(resign.c_str()) != 0) {
        std::filesystem::remove_all(dir_);
        throw std::runtime_error("cannot make an expired test certificate");
      }
    }
  }
  ~self_signed_certificate()
  {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  self_signed_certificate(const self_signed_certificate&) = delete;
  self_signed_certificate& operator=(const self_signed_certificate&) = delete;

  [[nodiscard]] std::string cert_file() const { return dir_ + "/cert.pem"; }
  [[nodiscard]] std::string key_file() const { return dir_ + "/key.pem"; }
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

private:
  std::string dir_;
};

} // namespace couchkv::test
