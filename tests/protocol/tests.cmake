couchkv_add_test(test_protocol
  SOURCES
    protocol/test_decoder.cpp
    protocol/test_errors.cpp
    protocol/test_frame_info.cpp
    protocol/test_leb128.cpp
    protocol/test_payloads.cpp
    protocol/test_request.cpp
    protocol/test_sasl.cpp
  LIBS couchkv_protocol)
