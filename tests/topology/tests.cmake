couchkv_add_test(test_topology
  SOURCES
    topology/test_config.cpp
    topology/test_connection_string.cpp
    topology/test_routing.cpp
  LIBS couchkv_topology OpenSSL::Crypto)
