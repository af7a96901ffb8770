if(TARGET couchkv_mock_views)
  couchkv_add_test(test_view_engine SOURCES mock_cluster/views/test_view_engine.cpp LIBS couchkv_mock_views
                   LABELS unit TIMEOUT 300)
endif()
