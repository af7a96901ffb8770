couchkv_add_test(test_mock_cluster SOURCES mock_cluster/test_mock_cluster.cpp LIBS couchkv_mock couchkv_topology
                 LABELS integration TIMEOUT 300)

# Honesty check: the official Couchbase Node.js SDK (npm "couchbase", pinned in
# node_sdk/package.json) against couchkv-mock. Without node/npm this test fails rather than
# silently disappearing.
find_program(COUCHKV_NODE node)
find_program(COUCHKV_NPM npm)
# The _tls run does the same over couchbases:// (the mock's kvSSL ports, a generated certificate).
foreach(mode plain tls)
  set(name mock_cluster.official_node_sdk)
  if(mode STREQUAL "tls")
    set(name mock_cluster.official_node_sdk_tls)
  endif()
  if(COUCHKV_NODE AND COUCHKV_NPM)
    add_test(NAME ${name}
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/mock_cluster/node_sdk/run.sh $<TARGET_FILE:couchkv-mock>
                     ${PROJECT_BINARY_DIR}/node_sdk ${mode})
  else()
    add_test(NAME ${name}
             COMMAND ${CMAKE_COMMAND} -E echo "node and npm are required for the official SDK check (bash .ci/install-deps)")
    set_tests_properties(${name} PROPERTIES WILL_FAIL TRUE)
  endif()
  # Both runs install the SDK into the same directory: one at a time.
  set_tests_properties(${name} PROPERTIES LABELS "integration;node_sdk" TIMEOUT 900 RESOURCE_LOCK couchkv_node_sdk)
endforeach()
# The mock's TLS listeners (kvSSL, mgmtSSL, capiSSL) with a generated certificate (openssl CLI).
couchkv_add_test(test_mock_tls SOURCES mock_cluster/test_mock_tls.cpp LIBS couchkv_mock couchkv_topology
                 LABELS integration TIMEOUT 300)
