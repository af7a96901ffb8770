foreach(target packet_decoder frame_infos observe error_map scram_server_messages hello_leb128)
  couchkv_add_fuzzer(${target} SOURCES fuzz_${target}.cpp LIBS couchkv_protocol)
endforeach()
