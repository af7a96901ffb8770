// Internal: what a TLS client connection sets up before its handshake, the same for KV
// (kv_connection) and HTTP (http_client).
#pragma once
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <openssl/ssl.h>

#include <string>

namespace couchkv::io::detail {

// Server Name Indication carries `name` unless it is an IP address (RFC 6066, 3: "Literal IPv4
// and IPv6 addresses are not permitted"; a server may refuse the handshake over one). With
// verify_hostname the certificate must name it: a DNS name, or an IP address SAN for an address.
// False when OpenSSL refuses the name.
template <class TlsStream>
bool prepare_client_handshake(TlsStream& tls, const std::string& name, bool verify_hostname)
{
  boost::system::error_code not_an_address;
  (void)boost::asio::ip::make_address(name, not_an_address);
  if (not_an_address && !SSL_set_tlsext_host_name(tls.native_handle(), name.c_str())) return false;
  if (verify_hostname) tls.set_verify_callback(boost::asio::ssl::host_name_verification(name));
  return true;
}

} // namespace couchkv::io::detail
