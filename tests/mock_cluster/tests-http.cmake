# The mock's HTTP side (management, config streaming, views, controls) over real sockets.
if(TARGET couchkv_mock)
  couchkv_add_test(test_mock_http SOURCES mock_cluster/test_mock_http.cpp LIBS couchkv_mock couchkv_topology
                   LABELS integration TIMEOUT 300)
endif()
