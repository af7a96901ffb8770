couchkv_add_test(test_mock_cluster SOURCES mock_cluster/test_mock_cluster.cpp LIBS couchkv_mock couchkv_topology
                 LABELS integration TIMEOUT 300)

# Honesty check: the official Couchbase Node.js SDK (npm "couchbase", pinned in
# node_sdk/package.json) against couchkv-mock. Without node/npm this test fails rather than
# silently disappearing.
find_program(COUCHKV_NODE node)
find_program(COUCHKV_NPM npm)
if(COUCHKV_NODE AND COUCHKV_NPM)
  add_test(NAME mock_cluster.official_node_sdk
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/mock_cluster/node_sdk/run.sh $<TARGET_FILE:couchkv-mock>
                   ${PROJECT_BINARY_DIR}/node_sdk)
else()
  add_test(NAME mock_cluster.official_node_sdk
           COMMAND ${CMAKE_COMMAND} -E echo "node and npm are required for the official SDK check (bash .ci/install-deps)")
  set_tests_properties(mock_cluster.official_node_sdk PROPERTIES WILL_FAIL TRUE)
endif()
set_tests_properties(mock_cluster.official_node_sdk PROPERTIES LABELS "integration;node_sdk" TIMEOUT 900)
# The mock's TLS listeners (kvSSL, mgmtSSL, capiSSL) with a generated certificate (openssl CLI).
couchkv_add_test(test_mock_tls SOURCES mock_cluster/test_mock_tls.cpp LIBS couchkv_mock couchkv_topology
                 LABELS integration TIMEOUT 300)
