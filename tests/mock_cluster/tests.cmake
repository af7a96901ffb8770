couchkv_add_test(test_mock_cluster SOURCES mock_cluster/test_mock_cluster.cpp LIBS couchkv_mock couchkv_topology
                 LABELS integration TIMEOUT 300)
